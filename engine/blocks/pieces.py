"""Blocks with several outputs: cut a tensor into pieces, one output port per piece.

Ports are named ``out0``, ``out1``, ... in the order torch returns the pieces, and every
edge from one of them names it (``from_port`` in the project file). Dims are counted
without the batch, as Concat counts them, so no setting can cut the batch by mistake.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..params import MAX_PIECES, Int, Pieces
from .base import Block, BlockCheckError, OutputPort, Port, TensorSpec, register
from .tensor import axis_of

_LAYERS = "torchloom.engine.layers"
_DIM = Int(0, "The dimension to cut, without the batch: 0 is the first after it (channels), "
           "-1 the last.", min=-8, max=7)
_PORTS_DOC = ("one per piece, `out0`, `out1`, ... in order; every wire from it names its "
              "piece")


def piece_ports(count: int) -> list[OutputPort]:
    """The output ports of a block that gives `count` pieces."""
    return [OutputPort(f"out{i}", f"piece {i + 1} of {count}") for i in range(count)]


def _size_along(params: dict[str, Any], inputs: Sequence[TensorSpec] | None) -> int | None:
    """The size of the cut dimension, or None while the input is unknown or lacks it."""
    if not inputs:
        return None
    try:
        return inputs[0].shape[axis_of(params["dim"], inputs[0])]
    except BlockCheckError:
        return None


@register
class SplitBlock(Block):
    type_name = "Split"
    category = "Tensor"
    module = f"{_LAYERS}.Split"
    doc = ("Cut each sample along `dim` (without the batch) into pieces, as torch.split: "
           "split_size_or_sections 2 turns [N, 6, L] into three [N, 2, L]; [2, 4] into "
           "[N, 2, L] and [N, 4, L]. One output port per piece.")
    inputs = (Port("in", dtype="any", layout="[N, ...]"),)
    outputs_doc = _PORTS_DOC
    params = {
        "split_size_or_sections": Pieces(1, "One size (every piece that long, the last one "
                                         "shorter if it does not divide) or a list of the "
                                         "sizes of the pieces, which add up to the dimension."),
        "dim": _DIM,
    }

    def output_ports(self, params: dict[str, Any],
                     inputs: Sequence[TensorSpec] | None = None) -> list[OutputPort]:
        """A list of sections gives one piece each; one size gives as many as fit the input
        (one port while the input is not known)."""
        pieces = params["split_size_or_sections"]
        if isinstance(pieces, (tuple, list)):
            return piece_ports(len(pieces))
        size = _size_along(params, inputs)
        return piece_ports(max(1, math.ceil(size / pieces)) if size else 1)

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        spec, pieces = inputs[0], params["split_size_or_sections"]
        axis = axis_of(params["dim"], spec)
        size = spec.shape[axis]
        if isinstance(pieces, (tuple, list)) and sum(pieces) != size:
            raise BlockCheckError(
                f"split_size_or_sections {list(pieces)} adds up to {sum(pieces)} but dimension "
                f"{axis} of {spec.show()} has size {size}: make the sections add up to {size}")
        if isinstance(pieces, int) and math.ceil(size / pieces) > MAX_PIECES:
            raise BlockCheckError(
                f"split_size_or_sections {pieces} cuts dimension {axis} of {spec.show()} into "
                f"{math.ceil(size / pieces)} pieces, more than the {MAX_PIECES} outputs a block "
                f"may have: use a size of at least {math.ceil(size / MAX_PIECES)}")


@register
class ChunkBlock(Block):
    type_name = "Chunk"
    category = "Tensor"
    module = f"{_LAYERS}.Chunk"
    doc = ("Cut each sample along `dim` (without the batch) into `chunks` equal pieces, as "
           "torch.chunk: chunks 3 turns [N, 6, L] into three [N, 2, L]. One output port per "
           "piece.")
    inputs = (Port("in", dtype="any", layout="[N, ...]"),)
    outputs_doc = _PORTS_DOC
    params = {
        "chunks": Int(2, "How many pieces; the last one is smaller when the size does not "
                      "divide.", min=1, max=MAX_PIECES),
        "dim": _DIM,
    }

    def output_ports(self, params: dict[str, Any],
                     inputs: Sequence[TensorSpec] | None = None) -> list[OutputPort]:
        return piece_ports(params["chunks"])

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        """torch.chunk quietly gives fewer pieces than asked when pieces of the rounded-up
        size use the dimension up early (6 in 4 chunks is 3 pieces of 2): say so, since a
        port would carry nothing."""
        spec, chunks = inputs[0], params["chunks"]
        axis = axis_of(params["dim"], spec)
        size = spec.shape[axis]
        each = math.ceil(size / chunks)
        given = math.ceil(size / each) if size else 0
        if given != chunks:
            raise BlockCheckError(
                f"torch.chunk cuts dimension {axis} of {spec.show()} (size {size}) into "
                f"{given} pieces of {each}, not {chunks}: choose chunks={given}, or a number "
                f"that divides {size}")
