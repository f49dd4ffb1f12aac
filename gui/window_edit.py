"""Editing from the main window: add, delete, clipboard, duplicate, layout, fixes. Every one
is an engine plan pushed through the document as one undo step. A mixin over the window."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from torchloom.engine.edits import copy_fragment, plan_add, plan_fix, plan_layout, plan_paste

from .canvas.node_item import WIDTH
from .problems import fix_label
from .units.library import LIBRARY_PREFIX


class EditActions:
    """Needs `document`, `scene`, `view`, `inspector` and `flash` from the window."""

    def add_block(self, type_name: str, scene_pos: QPointF) -> str | None:
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is None:
            return None
        if type_name.startswith(LIBRARY_PREFIX):  # from My blocks in the palette
            return self.add_library_unit(type_name[len(LIBRARY_PREFIX):],  # type: ignore
                                         scene_pos)
        node_id = doc.graph.new_id(type_name)
        pos = (round(scene_pos.x() - WIDTH / 2, 1), round(scene_pos.y() - 24, 1))
        if doc.plan_and_edit(lambda: plan_add(doc.graph, type_name, pos, node_id=node_id),
                             f"Add {type_name}"):
            if self.scene is not None:
                self.scene.select_nodes([node_id])
            return node_id
        return None

    def add_block_at_center(self, type_name: str) -> str | None:
        if self.view is None:
            return None
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return self.add_block(type_name, centre)

    def quick_add(self) -> None:
        if self.view is not None:
            self.view.open_quick_add()

    def delete_selection(self) -> None:
        if self.scene is not None:
            self.scene.delete_selection()

    def select_all(self) -> None:
        if self.scene is not None:
            for item in self.scene.node_items.values():
                item.setSelected(True)

    def copy(self) -> bool:
        if self.scene is None or not self.scene.selected_node_ids():
            return False
        fragment = copy_fragment(self.scene.document.graph, self.scene.selected_node_ids())
        # Plain text (the fragment names its own format): a QMimeData made in Python and
        # handed to the clipboard is destroyed by Qt after Python has shut down, which
        # crashes the interpreter at exit.
        QApplication.clipboard().setText(json.dumps(fragment))
        return True

    def cut(self) -> None:
        if self.copy():
            self.delete_selection()

    def paste(self, fragment: dict | None = None, offset=(40.0, 40.0)) -> None:  # type: ignore[type-arg]
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is None:
            return
        if fragment is None:
            raw = QApplication.clipboard().text()
            try:
                fragment = json.loads(raw)
            except ValueError:
                self.flash("The clipboard holds no Torchloom blocks")
                return
        mapping: dict[str, str] = {}

        def plan():  # type: ignore[no-untyped-def]
            ops, found = plan_paste(doc.graph, fragment, offset)
            mapping.update(found)
            return ops

        if doc.plan_and_edit(plan, f"Paste {len(fragment.get('nodes', []))} blocks"
                             if isinstance(fragment, dict) else "Paste"):
            if self.scene is not None:
                self.scene.select_nodes(list(mapping.values()))

    def duplicate(self) -> None:
        if self.scene is None or not self.scene.selected_node_ids():
            return
        self.paste(copy_fragment(self.scene.document.graph, self.scene.selected_node_ids()))

    def auto_layout(self) -> None:
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is not None:
            scene = self.scene  # type: ignore[attr-defined]
            own = scene is not None and scene.document.graph is doc.graph  # a GAN's tab too
            measure = scene.layout_measure() if own else None
            doc.plan_and_edit(lambda: plan_layout(doc.graph, measure), "Auto-layout")
            self.fit()

    def apply_fix(self, fix) -> None:  # type: ignore[no-untyped-def]
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is not None:
            doc.plan_and_edit(lambda: plan_fix(doc.graph, fix), f"Fix: {fix_label(fix)}")

    def inspector_commit(self, node_id: str, name: str, value) -> str | None:  # type: ignore[no-untyped-def]
        """Set a parameter as the inspector does (scripts and tests)."""
        self.focus_node(node_id)
        self.inspector.show_nodes([node_id])
        return self.inspector._commit(name, value)

    def focus_node(self, node_id: str) -> None:
        if self.scene is not None and node_id not in self.scene.node_items and \
                getattr(self, "open_units", None):  # a problem of the model: back out first
            self.unit_up_to(0)  # type: ignore[attr-defined]
        if self.scene is not None and node_id in self.scene.node_items:
            self.scene.select_nodes([node_id])
            if self.view is not None:
                self.view.center_on_node(node_id)

    def fit(self) -> None:
        if self.view is not None:
            self.view.fit()
