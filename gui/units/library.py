"""The personal block library from the window: "Save unit to library…", the palette's
"My blocks", and a dropped library unit becoming a unit of this project (one undo step).

The files live in the user-data folder (`engine.units.library`); the palette names a
library unit ``library:<Name>`` in its drag data, which `add_block` routes here.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QInputDialog

from torchloom.engine.errors import TorchloomError
from torchloom.engine.graph import Node

from .commands import AddUnitCommand

LIBRARY_PREFIX = "library:"
MY_BLOCKS = "My blocks"


def library_entries() -> list[Any]:
    from torchloom.engine.units.library import library_units

    try:
        return library_units()
    except (OSError, TorchloomError):  # the palette must open even if the folder cannot
        return []


class LibraryActions:
    """Needs `edit_doc`, `document`, `scene`, `palette`, `flash`, `report`."""

    def refresh_library(self) -> None:
        """My blocks (the user-data folder) and Units (this project's) in the palette."""
        palette = self.palette  # type: ignore[attr-defined]
        palette.set_library(library_entries())
        doc = self.document  # type: ignore[attr-defined]
        palette.set_project_units(list(doc.project.units) if doc is not None else [])

    def remove_from_library(self, name: str) -> None:
        """Palette → right-click → Remove from My blocks (projects that use it keep their
        copy: an import copies the unit into the project)."""
        from torchloom.engine.units.library import delete_library_unit

        try:
            delete_library_unit(name)
        except (OSError, TorchloomError) as exc:
            self.report("Cannot remove the block", str(exc))  # type: ignore[attr-defined]
            return
        self.refresh_library()
        self.flash(f"Removed {name} from My blocks")  # type: ignore[attr-defined]

    def ask_library_name(self, default: str) -> str | None:
        """The name to save under (tests replace this); None: cancelled."""
        name, ok = QInputDialog.getText(
            self, "Save unit to library",  # type: ignore[arg-type]
            "Save this unit under My blocks, for any project, as:", text=default)
        return name.strip() if ok and name.strip() else None

    def save_unit_to_library(self, name: str | None = None) -> Any:
        """The selected unit node's unit (or the opened one) into My blocks."""
        from torchloom.engine.units.library import library_dir, save_to_library

        doc = self.edit_doc  # type: ignore[attr-defined]
        unit = None
        node_id = self._selected_unit_node()  # type: ignore[attr-defined]
        if node_id is not None:
            unit = doc.graph.node(node_id).type[len("unit:"):]
        elif self.open_units:  # type: ignore[attr-defined]
            unit = self.open_units[-1].doc.unit_name  # type: ignore[attr-defined]
        if doc is None or unit is None:
            self.flash("Select a unit node to save it to the library")  # type: ignore
            return None
        target = name or self.ask_library_name(unit)
        if target is None:
            return None
        project = doc.project
        try:
            if target != unit:  # saved under another name: a renamed copy, project untouched
                from torchloom.engine.units.library import import_units

                copy = _UnitsOnly()
                import_units(copy, project.units, unit, as_name=target)  # type: ignore
                path = save_to_library(copy, target)  # type: ignore[arg-type]
            else:
                path = save_to_library(project, unit)
        except (OSError, TorchloomError) as exc:
            self.report("Cannot save to the library", str(exc))  # type: ignore
            return None
        self.refresh_library()
        self.flash(f"Saved {target} to My blocks ({library_dir()})")  # type: ignore
        return path

    def add_library_unit(self, name: str, scene_pos: QPointF, after: str | None = None
                         ) -> str | None:
        """A My blocks entry dropped on the canvas: import it (an identical unit of that
        name is reused, a different one keeps its name and this one gets a free name) and
        place one node; undo takes both back. With `after` (Tab or a double-click with one
        block selected) the node goes after that block, wired from it, as any block does."""
        from torchloom.engine.edits import plan_add_after
        from torchloom.engine.units.library import import_library_unit
        from torchloom.engine.units.model import unit_type

        from ..canvas.node_item import WIDTH

        doc, outer = self.edit_doc, self.document  # type: ignore[attr-defined]
        if doc is None:
            return None
        if doc.locked:
            self.flash(doc.locked)  # type: ignore[attr-defined]
            return None
        units = doc.project.units
        before = dict(units.defs)
        try:
            final = import_library_unit(doc.project, name)
        except TorchloomError as exc:
            for added in [n for n in units.defs if n not in before]:
                units.remove(added)
            self.report("Cannot add the block", exc.describe())  # type: ignore[attr-defined]
            return None
        added = [d for n, d in units.defs.items() if before.get(n) is not d]
        graph = doc.graph
        node_id = graph.new_id(unit_type(final))
        pos = (round(scene_pos.x() - WIDTH / 2, 1), round(scene_pos.y() - 24, 1))
        scene = self.scene  # type: ignore[attr-defined]
        chained = scene is not None and after in scene.node_items and after in graph
        if chained:
            pos = scene.pos_after(after, unit_type(final))
        elif scene is not None:  # on no other block
            pos = scene.free_pos(unit_type(final), pos)
        node = Node(node_id, unit_type(final), {}, pos)
        wires = [op.edge for op in plan_add_after(graph, unit_type(final), after, pos,
                                                  node_id=node_id) if op.kind == "connect"
                 ] if chained else []
        graph.insert_node(node)
        for edge in wires:
            graph.insert_edge(edge)
        text = f"Add {final} from My blocks" + (f" (as {final})" if final != name else "")
        outer.undo_stack.push(AddUnitCommand(outer, graph, added, node, text,
                                             self._units_changed,  # type: ignore[attr-defined]
                                             wires))
        outer._refresh.start()
        self._units_changed()  # type: ignore[attr-defined]
        if self.scene is not None:  # type: ignore[attr-defined]
            self.scene.select_nodes([node_id])  # type: ignore[attr-defined]
        if final != name:
            self.flash(f"This project already has a different {name}: added as {final}")  # type: ignore
        return node_id


class _UnitsOnly:
    """Just enough of a project for `import_units` and `save_to_library`: its own units."""

    def __init__(self) -> None:
        from torchloom.engine.units.model import Units

        self.units = Units()
