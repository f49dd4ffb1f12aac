"""Convolutions. `in_channels` is read off the incoming tensor, never typed."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Choice, Int, Ints
from .base import Block, BlockCheckError, Port, SampleShape, TensorSpec, register


def _per_dim(value: Any, dims: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (list, tuple)) else (value,) * dims


#: The spatial sides of a 1-, 2- and 3-D input, as messages and parameter docs name them.
SIDES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def dims_text(dims: int) -> str:
    """How a per-side parameter reads in its doc: ``", or [height, width]"``."""
    return "" if dims == 1 else ", or [" + ", ".join(SIDES[dims]) + "]"


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


#: The `padding_mode` values torch's convolutions take; "zeros" is torch's default, and
#: project files written before the parameter existed mean it.
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _side_pads(spatial: SampleShape, params: dict[str, Any]) -> list[tuple[int, int]]:
    """(before, after) padding per side, as torch computes it for "same" too."""
    dims = len(spatial)
    padding = params["padding"]
    if padding == "valid":
        return [(0, 0)] * dims
    if padding == "same":
        kernel = _per_dim(params["kernel_size"], dims)
        dilation = _per_dim(params["dilation"], dims)
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _per_dim(padding, dims)]


def check_padding_mode(spatial: SampleShape, params: dict[str, Any]) -> None:
    """Say in words when the input is too small for a mirrored or wrapped padding.

    Torch says "Padding size should be less than the corresponding input dimension" or
    "Padding value causes wrapping around more than once" without naming the parameter.
    """
    mode = params.get("padding_mode", "zeros")
    if mode not in ("reflect", "circular"):
        return
    for side, size, (before, after) in zip(SIDES[len(spatial)], spatial,
                                           _side_pads(spatial, params)):
        pad = max(before, after)
        if pad < size or (mode == "circular" and pad == size):
            continue
        limit = size - 1 if mode == "reflect" else size
        how = ("mirrors the input, so each side's padding must be smaller than the input"
               if mode == "reflect" else "wraps the input around, so each side's padding must "
               "be at most the input's size")
        if params["padding"] == "same":
            got, lower = f"padding='same' pads {pad}", "lower kernel_size or dilation"
        else:
            got, lower = f"padding is {pad}", f"lower padding to at most {limit}"
        raise BlockCheckError(
            f"padding_mode='{mode}' {how}, but {got} on a {side} of {size}: {lower}, or "
            "use padding_mode 'zeros' or 'replicate'")


class _ConvBlock(Block):
    dims = 2
    category = "Convolution"

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        self.check_groups(params, inputs)
        strided = _per_dim(params["stride"], self.dims) != (1,) * self.dims
        if params["padding"] == "same" and strided:
            raise BlockCheckError("padding='same' needs stride 1: set stride to 1 or give padding"
                                  " as a number")
        check_padding_mode(inputs[0].shape[1:], params)
        check_window(inputs[0].shape[1:], params, "kernel")

    @staticmethod
    def check_groups(params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        channels = inputs[0].shape[0]
        groups = params["groups"]
        if channels % groups or params["out_channels"] % groups:
            raise BlockCheckError(
                f"groups={groups} must divide both the {channels} input channels and "
                f"out_channels={params['out_channels']}")

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"in_channels": input_shapes[0][0]}


def _conv_params(dims: int, default_out: int) -> dict[str, Any]:
    pair = dims_text(dims)
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
        "padding_mode": Choice("zeros", "What the padding holds: zeros, the input mirrored "
                               "(reflect), its edge repeated (replicate) or wrapped around "
                               "(circular).", choices=PADDING_MODES),
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


@register
class Conv3dBlock(_ConvBlock):
    type_name = "Conv3d"
    module = "torch.nn.Conv3d"
    dims = 3
    doc = "3-D convolution over [N, C, D, H, W] volumes or clips (depth, height, width)."
    inputs = (Port("in", ranks=(5,), layout="[N, C, D, H, W]"),)
    params = _conv_params(3, 32)


class _ConvTransposeBlock(_ConvBlock):
    """A transposed convolution grows the input, so the kernel-window check does not apply;
    what goes wrong instead is `output_padding` (torch's meta kernels accept any, the real
    forward refuses it) and a padding that trims the whole output away."""

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        self.check_groups(params, inputs)
        dims = self.dims
        stride = _per_dim(params["stride"], dims)
        dilation = _per_dim(params["dilation"], dims)
        extra = _per_dim(params["output_padding"], dims)
        for side, op, s, d in zip(SIDES[dims], extra, stride, dilation):
            if op >= max(s, d):
                raise BlockCheckError(
                    f"output_padding must be smaller than stride or dilation, but on the "
                    f"{side} it is {op} with stride {s} and dilation {d}: lower output_padding "
                    f"to at most {max(s, d) - 1}, or raise stride")
        kernel = _per_dim(params["kernel_size"], dims)
        padding = _per_dim(params["padding"], dims)
        spatial = inputs[0].shape[1:]
        grown = [(n - 1) * s + d * (k - 1) + op + 1
                 for n, s, d, k, op in zip(spatial, stride, dilation, kernel, extra)]
        for side, size, p in zip(SIDES[dims], grown, padding):
            if 2 * p >= size:
                raise BlockCheckError(
                    f"padding={p} trims {2 * p} from a {side} of only {size} (before padding), "
                    f"leaving nothing: lower padding to at most {(size - 1) // 2}, or raise "
                    "kernel_size or stride")


_MAX_TRANSPOSE_STRIDE = 32


def _transpose_params(dims: int, default_out: int) -> dict[str, Any]:
    pair = dims_text(dims)
    return {
        "out_channels": Int(default_out, "Number of output channels.", min=1, max=65536),
        "kernel_size": Ints(3, f"Filter size: one integer{pair}.", n=dims, min=1),
        # torch 2.13's CPU (oneDNN) transposed convolution segfaults on large strides: seen
        # from stride 64 on a long input, at any length from 32768 (none seen up to 32).
        "stride": Ints(1, f"Upsampling factor: the output grows about this many times{pair}.",
                       n=dims, min=1, max=_MAX_TRANSPOSE_STRIDE),
        "padding": Ints(0, "Trimmed from each side of the output (dilation * (kernel_size - "
                        "1) - padding zeros pad the input).", n=dims, min=0),
        "output_padding": Ints(0, "Extra size added to one side of the output, to reach an "
                               "exact size when stride > 1; smaller than stride or dilation.",
                               n=dims, min=0),
        "groups": Int(1, "Split channels into this many independent groups.", min=1),
        "bias": Bool(True, "Learn an additive bias per output channel."),
        "dilation": Ints(1, "Spacing between filter taps.", n=dims, min=1),
    }


@register
class ConvTranspose1dBlock(_ConvTransposeBlock):
    type_name = "ConvTranspose1d"
    module = "torch.nn.ConvTranspose1d"
    dims = 1
    doc = ("Transposed 1-D convolution: grows [N, C, L] sequences by `stride` (a learned "
           "upsampling, the decoder of a 1-D autoencoder).")
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    params = _transpose_params(1, 32)


@register
class ConvTranspose2dBlock(_ConvTransposeBlock):
    type_name = "ConvTranspose2d"
    module = "torch.nn.ConvTranspose2d"
    dims = 2
    doc = ("Transposed 2-D convolution: grows [N, C, H, W] images by `stride` (a learned "
           "upsampling: a U-Net's decoder, a GAN's generator).")
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = _transpose_params(2, 32)
