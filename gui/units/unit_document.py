"""A unit opened on the canvas: its inner graph as a document the canvas and inspector edit.

It is not a second project. It edits the unit definition's graph in place, through the
outer document's undo stack (so Ctrl+Z works the same inside and outside), and every edit
makes the outer document infer again: each node of that unit changes with its definition.
Shapes inside come from the unit node it was opened from (its first copy), so the inner
blocks show the sizes they really get.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QTimer

from torchloom.engine.edits import Op, apply_all
from torchloom.engine.errors import TorchloomError
from torchloom.engine.events import Event

from ..commands import OpsCommand
from ..document import Document


class UnitOpsCommand(OpsCommand):
    """An edit inside a unit: undoing it, even from the outer view, re-infers the model."""

    def __init__(self, outer: Document, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.outer = outer

    def redo(self) -> None:
        super().redo()
        self.outer._refresh.start()

    def undo(self) -> None:
        super().undo()
        self.outer._refresh.start()


class UnitDocument(Document):
    """The inner graph of unit `name`, opened from the outer node `node_id` (None: from the
    library or a path where no node feeds it; then the inner Input nodes' own shapes count)."""

    def __init__(self, outer: Document, name: str, node_id: str | None,
                 parent_doc: Document | None = None) -> None:
        QObject.__init__(self, outer)
        self.outer = outer
        self.parent_doc = parent_doc or outer  # the document the unit node lives in
        self.unit_name = name
        self.node_id = node_id
        self.project = outer.project
        self.loader = outer.loader
        self._analysis: Any = None
        self.analyses: dict[str, Any] = {}
        self.gan_analysis: Any = None
        self.active = "graph"
        self.undo_stack = outer.undo_stack
        self._dirty_without_undo = False
        self._waiting_for_engine = False
        self._graph = self.defn.graph
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self.refresh)
        self._graph.events.any.connect(self._on_event)
        self.parent_doc.analysis_changed.connect(self._refresh.start)
        outer.lock_changed.connect(self.lock_changed)
        self.refresh()

    # ---- what it shows ---------------------------------------------------------------

    @property
    def defn(self) -> Any:
        units = self.project.units
        defn = units.get(self.unit_name) if units is not None else None
        if defn is None:
            raise KeyError(self.unit_name)
        return defn

    @property
    def alive(self) -> bool:
        """False once the definition is gone or replaced (an undo of the grouping)."""
        units = self.project.units
        return units is not None and units.get(self.unit_name) is not None and \
            units.get(self.unit_name).graph is self._graph

    @property
    def graph(self) -> Any:  # type: ignore[override]
        return self._graph

    def graphs(self) -> dict[str, Any]:
        return {"graph": self._graph}

    @property
    def task(self) -> Any:
        """A unit is edited as one graph, whatever the project's task."""
        from torchloom.engine.tasks import task_class

        return task_class("classify")

    @property
    def analysis(self) -> Any:
        return self._analysis

    @analysis.setter
    def analysis(self, value: Any) -> None:
        self._analysis = value

    @property
    def locked(self) -> str | None:  # type: ignore[override]
        return self.outer.locked

    @locked.setter
    def locked(self, value: str | None) -> None:
        pass  # the outer document decides (training locks both)

    @property
    def dirty(self) -> bool:
        return self.outer.dirty

    @property
    def path(self) -> Any:
        return self.outer.path

    @property
    def display_name(self) -> str:
        return self.outer.display_name

    def promoted_targets(self) -> dict[tuple[str, str], tuple[str, Any, str]]:
        """(inner node, parameter) → (the unit parameter that sets it, its value on the node
        this unit was opened from, " on <node>"). The inspector shows those read-only:
        editing them inside would change nothing."""
        values: dict[str, Any] = {}
        where = ""
        parent = self.parent_doc.graph
        if self.node_id is not None and self.node_id in parent:
            values = parent.node(self.node_id).resolved_params()
            where = f" on {self.node_id}"
        return {(t.node, t.param): (pname, values.get(pname), where)
                for pname, promoted in self.defn.params.items() for t in promoted.targets}

    def param_tool(self, node_id: str, param: str, parent: Any = None) -> Any:
        """The inspector's "⋯" beside an inner parameter: promote, link, un-promote
        (gui.units.promote); None where nothing applies (a unit input's shape)."""
        from .promote import param_button

        return param_button(self, node_id, param, parent)

    def close(self) -> None:
        self._graph.events.any.disconnect(self._on_event)
        try:
            self.parent_doc.analysis_changed.disconnect(self._refresh.start)
            self.outer.lock_changed.disconnect(self.lock_changed)
        except (RuntimeError, TypeError):  # pragma: no cover - already gone
            pass
        self._refresh.stop()

    # ---- edits -----------------------------------------------------------------------

    def edit(self, ops: list[Op], text: str, merge_key: str | None = None,
             key: str | None = None) -> bool:
        if not ops:
            return False
        if self.locked:
            self.message.emit(self.locked)
            return False
        try:
            inverses = apply_all(self.graph, ops)
        except TorchloomError as exc:
            self.message.emit(str(exc))
            return False
        self.undo_stack.push(UnitOpsCommand(self.outer, self.graph, ops, inverses,
                                            f"{text} in {self.unit_name}",
                                            f"{self.unit_name}:{merge_key}" if merge_key
                                            else None))
        return True

    def _on_event(self, event: Event) -> None:
        self.graph_event.emit(event)
        if event.kind != "node_moved":
            self.outer._refresh.start()  # the outer refresh brings this one's

    def refresh(self) -> None:
        """Inner shapes: the first copy's analysis of the unit node this was opened from."""
        if not self.loader.is_ready or not self.alive:
            return
        self._refresh.stop()
        self.analysis = inner_analysis(self.parent_doc, self.unit_name, self.node_id,
                                       self.loader)
        self.analysis_changed.emit()

    def save(self, path: Any = None) -> Any:
        return self.outer.save(path)


