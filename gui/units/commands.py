"""Undo steps that change unit definitions as well as a graph: group, ungroup, import.

The engine's `group`/`ungroup` (`engine.units.edit`) edit the graph and the project's units
and return a result whose `undo()` restores them exactly. Redo must give back the very same
objects (the same `UnitDef`, the same nodes), because later undo steps made inside an opened
unit hold its graph: so after the first run this command records what the edit left behind
(the nodes it added with their wires, at their positions, and the definitions it added or
dropped) and redo replays exactly that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from torchloom.engine.graph import Edge, Graph, Node


@dataclass
class GraphChange:
    """The after-state of an edit, enough to redo it from the before-state."""

    removed: list[str]  # node ids the edit removed (their wires went with them)
    added: list[tuple[int, Node]]  # the nodes it added, with their place in node order
    edges: list[tuple[int, Edge]]  # every wire touching an added node, with its place
    defs_added: list[Any] = field(default_factory=list)  # UnitDefs that appeared
    defs_dropped: list[str] = field(default_factory=list)  # unit names that went away


def capture(graph: Graph, removed: list[str], added_ids: list[str], defs_added: list[Any],
            defs_dropped: list[str]) -> GraphChange:
    added = set(added_ids)
    nodes = [(graph.node_index(n), graph.node(n)) for n in added_ids]
    edges = [(i, e) for i, e in enumerate(graph.edges) if e.src in added or e.dst in added]
    return GraphChange(list(removed), sorted(nodes, key=lambda x: x[0]), edges,
                       list(defs_added), list(defs_dropped))


class UnitsCommand(QUndoCommand):
    """One grouping, ungrouping or import as an undo step; it is already done when pushed."""

    def __init__(self, document: Any, graph: Graph, result: Any, change: GraphChange,
                 text: str, on_change: Callable[[], None] | None = None) -> None:
        super().__init__(text)
        self.document, self.graph = document, graph
        self.result, self.change = result, change
        self.on_change = on_change
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        units, graph, change = self.document.project.units, self.graph, self.change
        for defn in change.defs_added:  # a node's definition exists before the node
            units.add(defn)
        for node_id in change.removed:
            graph.remove_node(node_id)
        for name in change.defs_dropped:
            if name in units:
                units.remove(name)
        for index, node in change.added:
            graph.insert_node(node, index)
        for index, edge in sorted(change.edges, key=lambda item: item[0]):
            graph.insert_edge(edge, index)
        self._changed()

    def undo(self) -> None:
        self.result.undo()
        self._changed()

    def _changed(self) -> None:
        self.document._refresh.start()
        if self.on_change is not None:
            self.on_change()


class AddUnitCommand(QUndoCommand):
    """A library unit dropped on the canvas: the definitions the import added (none when an
    identical unit was already there) and one node. The import is done when pushed."""

    def __init__(self, document: Any, graph: Graph, defs: list[Any], node: Node, text: str,
                 on_change: Callable[[], None] | None = None, wires: list[Any] = ()) -> None:
        super().__init__(text)
        self.document, self.graph, self.defs = document, graph, list(defs)
        self.node, self.on_change, self.wires = node, on_change, list(wires)
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        for defn in self.defs:
            self.document.project.units.add(defn)
        self.graph.insert_node(self.node)
        for edge in self.wires:  # a unit added after a selected block is wired from it
            self.graph.insert_edge(edge)
        self._changed()

    def undo(self) -> None:
        self.graph.remove_node(self.node.id)
        units = self.document.project.units
        for defn in reversed(self.defs):
            if units.get(defn.name) is defn:
                units.remove(defn.name)
        self._changed()

    def _changed(self) -> None:
        self.document._refresh.start()
        if self.on_change is not None:
            self.on_change()
