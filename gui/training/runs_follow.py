"""A project's runs follow it: an unsaved project trains into the app's data folder
(``<data>/runs/<name>/``), and on its first save the runs it trained move next to the file
(``<project folder>/runs/``), where the Runs tab, Export, Inspect, Evaluate and Resume look.

Only the runs this project trained move (the app's folder for unsaved projects is shared by
every untitled project). A run folder is never moved while a run is training: a first save
during training saves the file at once and moves the runs when the run ends, including the
one that was training.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from torchloom.engine.run_move import MoveReport, move_runs, remove_if_empty

from ..paths import data_dir

#: What the window says when a first save happens during training.
WAIT_TEXT = "Saved. This project's runs move next to it when the training ends."


def unsaved_runs_dir(project: Any) -> Path:
    """Where a project without a file keeps its runs: the app's folder, by project name."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", project.name).strip("-") or "untitled"
    return data_dir() / "runs" / slug


def project_runs_dir(path: Path) -> Path:
    """Where the runs of the project saved at `path` live."""
    return path.parent / "runs"


class RunsFollowProject(QObject):
    """Remembers the runs each unsaved document trains and moves them on its first save."""

    #: (document, report) after a move; everything remembering a run folder follows it
    moved = Signal(object, object)
    #: a sentence: the move waits for the run that is training
    waiting = Signal(str)

    def __init__(self, controller: Any, document: Callable[[], Any],
                 wait_background: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.document = document
        self.wait_background = wait_background
        #: documents saved for the first time while a run was training
        self.pending: list[Any] = []
        controller.prepared.connect(self._prepared)
        controller.state_changed.connect(self._state)

    def _prepared(self, job: Any) -> None:
        doc = self.document()
        run_dir = getattr(job, "run_dir", None)
        if doc is None or run_dir is None:
            return
        run_dir = Path(run_dir)
        if run_dir.parent == unsaved_runs_dir(doc.project) and run_dir not in doc.unsaved_runs:
            doc.unsaved_runs.append(run_dir)

    def saved(self, document: Any, first: bool) -> None:
        """`document` was saved; `first`: it had no file before."""
        if not first:
            return
        if self.controller.running:
            if document not in self.pending:
                self.pending.append(document)
            self.waiting.emit(WAIT_TEXT)
            return
        self.move(document)

    def _state(self, state: str) -> None:
        if state == "idle":
            pending, self.pending = self.pending, []
            for document in pending:
                self.move(document)

    def move(self, document: Any) -> MoveReport | None:
        """Move `document`'s unsaved runs next to its file now; None if it has none."""
        runs = [run for run in document.unsaved_runs if run.exists()]
        document.unsaved_runs = []
        if document.path is None or not runs:
            return None
        self.wait_background()  # an Inspect load or an export may be reading a run folder
        report = move_runs(runs, project_runs_dir(document.path))
        for folder in {run.parent for run in runs}:
            remove_if_empty(folder)
        self.moved.emit(document, report)
        return report