def inner_analysis(doc: Document, name: str, node_id: str | None, loader: Any) -> Any:
    """The shapes inside unit `name` as node `node_id` of `doc` feeds it (first copy); when
    nothing feeds it (no such node, an upstream error), the inner graph on its own."""
    from torchloom.engine.units.expand import measure_unit

    units = doc.project.units
    defn = units.get(name)
    info = doc.analysis.nodes.get(node_id) if doc.analysis is not None and node_id else None
    if info is not None and info.input_specs and node_id in doc.graph:
        node = doc.graph.node(node_id)
        try:
            params = node.build_params(doc.graph.base_dir)
            measured = measure_unit(units, defn, node_id, params, info.input_specs)
        except TorchloomError:
            measured = None
        if measured is not None and measured.copies:  # the failing copy, else the first
            return without_output_warning(measured.copies[-1 if measured.error else 0])
    if defn.graph.base_dir is None:  # its Code blocks find their files beside the project
        defn.graph.base_dir = doc.graph.base_dir
    return without_output_warning(loader.shapes.infer(defn.graph))


def without_output_warning(analysis: Any) -> Any:
    """A unit's end need not be one vector per sample (that is the model's end): drop the
    classifier-output warning the shape pass gives any graph's last block."""
    from torchloom.engine.errors import OutputShapeWarning

    def keep(problem: Any) -> bool:
        return not isinstance(problem, OutputShapeWarning)

    analysis.problems = [p for p in analysis.problems if keep(p)]
    for info in analysis.nodes.values():
        info.errors = [e for e in info.errors if keep(e)]
    return analysis


def unit_overview(doc: Any) -> str:
    """The inspector's text when nothing is selected inside an opened unit."""
    from .. import theme
    from ..canvas.style import format_count

    muted = theme.current().node_subtext
    defn = doc.defn
    graphs = [*doc.outer.graphs().values(), *(d.graph for d in doc.project.units.defs.values())]
    users = sum(1 for g in graphs
                for n in g.nodes if n.type == f"unit:{doc.unit_name}")
    inner = len(defn.graph) - len(defn.inputs)
    text = f"<h3>Unit {doc.unit_name}</h3><p>{inner} blocks, {len(defn.graph.edges)} wires"
    if doc.analysis is not None:
        text += f", {format_count(doc.analysis.total_params)} parameters per copy"
    text += "</p>"
    ports = ", ".join(p.name for p in defn.inputs)
    text += f"<p>Inputs: {ports} &nbsp;·&nbsp; output: {defn.outputs[0].node}</p>"
    if defn.params:  # promoted: set on each node of the unit
        rows = "<br>".join(f"{pname} → " + ", ".join(f"{t.node}.{t.param}"
                                                   for t in promoted.targets)
                           for pname, promoted in defn.params.items())
        text += f"<p>Unit parameters:<br>{rows}</p>"
    text += (f"<p style='color:{muted}'>Edits here change the unit itself, so every node of "
             f"{doc.unit_name} follows ({users} in this project). The ⋯ beside a "
             "block's parameter promotes it to a parameter of the unit, set per node. "
             "Backspace, Esc or Alt+↑ goes back.</p>")
    return text
