"""Parameters that name sizes and dimensions of a sample: a reshape target, dims counted
without the batch, and the pieces a tensor is cut into.

They are re-exported by `engine.params`, which blocks import every parameter type from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .params import Param, is_int

#: The most pieces one Split or Chunk may give: each is a port on the canvas.
MAX_PIECES = 32


@dataclass(frozen=True)
class ReshapeShape(Param):
    """A shape to reshape into, without the batch dimension, where one size may be -1.

    `Shape` takes only sizes >= 1; a reshape target needs torch's "-1: whatever is left"
    so a person need not work out that size by hand.
    """

    max_dims: int = 6
    max_size: int = 1 << 24
    kind: str = field(default="reshape_shape", init=False)

    def check(self, value: Any) -> tuple[int, ...]:
        if is_int(value):  # what the inspector makes of a typed "-1"
            value = [value]
        if (isinstance(value, (list, tuple)) and 1 <= len(value) <= self.max_dims
                and all(is_int(v) and (v == -1 or 1 <= v <= self.max_size) for v in value)
                and sum(v == -1 for v in value) <= 1):
            return tuple(int(v) for v in value)
        raise self.fail(value)

    def expects(self) -> str:
        return (f"a list of 1 to {self.max_dims} integers between 1 and {self.max_size}, one "
                "of which may be -1 for the size that is left, without the batch dimension "
                "(one integer alone is a list of one)")

    def _schema_extra(self) -> dict[str, Any]:
        return {"max_dims": self.max_dims}


@dataclass(frozen=True)
class Dims(Param):
    """Dimensions of a tensor, counted without the batch (0 is the first after it).

    One integer (where `single`) or a list of distinct ones; negative ones count from the
    end unless `negative` is False. Whether they exist is the block's check: only it knows
    the input's rank.
    """

    single: bool = True
    negative: bool = True
    max_dims: int = 8
    kind: str = field(default="dims", init=False)

    def check(self, value: Any) -> int | tuple[int, ...]:
        low = -self.max_dims if self.negative else 0

        def fits(v: Any) -> bool:
            return is_int(v) and low <= v < self.max_dims

        if self.single and fits(value):
            return int(value)
        if (isinstance(value, (list, tuple)) and 1 <= len(value) <= self.max_dims
                and all(fits(v) for v in value) and len(set(value)) == len(value)):
            return tuple(int(v) for v in value)
        raise self.fail(value)

    def expects(self) -> str:
        low = -self.max_dims if self.negative else 0
        each = f"integers from {low} to {self.max_dims - 1}"
        text = (f"an integer from {low} to {self.max_dims - 1} or a list of distinct such "
                "integers") if self.single else f"a list of distinct {each}"
        return text + ", counted without the batch (0 is the first dimension after it)"

    def _schema_extra(self) -> dict[str, Any]:
        return {"single": self.single, "negative": self.negative, "max_dims": self.max_dims}


@dataclass(frozen=True)
class Pieces(Param):
    """How to cut a dimension, as torch.split's `split_size_or_sections` takes it: one size
    (every piece that long, the last one shorter if the size does not divide) or a list of
    section sizes, one per piece. Whether they fit the input is the block's check."""

    max_pieces: int = MAX_PIECES
    max_size: int = 1 << 24
    kind: str = field(default="pieces", init=False)

    def check(self, value: Any) -> int | tuple[int, ...]:
        def fits(v: Any) -> bool:
            return is_int(v) and 1 <= v <= self.max_size

        if fits(value):
            return int(value)
        if (isinstance(value, (list, tuple)) and 1 <= len(value) <= self.max_pieces
                and all(fits(v) for v in value)):
            return tuple(int(v) for v in value)
        raise self.fail(value)

    def expects(self) -> str:
        return (f"an integer between 1 and {self.max_size} (the size of each piece) or a list "
                f"of 1 to {self.max_pieces} such integers (the size of each piece in turn)")

    def _schema_extra(self) -> dict[str, Any]:
        return {"max_pieces": self.max_pieces}
