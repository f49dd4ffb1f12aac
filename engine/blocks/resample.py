"""Resampling: change the spatial size by a factor or to a size (the decoder half of a
U-Net, a super-resolution head)."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Choice, Float, Ints
from .base import Block, BlockCheckError, Port, TensorSpec, register

#: The interpolation modes torch.nn.Upsample takes, by the input rank each works on.
MODES = {"nearest": (3, 4, 5), "linear": (3,), "bilinear": (4,), "bicubic": (4,),
         "trilinear": (5,)}


@register
class UpsampleBlock(Block):
    type_name = "Upsample"
    category = "Resampling"
    module = "torch.nn.Upsample"
    doc = ("Scale the spatial size up (or down) by `scale_factor`, or to `size`, "
           "interpolating with `mode`: [N, C, H, W] to [N, C, 2H, 2W].")
    inputs = (Port("in", ranks=(3, 4, 5), layout="[N, C, L], [N, C, H, W] or [N, C, D, H, W]"),)
    params = {
        "size": Ints(None, "Output height and width (images): one integer or [h, w]; empty "
                     "to scale by scale_factor.", n=2, min=1, optional=True, max=1 << 16),
        "scale_factor": Float(2.0, "Multiply the spatial size by this (not used when size "
                              "is given).", min=0.0, min_open=True, max=1024.0, optional=True),
        "mode": Choice("nearest", "Interpolation: nearest (any rank), linear (sequences), "
                       "bilinear or bicubic (images), trilinear (volumes).",
                       choices=tuple(MODES)),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        rank = len(inputs[0].shape) + 1
        size, factor = params.get("size"), params.get("scale_factor")
        if size is None and factor is None:
            raise BlockCheckError("give size or scale_factor: both are empty")
        if size is not None and rank != 4:
            raise BlockCheckError("size is [height, width], for images [N, C, H, W]: use "
                                  "scale_factor for this input")
        if rank not in MODES[params["mode"]]:
            fits = [m for m, ranks in MODES.items() if rank in ranks]
            raise BlockCheckError(f"mode {params['mode']} does not work on a rank-{rank} input "
                                  f"{inputs[0].show()}: use " + " or ".join(fits))

    def resolve(self, params: dict[str, Any], base_dir: Any) -> dict[str, Any]:
        """torch takes one of size and scale_factor: a given size wins."""
        if params.get("size") is not None:
            return {**params, "scale_factor": None}
        return params
