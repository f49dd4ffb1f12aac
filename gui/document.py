"""A document: one project open in a window, its undo stack, and its latest analysis.

This is the one place where engine events become Qt signals. Every edit goes through
`Document.edit`, which plans nothing itself: it applies engine `Op`s, pushes them as one
undo step, and schedules shape inference (coalesced, so a compound edit infers once).

A GAN project has two graphs (generator, discriminator). The document then has an *active*
graph, the one whose canvas tab is shown: `graph`, `analysis` and `edit` mean that one, so
the editing code written for one graph works unchanged. The undo stack is shared (one
history per project, as the file is one), and an undo that changes the other graph makes
it the active one, so a person always sees what Ctrl+Z did.
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

#: What a person calls each graph of a project.
GRAPH_LABELS = {"graph": "Model", "generator": "Generator", "discriminator": "Discriminator"}


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
    #: Every graph's events, with the graph's key ("graph", "generator", "discriminator").
    keyed_event = Signal(str, object)
    #: The active graph changed (a GAN only): the window shows that graph's canvas.
    active_changed = Signal(str)

    def __init__(self, project: Project, loader: EngineLoader | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.loader = loader or engine_loader()
        #: Each graph's latest analysis, by key; `analysis` is the active graph's.
        self.analyses: dict[str, Any] = {}
        #: The analysis of a task with several graphs (a GAN's `gan.checks.GanAnalysis`:
        #: both graphs and the checks between them).
        self.gan_analysis: Any = None
        self.active = next(iter(self.graphs()))
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._dirty_without_undo = False
        self.locked: str | None = None
        #: run folders this project trained while it had no file: they move next to the
        #: file on its first save (`training.runs_follow`)
        self.unsaved_runs: list[Path] = []
        self._refresh = QTimer(self)
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(0)
        self._refresh.timeout.connect(self.refresh)
        self._listeners: dict[str, Callable[[Event], None]] = {}
        #: the shape pass that follows each graph's edits (`engine.shapes_incremental`);
        #: made once the engine has loaded, as it imports torch
        self._shapes: Any = None
        for key, graph in self.graphs().items():
            self._listeners[key] = graph.events.any.connect(
                lambda event, k=key: self._on_event(event, k))
        # the task checks the graph against the data (a GAN's generator against the samples,
        # a segmentation's output against the masks): a new task or dataset re-checks it
        self._checked_against: Any = None
        self.settings_changed.connect(self._data_or_task_changed)
        self._waiting_for_engine = not self.loader.is_ready
        if self._waiting_for_engine:
            self.loader.ready.connect(self.refresh)
        else:
            self.refresh()

    # ---- state -----------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The active graph: the project's one graph, or the GAN graph on show."""
        return self.graphs()[self.active]

    def graphs(self) -> dict[str, Graph]:
        return self.project.graphs()

    @property
    def task(self) -> Any:
        """The project's task class: its declaration (settings, charts, views, graphs)."""
        from torchloom.engine.tasks import task_class_of

        return task_class_of(self.project)

    @property
    def analysis(self) -> Any:
        return self.analyses.get(self.active)

    @property
    def problems(self) -> list[Any]:
        """Every graph's problems; a GAN's carry `.graph` (the key they belong to)."""
        if self.gan_analysis is not None:
            return list(self.gan_analysis.problems)
        analysis = self.analysis
        return list(analysis.problems) if analysis is not None else []

    @property
    def errors(self) -> list[Any]:
        return [p for p in self.problems if p.severity == "error"]

    def data_key(self) -> str:
        """The graph the dataset's samples go into (a GAN's discriminator)."""
        return self.task.data_graph

    def set_active(self, key: str) -> None:
        """Show (and edit) another of the project's graphs."""
        if key != self.active and key in self.graphs():
            self.active = key
            self.active_changed.emit(key)

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
        for key, graph in self.graphs().items():
            graph.events.any.disconnect(self._listeners[key])
        self.undo_stack.cleanChanged.disconnect(self._clean_changed)
        self._refresh.stop()
        if self._shapes is not None:
            self._shapes.close()
        if self._waiting_for_engine:
            self.loader.ready.disconnect(self.refresh)
            self._waiting_for_engine = False

    # ---- edits -----------------------------------------------------------------------

    def edit(self, ops: list[Op], text: str, merge_key: str | None = None,
             key: str | None = None) -> bool:
        """Apply `ops` to the graph `key` (the active one by default) as one undo step
        called `text`. A refused edit changes nothing and says why in the status bar;
        returns whether it was applied."""
        if not ops:
            return False
        if self.locked:
            self.message.emit(self.locked)
            return False
        key = key or self.active
        graph = self.graphs()[key]
        try:
            inverses = apply_all(graph, ops)
        except TorchloomError as exc:
            self.message.emit(str(exc))
            return False
        if len(self.graphs()) > 1:  # "Generator: Add Linear" in Edit → Undo; never merged
            text = f"{GRAPH_LABELS.get(key, key)}: {text}"
            merge_key = f"{key}:{merge_key}" if merge_key else None
        self.undo_stack.push(OpsCommand(graph, ops, inverses, text, merge_key))
        return True

    def plan_and_edit(self, plan: Callable[[], list[Op]], text: str,
                      merge_key: str | None = None, key: str | None = None) -> bool:
        """Run an engine planner; a `TorchloomError` becomes a status-bar sentence."""
        try:
            ops = plan()
        except TorchloomError as exc:
            self.message.emit(str(exc))
            return False
        return self.edit(ops, text, merge_key, key)

    def lock(self, reason: str | None) -> None:
        """Refuse graph edits (with `reason` as the status-bar hint) until unlocked."""
        was = bool(self.locked)
        self.locked = reason
        if was != bool(reason):
            self.lock_changed.emit(bool(reason))

    # ---- analysis --------------------------------------------------------------------

    def _on_event(self, event: Event, key: str = "graph") -> None:
        if key != self.active:  # an undo in the graph not on show: show it
            self.set_active(key)
        self.keyed_event.emit(key, event)
        self.graph_event.emit(event)
        if event.kind != "node_moved":
            self._refresh.start()

    def _data_or_task_changed(self) -> None:
        """Only what the analysis depends on (the task, the dataset) re-checks the graph;
        another training setting (epochs, lr) does not."""
        if (self.project.task, repr(self.project.dataset),
                repr(self.project.heads)) != self._checked_against:
            self._refresh.start()

    def refresh(self) -> None:
        """Analyse the graphs now: each graph's `ShapeTracker` measures again only what the
        edits since the last analysis changed (on a graph of 10,000 blocks, milliseconds
        where a whole pass takes seconds)."""
        if not self.loader.is_ready:
            return
        if self._waiting_for_engine:
            self.loader.ready.disconnect(self.refresh)
            self._waiting_for_engine = False
        self._refresh.stop()
        self._checked_against = (self.project.task, repr(self.project.dataset),
                                 repr(self.project.heads))
        if self._shapes is None:
            from torchloom.engine.shapes_incremental import ShapeTrackers

            self._shapes = ShapeTrackers()
        checked = self.task().analyze(self.project, infer=self._shapes.infer)
        several = getattr(checked, "analyses", None)  # a GAN's: one per graph, and between
        self.gan_analysis = checked if several is not None else None
        self.analyses = dict(several) if several is not None else {"graph": checked}
        self.analysis_changed.emit()

    # ---- files -----------------------------------------------------------------------

    def save(self, path: Path | None = None) -> Path:
        """Atomic save (engine), then the undo stack is clean. Raises `ProjectFileError`."""
        target = save_project(self.project, path)
        self._dirty_without_undo = False
        self.undo_stack.setClean()
        self.title_changed.emit()
        return target
