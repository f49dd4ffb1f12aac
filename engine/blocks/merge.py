"""Merges: join branches. Inputs arrive in edge order."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Int
from .base import Block, BlockCheckError, Port, TensorSpec, register


def _need_two(inputs: Sequence[TensorSpec], what: str) -> None:
    if len(inputs) < 2:
        raise BlockCheckError(f"needs two or more inputs to {what}: wire another branch into it")


def _same_dtype(inputs: Sequence[TensorSpec]) -> None:
    dtypes = sorted({spec.dtype for spec in inputs})
    if len(dtypes) > 1:
        raise BlockCheckError(f"inputs mix dtypes {' and '.join(dtypes)}: merge tensors of one "
                              "kind (insert Embedding before the token ids)")


@register
class AddBlock(Block):
    type_name = "Add"
    category = "Merge"
    module = "torchloom.engine.layers.Add"
    doc = "Sum of its inputs, which must have equal shapes: a residual connection."
    inputs = (Port("in", variadic=True, dtype="any", doc="Two or more equally shaped tensors."),)

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        _need_two(inputs, "add")
        _same_dtype(inputs)
        first = inputs[0]
        for other in inputs[1:]:
            if other.shape != first.shape:
                raise BlockCheckError(
                    f"inputs {first.show()} and {other.show()} differ: Add needs equal shapes;"
                    " match them (e.g. a 1x1 Conv2d or Linear on one branch) or use Concat")


@register
class ConcatBlock(Block):
    type_name = "Concat"
    category = "Merge"
    module = "torchloom.engine.layers.Concat"
    doc = ("Join its inputs along `dim`, counted without the batch (0 is channels); all other "
           "sizes must match.")
    inputs = (Port("in", variadic=True, dtype="any", doc="Two or more tensors."),)
    params = {"dim": Int(0, "Dimension to join along, without the batch: 0 is channels, -1 the "
                         "last.", min=-8, max=7)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        _need_two(inputs, "concatenate")
        _same_dtype(inputs)
        rank = len(inputs[0].shape)
        dim = params["dim"]
        if not -rank <= dim < rank:
            raise BlockCheckError(f"dim={dim} does not exist in {inputs[0].show()}: use 0 to "
                                  f"{rank - 1} (0 is the first dimension after the batch)")
        axis = dim % rank
        for other in inputs[1:]:
            a = inputs[0].shape[:axis] + inputs[0].shape[axis + 1:]
            b = other.shape[:axis] + other.shape[axis + 1:]
            if len(other.shape) != rank or a != b:
                raise BlockCheckError(
                    f"inputs {inputs[0].show()} and {other.show()} differ outside dim={dim}: "
                    "every size but the joined one must match")


def _broadcast(inputs: Sequence[TensorSpec], what: str) -> tuple[int, ...]:
    """The shape the inputs broadcast to, counting dimensions after the batch.

    Ranks must be equal: torch would line a lower-rank input up from the right, against
    the batch, and mix samples without a word.
    """
    shape = inputs[0].shape
    for other in inputs[1:]:
        so_far = TensorSpec(shape, inputs[0].dtype).show()
        if len(other.shape) != len(shape):
            raise BlockCheckError(
                f"inputs {so_far} and {other.show()} have different numbers of dimensions: "
                f"{what} pairs them dimension by dimension after the batch; give both the same "
                "rank (e.g. Reshape a per-channel gate to [C, 1, 1])")
        for i, (a, b) in enumerate(zip(shape, other.shape)):
            if a != b and 1 not in (a, b):
                raise BlockCheckError(
                    f"inputs {so_far} and {other.show()} do not broadcast: dimension {i} (after "
                    f"the batch) is {a} in one and {b} in the other; sizes must be equal, or 1 "
                    "in one of them to repeat it")
        shape = tuple(max(a, b) for a, b in zip(shape, other.shape))
    return shape


@register
class MultiplyBlock(Block):
    type_name = "Multiply"
    category = "Merge"
    module = "torchloom.engine.layers.Multiply"
    doc = ("Element-wise product of its inputs; a size of 1 repeats, so [N, C, H, W] times a "
           "[N, C, 1, 1] gate scales each channel (squeeze-and-excitation).")
    inputs = (Port("in", variadic=True, dtype="any",
                   doc="Two or more tensors of one rank whose sizes are equal or 1."),)

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        _need_two(inputs, "multiply")
        _same_dtype(inputs)
        _broadcast(inputs, "Multiply")


@register
class SubtractBlock(Block):
    type_name = "Subtract"
    category = "Merge"
    module = "torchloom.engine.layers.Subtract"
    doc = "`input` minus `other`, element-wise; a size of 1 in either repeats."
    inputs = (Port("input", dtype="any", doc="The tensor subtracted from."),
              Port("other", dtype="any", doc="The tensor subtracted; same rank, sizes equal "
                   "or 1."))

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        _same_dtype(inputs)
        _broadcast(inputs, "Subtract")


_MATRICES = (3, 4, 5, 6)


@register
class MatMulBlock(Block):
    type_name = "MatMul"
    category = "Merge"
    module = "torchloom.engine.layers.MatMul"
    doc = ("Matrix product of each sample's last two dimensions: [N, A, B] by [N, B, C] is "
           "[N, A, C] (attention scores from queries and transposed keys).")
    inputs = (Port("input", ranks=_MATRICES, layout="[N, ..., A, B]", doc="The left matrices."),
              Port("other", ranks=_MATRICES, layout="[N, ..., B, C]",
                   doc="The right matrices; the same rank as input."))

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        left, right = inputs
        if len(left.shape) != len(right.shape):
            raise BlockCheckError(
                f"input {left.show()} and other {right.show()} have different numbers of "
                "dimensions: give both the same rank (Reshape or Unflatten one of them)")
        if left.shape[-1] != right.shape[-2]:
            raise BlockCheckError(
                f"MatMul multiplies [N, ..., A, B] by [N, ..., B, C], but input {left.show()} "
                f"ends in {left.shape[-1]} and other {right.show()} has {right.shape[-2]} "
                "second to last: make them equal, e.g. a Transpose with dim0=-2, dim1=-1 on "
                "other")
        lead = [TensorSpec(s.shape[:-2], s.dtype) for s in inputs]
        if lead[0].shape:
            try:
                _broadcast(lead, "MatMul")
            except BlockCheckError:
                raise BlockCheckError(
                    f"input {left.show()} and other {right.show()} differ before their last "
                    "two dimensions: those sizes must be equal, or 1 to repeat") from None
