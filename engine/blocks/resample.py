"""Resampling: change the spatial size by a factor or to a size (the decoder half of a
U-Net, a super-resolution head)."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Choice, Float, Int, Ints
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
        spatial = inputs[0].shape[1:]
        if size is None and spatial and min(int(d * factor) for d in spatial) < 1:
            # torch refuses an empty output only when the model runs (found by the fuzz soak)
            smallest = min(spatial)
            raise BlockCheckError(f"scale_factor {factor:g} shrinks the input {inputs[0].show()} "
                                  f"to nothing: it must be at least {1 / smallest:g}")

    def resolve(self, params: dict[str, Any], base_dir: Any) -> dict[str, Any]:
        """torch takes one of size and scale_factor: a given size wins."""
        if params.get("size") is not None:
            return {**params, "scale_factor": None}
        return params


@register
class PixelShuffleBlock(Block):
    type_name = "PixelShuffle"
    category = "Resampling"
    module = "torch.nn.PixelShuffle"
    doc = ("Trade channels for resolution: [N, C*r*r, H, W] to [N, C, H*r, W*r] with "
           "r = `upscale_factor` (the sub-pixel upsampling of a super-resolution head).")
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = {"upscale_factor": Int(2, "r: height and width grow r times, channels shrink r*r "
                                    "times.", min=1, max=256)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        factor = params["upscale_factor"]
        channels = inputs[0].shape[0]
        if channels % (factor * factor):
            fits = [r for r in range(2, 9) if channels % (r * r) == 0]
            other = (" or set upscale_factor to " + " or ".join(map(str, fits))) if fits else ""
            raise BlockCheckError(
                f"upscale_factor={factor} needs the channels to be a multiple of {factor}*"
                f"{factor} = {factor * factor}, but the input has {channels}: give the block "
                f"before it out_channels = (channels you want) * {factor * factor}{other}")


@register
class PixelUnshuffleBlock(Block):
    type_name = "PixelUnshuffle"
    category = "Resampling"
    module = "torch.nn.PixelUnshuffle"
    doc = ("Trade resolution for channels, the inverse of PixelShuffle: [N, C, H*r, W*r] to "
           "[N, C*r*r, H, W] with r = `downscale_factor`.")
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    params = {"downscale_factor": Int(2, "r: height and width shrink r times, channels grow "
                                      "r*r times.", min=1, max=256)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        factor = params["downscale_factor"]
        height, width = inputs[0].shape[1:]
        if height % factor or width % factor:
            raise BlockCheckError(
                f"downscale_factor={factor} must divide both the height and the width, but "
                f"the input is {height}x{width}: pick a factor that divides both, or pad or "
                "resize the input (e.g. ZeroPad2d) to a multiple of it")
