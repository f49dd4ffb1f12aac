"""Normalisation. The feature count (`num_features`, `normalized_shape`) comes from the input."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Float
from .base import Block, Port, SampleShape, register

_EPS = Float(1e-5, "Added to the variance for numerical stability.", min=0.0, min_open=True)


def _bn_params() -> dict[str, Any]:
    return {
        "eps": _EPS,
        "momentum": Float(0.1, "How fast the running statistics follow each batch.", min=0.0,
                          max=1.0),
        "affine": Bool(True, "Learn a scale and shift per channel."),
        "track_running_stats": Bool(True, "Keep running statistics for evaluation."),
    }


@register
class BatchNorm1dBlock(Block):
    type_name = "BatchNorm1d"
    category = "Normalization"
    doc = "Batch normalisation of [N, C] features or [N, C, L] sequences, per channel C."
    inputs = (Port("in", ranks=(2, 3), layout="[N, C] or [N, C, L]"),)
    module = "torch.nn.BatchNorm1d"
    params = _bn_params()

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"num_features": input_shapes[0][0]}


@register
class BatchNorm2dBlock(Block):
    type_name = "BatchNorm2d"
    category = "Normalization"
    doc = "Batch normalisation of [N, C, H, W] images, per channel C."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    module = "torch.nn.BatchNorm2d"
    params = _bn_params()

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"num_features": input_shapes[0][0]}


@register
class LayerNormBlock(Block):
    type_name = "LayerNorm"
    category = "Normalization"
    doc = "Layer normalisation over the last dimension (the features of each token or sample)."
    inputs = (Port("in", layout="[N, ..., features]"),)
    params = {
        "eps": _EPS,
        "elementwise_affine": Bool(True, "Learn a scale per feature."),
        "bias": Bool(True, "Learn a shift per feature (with elementwise_affine)."),
    }
    module = "torch.nn.LayerNorm"

    def read_module(self, module: Any) -> dict[str, Any]:
        out = super().read_module(module)
        if not out["elementwise_affine"]:  # no bias tensor then, whatever bias= said
            out["bias"] = True
        return out

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"normalized_shape": input_shapes[0][-1]}
