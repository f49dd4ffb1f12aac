"""Typed errors of units: a selection that cannot become a unit, and problems found inside
a unit's graph (reported on the unit node, naming the inner node)."""

from __future__ import annotations

from ..errors import GraphError, ShapeError


class UnitError(GraphError):
    """A unit cannot be made, opened or used as asked: an empty selection, a selection with
    an Input, two outputs leaving it, an unknown unit name, a unit that contains itself."""


class UnitInnerError(ShapeError):
    """A problem inside a unit, attached to the unit node on the outer graph.

    `unit` is the unit's name, `inner_node` the id of the node inside it (None for a problem
    of the unit's graph as a whole), `copy` the 1-based copy of a repeated unit, and `inner`
    the original error as the inner graph reported it.
    """

    def __init__(self, message: str, *, node: str, block_type: str, unit: str,
                 inner_node: str | None, copy: int, inner: GraphError | None = None) -> None:
        super().__init__(message, node=node, block_type=block_type)
        self.unit = unit
        self.inner_node = inner_node
        self.copy = copy
        self.inner = inner

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update({"unit": self.unit, "inner_node": self.inner_node, "copy": self.copy})
        return out
