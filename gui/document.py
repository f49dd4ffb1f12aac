"""A document: one project open in a window, its undo stack, and its latest analysis.

This is the one place where engine events become Qt signals. Every edit goes through
`Document.edit`, which plans nothing itself: it applies engine `Op`s, pushes them as one
undo step, and schedules shape inference (coalesced, so a compound edit infers once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from torchloom.engine.edits import Op, apply_all
from torchloom.engine.errors import TorchloomError
from torchloom.engine.events import Event
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project

from .commands import OpsCommand
from .engine_loader import EngineLoader, engine_loader


class Document(QObject):
    #: A new `analysis` (shapes, parameter counts, problems) is available.
    analysis_changed = Signal()
    #: The graph changed (any edit, undo or redo); `event` is the engine's event.
    graph_event = Signal(object)
    #: Unsaved-changes state or file name changed: the window title needs redoing.
    title_changed = Signal()
    #: A sentence for the status bar (a refused wire, a failed paste).
    message = Signal(str)
    #: The dataset or training settings changed (not the graph).
    settings_changed = Signal()
    #: The graph became read-only (training) or editable again.
    lock_changed = Signal(bool)

    def __init__(self, project: Project, loader: EngineLoader | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.loader = loader or engine_loader()
        self.analysis: Any = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._dirty_without_undo = False
        self.locked: str | None = None
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self.refresh)
        self.graph.events.any.connect(self._on_event)
        self._waiting_for_engine = not self.loader.is_ready
        if self._waiting_for_engine:
            self.loader.ready.connect(self.refresh)
        else:
            self.refresh()

    # ---- state -----------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        return self.project.graph

    @property
    def path(self) -> Path | None:
        return self.project.path

    @property
    def dirty(self) -> bool:
        return self._dirty_without_undo or not self.undo_stack.isClean()

    def mark_dirty(self) -> None:
        """For changes that are not undo steps (a recovered autosave, an untitled copy)."""
        self._dirty_without_undo = True
        self.title_changed.emit()

    @property
    def display_name(self) -> str:
        return self.path.name if self.path else f"{self.project.name} (unsaved)"

    def _clean_changed(self, _clean: bool) -> None:
        self.title_changed.emit()

    def close(self) -> None:
        """Stop listening: the window is done with this document."""
        self.graph.events.any.disconnect(self._on_event)
        self.undo_stack.cleanChanged.disconnect(self._clean_changed)
        self._refresh.stop()
        if self._waiting_for_engine:
            self.loader.ready.disconnect(self.refresh)
            self._waiting_for_engine = False

    # ---- edits -----------------------------------------------------------------------

    def edit(self, ops: list[Op], text: str, merge_key: str | None = None) -> bool:
        """Apply `ops` as one undo step called `text`. A refused edit changes nothing and
        says why in the status bar; returns whether it was applied."""
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
        self.undo_stack.push(OpsCommand(self.graph, ops, inverses, text, merge_key))
        return True

    def plan_and_edit(self, plan: Callable[[], list[Op]], text: str,
                      merge_key: str | None = None) -> bool:
        """Run an engine planner; a `TorchloomError` becomes a status-bar sentence."""
        try:
            ops = plan()
        except TorchloomError as exc:
            self.message.emit(str(exc))
            return False
        return self.edit(ops, text, merge_key)

    def lock(self, reason: str | None) -> None:
        """Refuse graph edits (with `reason` as the status-bar hint) until unlocked."""
        was = bool(self.locked)
        self.locked = reason
        if was != bool(reason):
            self.lock_changed.emit(bool(reason))

    # ---- analysis --------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        self.graph_event.emit(event)
        if event.kind != "node_moved":
            self._refresh.start()

    def refresh(self) -> None:
        """Infer shapes now (cached per block, so an edit re-measures only what changed)."""
        if not self.loader.is_ready:
            return
        if self._waiting_for_engine:
            self.loader.ready.disconnect(self.refresh)
            self._waiting_for_engine = False
        self._refresh.stop()
        self.analysis = self.loader.shapes.infer(self.graph)  # type: ignore[union-attr]
        self.analysis_changed.emit()

    # ---- files -----------------------------------------------------------------------

    def save(self, path: Path | None = None) -> Path:
        """Atomic save (engine), then the undo stack is clean. Raises `ProjectFileError`."""
        target = save_project(self.project, path)
        self._dirty_without_undo = False
        self.undo_stack.setClean()
        self.title_changed.emit()
        return target
