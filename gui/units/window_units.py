"""Units from the main window: group (Ctrl+G), ungroup (Ctrl+Shift+G), open a unit in a
breadcrumb view and come back, and the canvas context menu. A mixin over the window.

The window keeps one outer `Document` (the project: save, train, export). Opening a unit
puts a second canvas in front, over a `UnitDocument` for the unit's graph; `self.scene`,
`self.view` and `edit_doc` follow the canvas in front, so every edit action (add, paste,
delete, layout) works inside a unit as it does outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QInputDialog, QMenu, QVBoxLayout, QWidget

from torchloom.engine.errors import TorchloomError

from ..canvas.scene import CanvasScene
from ..canvas.view import CanvasView
from .breadcrumb import Breadcrumb
from .commands import UnitsCommand, capture
from .library import LibraryActions
from .unit_document import UnitDocument

ROOT_NAME = "Model"


@dataclass
class OpenUnit:
    doc: UnitDocument
    scene: CanvasScene
    view: CanvasView
    holder: QWidget


def unit_of(node: Any) -> str | None:
    from torchloom.engine.units.model import unit_name

    return unit_name(node.type)


class UnitActions(LibraryActions):
    """Needs `document`, `scene`, `view`, `stack`, `inspector`, `flash`, `_action`."""

    def _build_units(self) -> None:
        a = self._action  # type: ignore[attr-defined]
        self.open_units: list[OpenUnit] = []
        self._root: tuple[Any, Any, Any] | None = None
        self.act_group = a("group", self.group_selection)
        self.act_ungroup = a("ungroup", self.ungroup_selection)
        self.act_open_unit = a("open_unit", self.open_selected_unit)
        self.act_unit_up = a("unit_up", self.unit_up)
        self.act_save_unit = a("save_unit", self.save_unit_to_library)
        edit = next((act.menu() for act in self.menuBar().actions()  # type: ignore[attr-defined]
                     if act.text() == "&Edit"), None)
        if edit is not None:
            edit.addSeparator()
            for act in (self.act_group, self.act_ungroup, self.act_open_unit, self.act_unit_up,
                        self.act_save_unit):
                edit.addAction(act)
        self._units_enabled()
        self.palette.library_remove_requested.connect(  # type: ignore[attr-defined]
            self.remove_from_library)
        self.problems.unit_problem_activated.connect(  # type: ignore[attr-defined]
            self.show_unit_problem)
        self.refresh_library()

    @property
    def edit_doc(self) -> Any:
        """The document of the canvas in front: an opened unit's, else the project's."""
        return self.open_units[-1].doc if self.open_units else self.document  # type: ignore

    # ---- wiring a canvas ---------------------------------------------------------------

    def _units_document(self) -> None:
        """After `set_document`: the new root canvas gets the unit gestures."""
        self.open_units = []
        self._root = None
        gan = getattr(self, "gan_canvas", None)
        if gan is not None:  # a GAN: both graphs' canvases
            for key, scene in gan.scenes.items():
                self._wire_canvas(scene, gan.views[key])
        elif self.scene is not None:  # type: ignore[attr-defined]
            self._wire_canvas(self.scene, self.view)  # type: ignore[attr-defined]
        self._units_enabled()
        self.refresh_library()

    def _wire_canvas(self, scene: CanvasScene, view: CanvasView) -> None:
        scene.node_double_clicked.connect(self.open_unit)
        scene.node_selection_changed.connect(lambda _ids: self._units_enabled())
        view.context_menu_requested.connect(self.canvas_menu)

    def _leave_units(self) -> None:
        """Before another project replaces this one: close every opened unit."""
        while self.open_units:
            self._pop_unit()

    # ---- enabling ----------------------------------------------------------------------

    def _selected_unit_node(self) -> str | None:
        scene = self.scene  # type: ignore[attr-defined]
        if scene is None:
            return None
        ids = scene.selected_node_ids()
        doc = self.edit_doc
        if len(ids) == 1 and ids[0] in doc.graph and unit_of(doc.graph.node(ids[0])):
            return ids[0]
        return None

    def _units_enabled(self) -> None:
        has = self.document is not None  # type: ignore[attr-defined]
        selected = self.scene.selected_node_ids() if has and self.scene else []  # type: ignore
        unit = self._selected_unit_node() if has else None
        self.act_group.setEnabled(has and bool(selected))
        self.act_ungroup.setEnabled(unit is not None)
        self.act_open_unit.setEnabled(unit is not None)
        self.act_save_unit.setEnabled(unit is not None or bool(self.open_units))
        self.act_unit_up.setEnabled(bool(self.open_units))

    # ---- group and ungroup -------------------------------------------------------------

    def ask_unit_name(self, default: str) -> str | None:
        """The name for a new unit (tests replace this); None: cancelled."""
        dialog = unit_name_dialog(self, default)  # type: ignore[arg-type]
        self._name_dialog = dialog
        if not dialog.exec():
            return None
        return dialog.textValue().strip() or None

    def group_selection(self) -> str | None:
        """Ctrl+G: the selection becomes one unit node; returns its id (None: refused)."""
        from torchloom.engine.units.edit import group, plan_group

        doc = self.edit_doc
        if doc is None or self.scene is None:  # type: ignore[attr-defined]
            return None
        if doc.locked:
            self.flash(doc.locked)  # type: ignore[attr-defined]
            return None
        ids = self.scene.selected_node_ids()  # type: ignore[attr-defined]
        graph, project = doc.graph, doc.project
        try:
            plan_group(graph, ids)
        except TorchloomError as exc:
            self.flash(f"Cannot group: {exc.message}")  # type: ignore[attr-defined]
            return None
        name = self.ask_unit_name(default_unit_name(project.units, graph, ids))
        if name is None:
            return None
        try:
            result = group(project, ids, name, graph=graph, analysis=doc.analysis)
        except TorchloomError as exc:
            self.flash(f"Cannot group: {exc.message}")  # type: ignore[attr-defined]
            return None
        change = capture(graph, [n.id for n, _e, _i in result._removed], [result.node_id],
                         [result.unit], [])
        self.document.undo_stack.push(UnitsCommand(  # type: ignore[attr-defined]
            self.document, graph, result, change,  # type: ignore[attr-defined]
            f"Group {len(ids)} blocks into {name}", self._units_changed))
        self.document._refresh.start()  # type: ignore[attr-defined]
        self._units_changed()
        self.scene.select_nodes([result.node_id])  # type: ignore[attr-defined]
        self.flash(f"Grouped {len(ids)} blocks into the unit {name}: double-click it to "  # type: ignore[attr-defined]
                   "open it, Ctrl+Shift+G to ungroup")
        return result.node_id

    def ungroup_selection(self, node_id: str | None = None) -> list[str]:
        """Ctrl+Shift+G: a unit node's blocks come back in its place."""
        from torchloom.engine.units.edit import ungroup

        doc = self.edit_doc
        node_id = node_id or self._selected_unit_node()
        if doc is None or node_id is None:
            self.flash("Select one unit node to ungroup")  # type: ignore[attr-defined]
            return []
        if doc.locked:
            self.flash(doc.locked)  # type: ignore[attr-defined]
            return []
        graph = doc.graph
        name = unit_of(graph.node(node_id))
        try:
            result = ungroup(doc.project, node_id, graph=graph)
        except TorchloomError as exc:
            self.flash(f"Cannot ungroup: {exc.message}")  # type: ignore[attr-defined]
            return []
        change = capture(graph, [node_id], result.node_ids, [],
                         [name] if result._dropped is not None else [])
        self.document.undo_stack.push(UnitsCommand(  # type: ignore[attr-defined]
            self.document, graph, result, change, f"Ungroup {node_id}",  # type: ignore
            self._units_changed))
        self.document._refresh.start()  # type: ignore[attr-defined]
        self._units_changed()
        if self.scene is not None:  # type: ignore[attr-defined]
            self.scene.select_nodes(result.node_ids)  # type: ignore[attr-defined]
        return list(result.node_ids)

    def _units_changed(self) -> None:
        """A definition came or went (group, ungroup, their undo): an opened unit whose
        definition is gone closes, and the palette's unit list follows."""
        while self.open_units and not self.open_units[-1].doc.alive:
            self._pop_unit()
        self._breadcrumb_update()
        self._units_enabled()
        refresh = getattr(self, "refresh_library", None)
        if refresh is not None:
            refresh()

    # ---- opening a unit ----------------------------------------------------------------

    def open_selected_unit(self) -> bool:
        node_id = self._selected_unit_node()
        return self.open_unit(node_id) if node_id else False

    def open_unit(self, node_id: str) -> bool:
        """Double-click on a unit node: its graph in front, with a breadcrumb back."""
        parent = self.edit_doc
        if parent is None or node_id not in parent.graph:
            return False
        name = unit_of(parent.graph.node(node_id))
        if name is None or parent.project.units.get(name) is None:
            return False
        if self._root is None:
            self._root = (self.scene, self.view,  # type: ignore[attr-defined]
                          self.stack.currentWidget())  # type: ignore[attr-defined]
        doc = UnitDocument(self.document, name, node_id, parent)  # type: ignore[arg-type]
        scene = CanvasScene(doc)
        holder = QWidget(self)  # type: ignore[arg-type]
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        crumb = Breadcrumb(self.unit_up_to, holder)
        layout.addWidget(crumb)
        view = CanvasView(scene, holder)
        view.on_back = self.unit_up
        layout.addWidget(view, 1)
        holder.crumb = crumb  # type: ignore[attr-defined]
        view.add_block_requested.connect(self.add_block)  # type: ignore[attr-defined]
        view.add_next_requested.connect(self.add_next)  # type: ignore[attr-defined]
        scene.node_selection_changed.connect(self.inspector.show_nodes)  # type: ignore
        doc.message.connect(self.flash)  # type: ignore[attr-defined]
        self._wire_canvas(scene, view)
        scene.set_read_only(bool(self.document.locked))  # type: ignore[attr-defined]
        self.open_units.append(OpenUnit(doc, scene, view, holder))
        self.stack.addWidget(holder)  # type: ignore[attr-defined]
        self.stack.setCurrentWidget(holder)  # type: ignore[attr-defined]
        self.scene, self.view = scene, view  # type: ignore[attr-defined]
        self.inspector.set_document(doc)  # type: ignore[attr-defined]
        self._breadcrumb_update()
        self._units_enabled()
        view.fit()
        view.setFocus()
        return True

    def unit_path(self) -> list[str]:
        from ..document import GRAPH_LABELS

        doc = self.document  # type: ignore[attr-defined]
        root = GRAPH_LABELS.get(getattr(doc, "active", "graph"), ROOT_NAME) if doc else ROOT_NAME
        return [root] + [u.doc.unit_name for u in self.open_units]

    def _breadcrumb_update(self) -> None:
        names = self.unit_path()
        for depth, unit in enumerate(self.open_units):
            unit.holder.crumb.set_path(names[:depth + 2])  # type: ignore[attr-defined]

    def unit_up(self) -> bool:
        """Backspace, Esc, Alt+Up: back to the graph holding this unit."""
        if not self.open_units:
            return False
        self._pop_unit()
        self._units_enabled()
        return True

    def unit_up_to(self, depth: int) -> None:
        """A breadcrumb click: `depth` 0 is the model."""
        while len(self.open_units) > depth:
            self._pop_unit()
        self._units_enabled()

    def _pop_unit(self) -> None:
        top = self.open_units.pop()
        top.doc.close()
        self.stack.removeWidget(top.holder)  # type: ignore[attr-defined]
        top.holder.hide()
        top.holder.deleteLater()
        if self.open_units:
            below = self.open_units[-1]
            scene, view, doc, widget = below.scene, below.view, below.doc, below.holder
        else:
            assert self._root is not None
            (scene, view, widget), doc = self._root, self.document  # type: ignore[attr-defined]
            self._root = None
        self.scene, self.view = scene, view  # type: ignore[attr-defined]
        if widget is not None:
            self.stack.setCurrentWidget(widget)  # type: ignore[attr-defined]
        self.inspector.set_document(doc)  # type: ignore[attr-defined]
        top.doc.deleteLater()  # its parent is the project's document, which lives on
        if view is not None:
            view.setFocus()

    def show_unit_problem(self, problem: Any) -> bool:
        """A problem inside a unit picked in the Problems panel: open the unit (each unit on
        the way, for one nested in another) and select the inner block it names. The view
        shows the copy that failed."""
        self.unit_up_to(0)
        err = problem
        while True:
            doc = self.edit_doc
            if doc is None or err.node not in doc.graph or not self.open_unit(err.node):
                self.focus_node(problem.node)  # type: ignore[attr-defined]
                return False
            inner = getattr(err, "inner", None)
            if inner is None or not getattr(inner, "unit", None) or \
                    not hasattr(inner, "inner_node"):
                break
            err = inner
        target = err.inner_node
        if target and self.scene is not None and target in self.scene.node_items:  # type: ignore
            self.scene.select_nodes([target])  # type: ignore[attr-defined]
            self.view.center_on_node(target)  # type: ignore[attr-defined]
        return True

    # ---- the canvas context menu -------------------------------------------------------

    def canvas_menu(self, global_pos: QPoint, scene_pos: QPointF) -> QMenu:
        """Right-click: the unit actions first (for what is under the cursor), then the
        clipboard ones. Returned so tests can read it; shown with `popup`."""
        scene = self.scene  # type: ignore[attr-defined]
        item = scene.node_item_at(scene_pos) if scene is not None else None
        if item is not None and not item.isSelected():
            scene.select_nodes([item.node.id])
        menu = QMenu(self)  # type: ignore[arg-type]
        for act in (self.act_group, self.act_ungroup, self.act_open_unit, self.act_save_unit):
            menu.addAction(act)
        if self.open_units:
            menu.addAction(self.act_unit_up)
        menu.addSeparator()
        for name in ("act_cut", "act_copy", "act_paste", "act_duplicate", "act_delete"):
            act = getattr(self, name, None)
            if act is not None:
                menu.addAction(act)
        self._units_enabled()
        self._canvas_menu = menu
        if not getattr(self, "_menu_quiet", False):
            menu.popup(global_pos)
        return menu


def default_unit_name(units: Any, graph: Any, ids: list[str]) -> str:
    """A name from what is selected (Conv2d + BatchNorm2d + ReLU → "ConvBlock", attention →
    "AttentionBlock"), made unique; "Unit" when nothing stands out."""
    types = [graph.node(i).type for i in ids if i in graph]
    base = "Unit"
    if any(t == "MultiheadAttention" or "Attention" in t for t in types):
        base = "AttentionBlock"
    elif any(t.startswith("Conv") for t in types):
        base = "ConvBlock" if "Add" not in types else "ResBlock"
    elif any(t.startswith("unit:") for t in types):
        base = "Stage"
    elif types and all(t in ("Linear", "ReLU", "GELU", "Dropout", "LayerNorm") for t in types):
        base = "MLP"
    return units.free_name(base)


def unit_name_dialog(parent: QWidget, default: str) -> QInputDialog:
    dialog = QInputDialog(parent)
    dialog.setWindowTitle("Group into unit")
    dialog.setLabelText("Name the unit (it becomes a Python class name in exports).\n"
                        "The selected blocks become one node; double-click it to open it.")
    dialog.setTextValue(default)
    dialog.setOkButtonText("Group")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.resize(420, dialog.sizeHint().height())
    return dialog
