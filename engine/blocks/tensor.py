"""Tensor operations: reshape, reorder, reduce, slice, scale, and a learned tensor.

Every dim is counted without the batch, as Concat counts it (0 is the first dimension after
the batch, negative dims count from the end), so no setting can move the batch by mistake.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..params import Bool, Choice, Dims, Float, Int, ReshapeShape, Shape
from .base import Block, BlockCheckError, Port, TensorSpec, register
from .resample import UpsampleBlock

_LAYERS = "torchloom.engine.layers"
_ANY = Port("in", dtype="any", layout="[N, ...]")


def _listed(values: Sequence[int]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def axis_of(dim: int, spec: TensorSpec, name: str = "dim") -> int:
    """`dim` as an index into the sample shape, or a sentence saying which dims exist."""
    rank = len(spec.shape)
    if rank == 0:
        raise BlockCheckError(f"the input {spec.show()} has no dimension after the batch for "
                              f"{name}={dim}: give it a sample with at least one dimension")
    if not -rank <= dim < rank:
        raise BlockCheckError(f"{name}={dim} does not exist in {spec.show()}: use 0 to "
                              f"{rank - 1} (0 is the first dimension after the batch) or -1 "
                              f"to -{rank} from the end")
    return dim % rank


@register
class ReshapeBlock(Block):
    type_name = "Reshape"
    category = "Tensor"
    module = f"{_LAYERS}.Reshape"
    doc = ("Give each sample a new shape holding the same values, e.g. [N, 64, 4, 4] to "
           "[N, 64, 16]; one size may be -1 for what is left. The batch stays first.")
    inputs = (_ANY,)
    params = {"shape": ReshapeShape((-1,), "The shape of each sample, without the batch; -1 "
                                    "(once) for the size that is left.")}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        spec, target = inputs[0], params["shape"]
        have = math.prod(spec.shape)
        known = math.prod(s for s in target if s != -1)
        if -1 in target and have % known:
            raise BlockCheckError(
                f"shape {_listed(target)} cannot hold the {have} values of each sample of "
                f"{spec.show()}: {have} is not a multiple of {known}, the product of the other "
                "sizes; change them")
        if -1 not in target and known != have:
            raise BlockCheckError(
                f"shape {_listed(target)} holds {known} values but each sample of the input "
                f"{spec.show()} has {have}: make their product {have}, or write -1 for one "
                "size")


@register
class PermuteBlock(Block):
    type_name = "Permute"
    category = "Tensor"
    module = f"{_LAYERS}.Permute"
    doc = ("Reorder the dimensions after the batch: dims [1, 0] turns [N, A, B] into "
           "[N, B, A]. The batch stays first.")
    inputs = (_ANY,)
    params = {"dims": Dims((1, 0), "The new order of the dimensions after the batch, each "
                           "listed once: [2, 0, 1] turns [N, H, W, C] into [N, C, H, W].",
                           single=False, negative=False)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        spec, dims = inputs[0], params["dims"]
        rank = len(spec.shape)
        if sorted(dims) != list(range(rank)):
            example = list(range(rank - 2)) + [rank - 1, rank - 2] if rank >= 2 else [0]
            raise BlockCheckError(
                f"dims {_listed(dims)} is not an order of the {rank} dimensions of "
                f"{spec.show()}: list each of 0 to {rank - 1} once (without the batch), e.g. "
                f"{_listed(example)}")


@register
class TransposeBlock(Block):
    type_name = "Transpose"
    category = "Tensor"
    module = f"{_LAYERS}.Transpose"
    doc = ("Swap two dimensions, counted without the batch: dims 0 and 1 turn [N, C, L] "
           "into [N, L, C]. The batch stays first.")
    inputs = (_ANY,)
    params = {
        "dim0": Int(0, "One dimension to swap, without the batch: 0 is the first after it, -1 "
                    "the last.", min=-8, max=7),
        "dim1": Int(1, "The other dimension to swap.", min=-8, max=7),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        axis_of(params["dim0"], inputs[0], "dim0")
        axis_of(params["dim1"], inputs[0], "dim1")


def _reduce_params(what: str) -> dict[str, Any]:
    return {
        "dims": Dims(-1, f"The dimensions to take the {what} over, without the batch: one "
                     "integer or a list; 0 is the first after the batch, -1 the last."),
        "keepdim": Bool(False, "Keep each reduced dimension as size 1 instead of dropping it."),
    }


class _ReduceBlock(Block):
    category = "Tensor"
    inputs = (Port("in", layout="[N, ...]"),)

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        dims = params["dims"]
        listed = (dims,) if isinstance(dims, int) else dims
        axes = [axis_of(d, inputs[0], "dims") for d in listed]
        twice = sorted({a for a in axes if axes.count(a) > 1})
        if twice:
            raise BlockCheckError(f"dims {_listed(listed)} name dimension {twice[0]} of "
                                  f"{inputs[0].show()} twice: list each dimension once")


@register
class MeanBlock(_ReduceBlock):
    type_name = "Mean"
    module = f"{_LAYERS}.Mean"
    params = _reduce_params("mean")
    doc = ("Average over `dims` (without the batch): dims 0 turns a [N, L, E] sequence into "
           "[N, E]; dims [1, 2] pools [N, C, H, W] images to [N, C].")


@register
class SumBlock(_ReduceBlock):
    type_name = "Sum"
    module = f"{_LAYERS}.Sum"
    params = _reduce_params("sum")
    doc = "Add up the values over `dims` (without the batch): [N, L, E] with dims 0 is [N, E]."


@register
class MaxBlock(_ReduceBlock):
    type_name = "Max"
    module = f"{_LAYERS}.Max"
    params = _reduce_params("largest value")
    doc = ("The largest value over `dims` (without the batch); values only, not where they "
           "are: [N, L, E] with dims 0 is [N, E].")


#: Slice positions: far beyond any size a sample can have, inside a spin box's range.
_POSITION = 1 << 30


@register
class SliceBlock(Block):
    type_name = "Slice"
    category = "Tensor"
    module = f"{_LAYERS}.Slice"
    doc = ("Keep positions start:stop:step along `dim` (without the batch), or with `index` "
           "the one position, dropping that dim: dim 0, index -1 turns [N, L, E] into [N, E], "
           "the last step, like x[:, -1].")
    inputs = (_ANY,)
    params = {
        "dim": Int(0, "The dimension to slice, without the batch: 0 is the first after it, -1 "
                   "the last.", min=-8, max=7),
        "start": Int(None, "First position kept (negative counts from the end); empty for the "
                     "beginning.", min=-_POSITION, max=_POSITION, optional=True),
        "stop": Int(None, "Position to stop before (negative counts from the end); empty for "
                    "the end.", min=-_POSITION, max=_POSITION, optional=True),
        "step": Int(1, "Keep every step-th position.", min=1, max=_POSITION),
        "index": Int(None, "Take only this position and drop the dimension (start, stop and "
                     "step are then unused); empty to slice.", min=-_POSITION, max=_POSITION,
                     optional=True),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        spec = inputs[0]
        axis = axis_of(params["dim"], spec)
        size = spec.shape[axis]
        index = params["index"]
        if index is not None:
            if not -size <= index < size:
                raise BlockCheckError(
                    f"index={index} is outside dimension {axis} of {spec.show()}, which has "
                    f"size {size}: use 0 to {size - 1}, or -1 to -{size} from the end")
            return
        start, stop, step = params["start"], params["stop"], params["step"]
        if not range(*slice(start, stop, step).indices(size)):
            raise BlockCheckError(
                f"start={start}, stop={stop} keeps nothing of dimension {axis} of "
                f"{spec.show()}, which has size {size}: choose start below stop, within 0 to "
                f"{size}")


@register
class ScaleBlock(Block):
    type_name = "Scale"
    category = "Tensor"
    module = f"{_LAYERS}.Scale"
    doc = "Multiply every value by a constant `factor`, e.g. 1/sqrt(d) before a Softmax."
    inputs = (Port("in", layout="any float tensor"),)
    params = {"factor": Float(1.0, "The constant to multiply by.")}


@register
class IdentityBlock(Block):
    type_name = "Identity"
    category = "Tensor"
    module = "torch.nn.Identity"
    doc = "Pass the input on unchanged: a named point to probe, or a placeholder to wire through."
    inputs = (Port("in", dtype="any", layout="any tensor"),)


#: Modes that interpolate between samples; only they take align_corners.
_ALIGNING = ("linear", "bilinear", "bicubic", "trilinear")


@register
class InterpolateBlock(UpsampleBlock):
    """Upsample's checks, plus align_corners where the mode interpolates."""

    type_name = "Interpolate"
    category = "Tensor"
    module = f"{_LAYERS}.Interpolate"
    doc = ("Resize to `size` or by `scale_factor` with `mode`, as "
           "torch.nn.functional.interpolate does: [N, C, H, W] to [N, C, 2H, 2W].")
    params = {
        **UpsampleBlock.params,
        "align_corners": Bool(False, "Align the corner pixels of input and output (linear, "
                              "bilinear, bicubic and trilinear only)."),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        super().check(params, inputs)
        if params["align_corners"] and params["mode"] not in _ALIGNING:
            raise BlockCheckError(f"align_corners works only with the modes "
                                  f"{', '.join(_ALIGNING)}: turn it off for {params['mode']}")

    def resolve(self, params: dict[str, Any], base_dir: Any) -> dict[str, Any]:
        """torch refuses any align_corners, even False, for nearest: leave it unset then."""
        params = super().resolve(params, base_dir)
        if params["mode"] not in _ALIGNING and not params["align_corners"]:
            return {**params, "align_corners": None}
        return params


@register
class ParameterBlock(Block):
    type_name = "Parameter"
    category = "Tensor"
    module = f"{_LAYERS}.LearnedTensor"
    doc = ("A learned tensor of `shape`, one copy per sample: [N, *shape]. The input gives only "
           "the batch size. Add it to [N, L, E] as a position embedding (shape [L, E]) or "
           "Concat it along dim 0 as a class token (shape [1, E]).")
    inputs = (Port("in", dtype="any", layout="any tensor, of which only the batch size is used"),)
    params = {
        "shape": Shape((1, 64), "The learned tensor's shape, without the batch: [L, E] for a "
                       "position embedding, [1, E] for a class token."),
        "init": Choice("normal", "Initial values: normal (std 0.02, as ViT), zeros or ones.",
                       choices=("normal", "zeros", "ones")),
    }
