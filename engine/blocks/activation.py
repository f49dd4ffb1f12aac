"""Activations. None of them has weights; `inplace` is left out so probes see the input."""

from __future__ import annotations

from ..params import Choice, Float, Int
from .base import Block, Port, register

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
    params = {"negative_slope": Float(0.01, "Slope for x < 0.", min=0.0)}


@register
class SoftmaxBlock(_ActivationBlock):
    type_name = "Softmax"
    module = "torch.nn.Softmax"
    doc = ("Normalises to probabilities along `dim`. Not needed before a cross-entropy loss, "
           "which applies it itself.")
    params = {"dim": Int(-1, "Dimension that sums to 1, counting the batch as 0; -1 is the "
                         "last.", min=-8, max=8)}
