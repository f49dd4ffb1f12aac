"""Normalisation. The feature count (`num_features`, `normalized_shape`) comes from the input."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..params import Bool, Float, Int
from .base import Block, BlockCheckError, Port, SampleShape, TensorSpec, register

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


@register
class BatchNorm3dBlock(Block):
    type_name = "BatchNorm3d"
    category = "Normalization"
    doc = "Batch normalisation of [N, C, D, H, W] volumes (or clips of frames), per channel C."
    inputs = (Port("in", ranks=(5,), layout="[N, C, D, H, W]"),)
    module = "torch.nn.BatchNorm3d"
    params = _bn_params()

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"num_features": input_shapes[0][0]}


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@register
class GroupNormBlock(Block):
    type_name = "GroupNorm"
    category = "Normalization"
    doc = ("Normalise each sample over groups of channels; unlike BatchNorm it does not "
           "depend on the batch, so it suits small batches.")
    inputs = (Port("in", ranks=(2, 3, 4, 5), layout="[N, C, ...]"),)
    module = "torch.nn.GroupNorm"
    params = {
        "num_groups": Int(8, "Number of channel groups; must divide the channel count.",
                          min=1, max=1 << 16),
        "eps": _EPS,
        "affine": Bool(True, "Learn a scale and shift per channel."),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        # torch says only "num_channels (12) must be divisible by num_groups (8)"; the
        # person needs the counts that would work.
        channels, groups = inputs[0].shape[0], params["num_groups"]
        if channels % groups:
            fits = ", ".join(map(str, _divisors(channels)))
            raise BlockCheckError(f"num_groups={groups} does not divide the {channels} "
                                  f"channels of {inputs[0].show()}: use one of {fits}")

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"num_channels": input_shapes[0][0]}


def _in_params() -> dict[str, Any]:
    # torch's defaults, which differ from BatchNorm's: no affine, no running statistics.
    return {**_bn_params(),
            "affine": Bool(False, "Learn a scale and shift per channel."),
            "track_running_stats": Bool(False, "Keep running statistics for evaluation "
                                        "(off: each sample uses its own, also when "
                                        "evaluating).")}


class _InstanceNormBlock(Block):
    category = "Normalization"

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        # torch: "Expected more than 1 spatial element when training, got input size ...".
        spatial = inputs[0].shape[1:]
        if math.prod(spatial) == 1:
            batch_norm = self.type_name.replace("Instance", "Batch")
            raise BlockCheckError(
                f"{self.type_name} normalises each channel over its positions, and "
                f"{inputs[0].show()} has only one per channel: move it to where the size is "
                f"larger than 1, or use {batch_norm} here")

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"num_features": input_shapes[0][0]}


@register
class InstanceNorm1dBlock(_InstanceNormBlock):
    type_name = "InstanceNorm1d"
    doc = "Normalise each channel of each [N, C, L] sample over its length L."
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    module = "torch.nn.InstanceNorm1d"
    params = _in_params()


@register
class InstanceNorm2dBlock(_InstanceNormBlock):
    type_name = "InstanceNorm2d"
    doc = ("Normalise each channel of each [N, C, H, W] image over its height and width "
           "(style transfer, image generators).")
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    module = "torch.nn.InstanceNorm2d"
    params = _in_params()


@register
class RMSNormBlock(Block):
    type_name = "RMSNorm"
    category = "Normalization"
    doc = ("Root-mean-square normalisation over the last dimension: LayerNorm without "
           "subtracting the mean (as in Llama-style transformers).")
    inputs = (Port("in", layout="[N, ..., features]"),)
    module = "torch.nn.RMSNorm"
    params = {
        "eps": Float(None, "Added for numerical stability; empty uses the dtype's machine "
                     "epsilon, as torch does.", min=0.0, min_open=True, optional=True),
        "elementwise_affine": Bool(True, "Learn a scale per feature."),
    }

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"normalized_shape": input_shapes[0][-1]}


@register
class LocalResponseNormBlock(Block):
    type_name = "LocalResponseNorm"
    category = "Normalization"
    doc = ("Damp each value by the activity of its neighbouring channels (AlexNet's "
           "normalisation). No weights.")
    inputs = (Port("in", ranks=(3, 4, 5), layout="[N, C, L], [N, C, H, W] or [N, C, D, H, W]"),)
    module = "torch.nn.LocalResponseNorm"
    contiguous_input = True  # F.local_response_norm views its input
    params = {
        "size": Int(5, "Number of neighbouring channels to sum over.", min=1, max=1 << 16),
        "alpha": Float(1e-4, "Multiplicative factor.", min=0.0),
        "beta": Float(0.75, "Exponent.", min=0.0),
        "k": Float(1.0, "Additive factor.", min=0.0, min_open=True),
    }
