"""Convolutions. `in_channels` is read off the incoming tensor, never typed."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Int, Ints
from .base import Block, BlockCheckError, Port, SampleShape, TensorSpec, register


def _per_dim(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims


def check_window(spatial: SampleShape, params: dict[str, Any], what: str) -> None:
    """Say in words when a kernel (or pooling window) is larger than the padded input.

    Torch reports this as "Kernel size can't be greater than actual input size" or "Output
    size is too small"; the person needs to know which sizes and what to change.
    """
    dims = len(spatial)
    kernel = _per_dim(params["kernel_size"], dims)
    dilation = _per_dim(params.get("dilation", 1), dims)
    padding = params.get("padding", 0)
    pads = (0,) * dims if isinstance(padding, str) else _per_dim(padding, dims)
    if padding == "same":
        return
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s > size + 2 * p for s, size, p in zip(span, spatial, pads)):
        size_txt = "x".join(map(str, spatial))
        span_txt = "x".join(map(str, span))
        raise BlockCheckError(
            f"the input is only {size_txt} but the {what} spans {span_txt}: lower kernel_size,"
            " add padding, or remove a pooling or strided layer before it")


class _ConvBlock(Block):
    dims = 2
    category = "Convolution"

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        channels = inputs[0].shape[0]
        groups = params["groups"]
        if channels % groups or params["out_channels"] % groups:
            raise BlockCheckError(
                f"groups={groups} must divide both the {channels} input channels and "
                f"out_channels={params['out_channels']}")
        strided = _per_dim(params["stride"], self.dims) != (1,) * self.dims
        if params["padding"] == "same" and strided:
            raise BlockCheckError("padding='same' needs stride 1: set stride to 1 or give padding"
                                  " as a number")
        check_window(inputs[0].shape[1:], params, "kernel")

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"in_channels": input_shapes[0][0]}


def _conv_params(dims: int, default_out: int) -> dict[str, Any]:
    pair = "" if dims == 1 else ", or [height, width]"
    return {
        "out_channels": Int(default_out, "Number of filters, i.e. output channels.", min=1,
                            max=65536),
        "kernel_size": Ints(3, f"Filter size: one integer{pair}.", n=dims, min=1),
        # torch 2.13's CPU convolution backward segfaults from a stride of 32768 on
        # (forward and meta are fine), which would kill the app on the first training step.
        "stride": Ints(1, f"Step between filter positions{pair}.", n=dims, min=1,
                       max=32767),
        "padding": Ints(0, "Zeros added on each side, or 'same' to keep the size.", n=dims,
                        min=0, words=("same", "valid")),
        "dilation": Ints(1, "Spacing between filter taps.", n=dims, min=1),
        "groups": Int(1, "Split channels into this many independent groups.", min=1),
        "bias": Bool(True, "Learn an additive bias per output channel."),
    }


@register
class Conv1dBlock(_ConvBlock):
    type_name = "Conv1d"
    module = "torch.nn.Conv1d"
    dims = 1
    doc = "1-D convolution over [N, C, L] signals or sequences (channels first)."
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    params = _conv_params(1, 32)


@register
class Conv2dBlock(_ConvBlock):
    type_name = "Conv2d"
    module = "torch.nn.Conv2d"
    dims = 2
    doc = "2-D convolution over [N, C, H, W] images."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = _conv_params(2, 32)
