"""Activations. None of them has weights; `inplace` is left out so probes see the input."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Choice, Float, Int
from .base import Block, BlockCheckError, Port, TensorSpec, register

_ANY = (Port("in", layout="any float tensor"),)


class _ActivationBlock(Block):
    category = "Activation"
    inputs = _ANY


@register
class ReLUBlock(_ActivationBlock):
    type_name = "ReLU"
    module = "torch.nn.ReLU"
    doc = "max(0, x)."


@register
class GELUBlock(_ActivationBlock):
    type_name = "GELU"
    module = "torch.nn.GELU"
    doc = "Gaussian error linear unit, the transformer default."
    params = {"approximate": Choice("none", "'tanh' uses the faster approximation.",
                                    choices=("none", "tanh"))}


@register
class TanhBlock(_ActivationBlock):
    type_name = "Tanh"
    module = "torch.nn.Tanh"
    doc = "Squashes to (-1, 1)."


@register
class SigmoidBlock(_ActivationBlock):
    type_name = "Sigmoid"
    module = "torch.nn.Sigmoid"
    doc = "Squashes to (0, 1)."


@register
class LeakyReLUBlock(_ActivationBlock):
    type_name = "LeakyReLU"
    module = "torch.nn.LeakyReLU"
    doc = "ReLU with a small slope for negative inputs, so units never go fully dead."
    # Bounded: torch casts the slope to the tensor's float32, and a slope past its range
    # (1e308) passed on meta but failed the real forward.
    params = {"negative_slope": Float(0.01, "Slope for x < 0.", min=0.0, max=1000.0)}


@register
class SoftmaxBlock(_ActivationBlock):
    type_name = "Softmax"
    module = "torch.nn.Softmax"
    doc = ("Normalises to probabilities along `dim`. Not needed before a cross-entropy loss, "
           "which applies it itself.")
    params = {"dim": Int(-1, "Dimension that sums to 1, counting the batch as 0; -1 is the "
                         "last.", min=-8, max=8)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        # Checked here, not measured: torch's meta kernel accepts any dim, so a wrong one
        # would pass on the canvas and fail only when the model runs.
        rank = len(inputs[0].shape) + 1
        if not -rank <= params["dim"] < rank:
            raise BlockCheckError(f"dim={params['dim']} does not exist in {inputs[0].show()}: "
                                  f"use -{rank} to {rank - 1} (0 is the batch, -1 the last)")
