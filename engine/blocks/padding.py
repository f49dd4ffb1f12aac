"""Padding: add a border around [N, C, H, W] images, by zeros, a mirror or the edge.

`padding` is one integer for every side or ``[left, right, top, bottom]``, in torch's order
(the last dimension, the width, first).
"""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Ints
from .base import Block, BlockCheckError, Port, TensorSpec, register

_PADDING_DOC = "Added on each side: one integer, or [left, right, top, bottom]."
#: A border wider than this is a typo, not a model (and only fills memory).
_MAX_PAD = 1 << 16


def _padding() -> Ints:
    return Ints(1, _PADDING_DOC, n=4, min=0, max=_MAX_PAD)


def _sides(padding: Any) -> tuple[int, int, int, int]:
    """(left, right, top, bottom), as torch reads `padding`."""
    return tuple(padding) if isinstance(padding, (list, tuple)) else (padding,) * 4  # type: ignore[return-value]


class _PadBlock(Block):
    category = "Resampling"
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)


@register
class ZeroPad2dBlock(_PadBlock):
    type_name = "ZeroPad2d"
    module = "torch.nn.ZeroPad2d"
    doc = "Add a border of zeros around [N, C, H, W] images."
    params = {"padding": _padding()}


@register
class ReplicationPad2dBlock(_PadBlock):
    type_name = "ReplicationPad2d"
    module = "torch.nn.ReplicationPad2d"
    doc = "Add a border that repeats the edge pixels of [N, C, H, W] images."
    params = {"padding": _padding()}


@register
class ReflectionPad2dBlock(_PadBlock):
    type_name = "ReflectionPad2d"
    module = "torch.nn.ReflectionPad2d"
    doc = ("Add a border that mirrors [N, C, H, W] images at their edges (no seam of zeros, "
           "as style-transfer and image-to-image networks use).")
    params = {"padding": _padding()}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        """A mirror can only reflect what is there: torch refuses padding >= the side."""
        height, width = inputs[0].shape[1:]
        left, right, top, bottom = _sides(params["padding"])
        for names, pads, size, side in ((("left", "right"), (left, right), width, "width"),
                                        (("top", "bottom"), (top, bottom), height, "height")):
            for name, pad in zip(names, pads):
                if pad >= size:
                    raise BlockCheckError(
                        f"ReflectionPad2d mirrors the image, so each padding must be smaller "
                        f"than the side it extends, but the {name} padding is {pad} and the "
                        f"{side} is {size}: lower it to at most {size - 1}, or use "
                        "ReplicationPad2d or ZeroPad2d")
