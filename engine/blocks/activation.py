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


@register
class LogSoftmaxBlock(SoftmaxBlock):
    type_name = "LogSoftmax"
    module = "torch.nn.LogSoftmax"
    doc = ("Log of the softmax along `dim`, computed stably; pairs with an NLL loss. A "
           "cross-entropy loss needs neither.")
    params = {"dim": Int(-1, "Dimension the softmax runs along, counting the batch as 0; -1 "
                         "is the last.", min=-8, max=8)}


@register
class Softmax2dBlock(_ActivationBlock):
    type_name = "Softmax2d"
    module = "torch.nn.Softmax2d"
    doc = "Softmax over the channels at every pixel of [N, C, H, W] (per-pixel class scores)."
    # Only 4-D: torch would read a 3-D [N, H, W] as one unbatched [C, H, W] image and mix
    # the samples of the batch.
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)


@register
class SiLUBlock(_ActivationBlock):
    type_name = "SiLU"
    module = "torch.nn.SiLU"
    doc = "x * sigmoid(x), also called swish (EfficientNet, Llama's feed-forward)."


@register
class ELUBlock(_ActivationBlock):
    type_name = "ELU"
    module = "torch.nn.ELU"
    doc = "Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) below."
    params = {"alpha": Float(1.0, "Value the output approaches for very negative x (as "
                             "-alpha).", min=0.0, max=1000.0)}


@register
class SELUBlock(_ActivationBlock):
    type_name = "SELU"
    module = "torch.nn.SELU"
    doc = ("Scaled ELU with fixed constants that keep activations normalised in deep plain "
           "networks; pair it with AlphaDropout.")


@register
class MishBlock(_ActivationBlock):
    type_name = "Mish"
    module = "torch.nn.Mish"
    doc = "x * tanh(softplus(x)): smooth, like SiLU."


@register
class PReLUBlock(_ActivationBlock):
    type_name = "PReLU"
    module = "torch.nn.PReLU"
    doc = ("LeakyReLU whose negative slope is learned: one slope for all channels, or one "
           "per channel (dimension 1).")
    params = {
        "num_parameters": Int(1, "Number of learned slopes: 1, or the number of channels.",
                              min=1, max=1 << 20),
        "init": Float(0.25, "Starting value of the slopes.", min=-1000.0, max=1000.0),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        # torch: "Mismatch of parameter numbers and input channel size", raised only when
        # the model runs.
        wanted = params["num_parameters"]
        if not inputs[0].shape:  # one number per sample: no channel dimension to match
            if wanted != 1:
                raise BlockCheckError(f"num_parameters={wanted} needs a channel dimension, but "
                                      f"the input is {inputs[0].show()}: set it to 1")
            return
        channels = inputs[0].shape[0]
        if wanted not in (1, channels):
            raise BlockCheckError(
                f"num_parameters={wanted} fits neither one shared slope nor the {channels} "
                f"channels of {inputs[0].show()} (dimension 1): set it to 1 or {channels}")


@register
class SoftplusBlock(_ActivationBlock):
    type_name = "Softplus"
    module = "torch.nn.Softplus"
    doc = "log(1 + exp(beta * x)) / beta: a smooth ReLU whose output is always positive."
    # Bounded, as LeakyReLU's slope: beyond float32 both pass on meta and fail the forward.
    params = {
        "beta": Float(1.0, "Sharpness; larger is closer to ReLU.", min=0.0, min_open=True,
                      max=1000.0),
        "threshold": Float(20.0, "Above beta * x = threshold the output is x itself, for "
                           "numerical stability.", min=0.0, min_open=True, max=1000.0),
    }


@register
class HardswishBlock(_ActivationBlock):
    type_name = "Hardswish"
    module = "torch.nn.Hardswish"
    doc = "A cheap piecewise approximation of SiLU (MobileNetV3)."


@register
class HardsigmoidBlock(_ActivationBlock):
    type_name = "Hardsigmoid"
    module = "torch.nn.Hardsigmoid"
    doc = "A cheap piecewise-linear sigmoid: 0 below -3, 1 above 3, linear between."


@register
class ReLU6Block(_ActivationBlock):
    type_name = "ReLU6"
    module = "torch.nn.ReLU6"
    doc = "min(max(0, x), 6): a ReLU capped at 6 (MobileNet)."
