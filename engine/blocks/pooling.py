"""Pooling: shrink the spatial size. `stride` left empty means "same as kernel_size"."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Ints
from .base import Block, BlockCheckError, Port, TensorSpec, register
from .conv import _per_dim, check_window, dims_text


class _PoolBlock(Block):
    category = "Pooling"
    dims = 2

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        kernel = _per_dim(params["kernel_size"], self.dims)
        padding = _per_dim(params["padding"], self.dims)
        if any(2 * p > k for p, k in zip(padding, kernel)):
            raise BlockCheckError("padding must be at most half of kernel_size: lower padding")
        check_window(inputs[0].shape[1:], params, "pooling window")

    def read_module(self, module: Any) -> dict[str, Any]:
        """torch keeps the window as the stride when none was given: a project leaves a
        stride equal to the window empty."""
        out = super().read_module(module)
        if out["stride"] == out["kernel_size"]:
            out["stride"] = None
        return out


#: Torch's CPU pooling kernels take 32-bit sizes: a larger stride or dilation passed on meta
#: and failed the real forward ("value cannot be converted to type int without overflow").
_INT32 = 2**31 - 1


def _window_params(dims: int, dilation: bool) -> dict[str, Any]:
    pair = dims_text(dims)
    out = {
        "kernel_size": Ints(2, f"Window size: one integer{pair}.", n=dims, min=1, max=_INT32),
        "stride": Ints(None, "Step between windows; empty means the window size.", n=dims,
                       min=1, optional=True, max=_INT32),
        "padding": Ints(0, "Implicit padding on each side.", n=dims, min=0, max=_INT32),
    }
    if dilation:
        out["dilation"] = Ints(1, "Spacing between window taps.", n=dims, min=1, max=_INT32)
    out["ceil_mode"] = Bool(False, "Round the output size up instead of down.")
    return out


@register
class MaxPool1dBlock(_PoolBlock):
    type_name = "MaxPool1d"
    dims = 1
    module = "torch.nn.MaxPool1d"
    doc = "Max over sliding windows of [N, C, L] sequences."
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    params = _window_params(1, dilation=True)


@register
class MaxPool2dBlock(_PoolBlock):
    type_name = "MaxPool2d"
    dims = 2
    module = "torch.nn.MaxPool2d"
    doc = "Max over sliding windows of [N, C, H, W] images."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = _window_params(2, dilation=True)


@register
class AvgPool2dBlock(_PoolBlock):
    type_name = "AvgPool2d"
    dims = 2
    module = "torch.nn.AvgPool2d"
    doc = "Average over sliding windows of [N, C, H, W] images."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = {**_window_params(2, dilation=False),
              "count_include_pad": Bool(True, "Count padding zeros in the average.")}


@register
class AdaptiveAvgPool2dBlock(Block):
    type_name = "AdaptiveAvgPool2d"
    category = "Pooling"
    doc = "Average down to a fixed output size whatever the input size; 1 gives global pooling."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    module = "torch.nn.AdaptiveAvgPool2d"
    params = {"output_size": Ints(1, "Output height and width: one integer or [h, w].", n=2,
                                  min=1)}


@register
class AvgPool1dBlock(_PoolBlock):
    type_name = "AvgPool1d"
    dims = 1
    module = "torch.nn.AvgPool1d"
    doc = "Average over sliding windows of [N, C, L] sequences."
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    params = {**_window_params(1, dilation=False),
              "count_include_pad": Bool(True, "Count padding zeros in the average.")}


@register
class MaxPool3dBlock(_PoolBlock):
    type_name = "MaxPool3d"
    dims = 3
    module = "torch.nn.MaxPool3d"
    doc = "Max over sliding windows of [N, C, D, H, W] volumes."
    inputs = (Port("in", ranks=(5,), layout="[N, C, D, H, W]"),)
    params = _window_params(3, dilation=True)


@register
class AvgPool3dBlock(_PoolBlock):
    type_name = "AvgPool3d"
    dims = 3
    module = "torch.nn.AvgPool3d"
    doc = "Average over sliding windows of [N, C, D, H, W] volumes."
    inputs = (Port("in", ranks=(5,), layout="[N, C, D, H, W]"),)
    params = {**_window_params(3, dilation=False),
              "count_include_pad": Bool(True, "Count padding zeros in the average.")}


@register
class AdaptiveAvgPool1dBlock(Block):
    type_name = "AdaptiveAvgPool1d"
    category = "Pooling"
    doc = ("Average [N, C, L] sequences down to a fixed length whatever the input length; 1 "
           "gives global pooling.")
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    module = "torch.nn.AdaptiveAvgPool1d"
    params = {"output_size": Ints(1, "Output length.", n=1, min=1)}


@register
class AdaptiveMaxPool2dBlock(Block):
    type_name = "AdaptiveMaxPool2d"
    category = "Pooling"
    doc = "Max down to a fixed output size whatever the input size; 1 gives global max pooling."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    module = "torch.nn.AdaptiveMaxPool2d"
    params = {"output_size": Ints(1, "Output height and width: one integer or [h, w].", n=2,
                                  min=1)}
