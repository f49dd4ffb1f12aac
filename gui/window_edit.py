"""Editing from the main window: add, delete, clipboard, duplicate, layout, fixes. Every one
is an engine plan pushed through the document as one undo step. A mixin over the window."""

from __future__ import annotations

import json
from functools import partial

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

from torchloom.engine.edits import (copy_fragment, plan_add, plan_add_after, plan_fix,
                                    plan_layout, plan_paste)

from .canvas.node_item import WIDTH
from .problems import fix_label
from .units.library import LIBRARY_PREFIX


class EditActions:
    """Needs `document`, `scene`, `view`, `inspector` and `flash` from the window."""

    def add_block(self, type_name: str, scene_pos: QPointF, after: str | None = None
                  ) -> str | None:
        """Add a block with its header's middle at `scene_pos`, or, with `after`, a wire's
        length right of that block and wired from it, in one undo step. Either way it moves
        to the nearest spot where it covers no other block, and it becomes the selection
        (so the next Tab continues a chain)."""
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is None:
            return None
        if type_name.startswith(LIBRARY_PREFIX):  # from My blocks in the palette
            return self.add_library_unit(type_name[len(LIBRARY_PREFIX):],  # type: ignore
                                         scene_pos, after)
        scene = self.scene
        node_id = doc.graph.new_id(type_name)
        pos = (round(scene_pos.x() - WIDTH / 2, 1), round(scene_pos.y() - 24, 1))
        if scene is not None and after in scene.node_items:
            pos = scene.pos_after(after, type_name)  # type: ignore[arg-type]
            plan = partial(plan_add_after, doc.graph, type_name, after, pos, node_id=node_id)
            text = f"Add {type_name} after {after}"
        else:
            if scene is not None:
                pos = scene.free_pos(type_name, pos)
            plan = partial(plan_add, doc.graph, type_name, pos, node_id=node_id)
            text = f"Add {type_name}"
        if doc.plan_and_edit(plan, text):
            self._show_added([node_id])
            return node_id
        return None

    def _show_added(self, node_ids: list[str]) -> None:
        """Select what was just added (the next Tab continues from it) and scroll the view
        just enough to show it: a block moved to a free spot may be past the edge."""
        scene, view = self.scene, self.view
        if scene is None:
            return
        scene.select_nodes(node_ids)
        items = [scene.node_items[n] for n in node_ids if n in scene.node_items]
        if view is not None and items:
            rect = items[0].sceneBoundingRect()
            for item in items[1:]:
                rect = rect.united(item.sceneBoundingRect())
            view.ensureVisible(rect, 40, 40)

    def add_next(self, type_name: str, scene_pos: QPointF) -> str | None:
        """Tab or a palette double-click: after the one selected block and wired from it
        (so a chain can be typed), or at `scene_pos` when none or several are selected."""
        selected = self.scene.selected_node_ids() if self.scene is not None else []
        return self.add_block(type_name, scene_pos, selected[0] if len(selected) == 1 else None)

    def add_block_at_center(self, type_name: str) -> str | None:
        """A palette double-click: after the selected block, else in the view's middle."""
        if self.view is None:
            return None
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        return self.add_next(type_name, centre)

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

    def paste(self, fragment: dict | None = None, beside: bool = False) -> None:  # type: ignore[type-arg]
        """Paste the clipboard's blocks (or `fragment`) centred on the mouse when it is over
        the canvas, else (or with `beside`) where the copied ones are; either way shifted
        as a group just far enough to cover no block, so pasting twice does not stack."""
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
        offset = self._paste_offset(fragment, beside)
        mapping: dict[str, str] = {}

        def plan():  # type: ignore[no-untyped-def]
            ops, found = plan_paste(doc.graph, fragment, offset)
            mapping.update(found)
            return ops

        if doc.plan_and_edit(plan, f"Paste {len(fragment.get('nodes', []))} blocks"
                             if isinstance(fragment, dict) else "Paste"):
            self._show_added(list(mapping.values()))

    def _paste_offset(self, fragment: object, beside: bool) -> tuple[float, float]:
        """The shift for a fragment's positions (see `paste`); damaged content gets none and
        `plan_paste` says what is wrong with it."""
        scene, view = self.scene, self.view
        if scene is None:
            return (40.0, 40.0)
        try:
            blocks = [(str(raw["type"]), (float(raw["pos"][0]), float(raw["pos"][1])))
                      for raw in fragment["nodes"]  # type: ignore[index]
                      if raw.get("pos") is not None]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return (0.0, 0.0)
        mouse = None if beside or view is None else view.mouse_scene_pos()
        return scene.group_offset(blocks, None if mouse is None else (mouse.x(), mouse.y()))

    def duplicate(self) -> None:
        """Ctrl+D: a copy beside the selection, wherever the mouse is."""
        if self.scene is None or not self.scene.selected_node_ids():
            return
        self.paste(copy_fragment(self.scene.document.graph, self.scene.selected_node_ids()),
                   beside=True)

    def auto_layout(self) -> None:
        doc = self.edit_doc  # type: ignore[attr-defined]  # an opened unit's, or the project's
        if doc is not None:
            scene = self.scene  # type: ignore[attr-defined]
            own = scene is not None and scene.document.graph is doc.graph  # a GAN's tab too
            measure = scene.layout_measure() if own else None
            doc.plan_and_edit(lambda: plan_layout(doc.graph, measure), "Auto-layout")
            view = self.view  # type: ignore[attr-defined]
            if view is not None:
                view.fit_readable()  # the whole graph if labels still read, else its start

    def apply_fix(self, fix) -> None:  # type: ignore[no-untyped-def]
        if fix.action == "add_heads":  # a change of the project, not of the graph
            from .commands import HeadsCommand

            project_doc = self.document  # type: ignore[attr-defined]
            if project_doc is not None:
                project_doc.undo_stack.push(HeadsCommand(project_doc, fix.value))
            return
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
