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
