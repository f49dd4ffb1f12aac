"""Find learning rate…: the engine's learning-rate sweep (`tasks.prepare.find_lr`) on a
worker thread, its smoothed loss drawn against the rate on a log axis as it comes, the
suggestion marked, and Apply to make it the project's lr.

The sweep trains a copy of the model built from a snapshot of the project, so the canvas
stays editable and nothing is written. Apply does not edit the project itself: it emits
`applied`, and the window makes that one undoable settings edit like any other.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from .. import theme
from .worker_support import EngineWorker, WorkerThread, failure_text

#: The sweep as `torchloom lr-find` runs it by default.
START, END, STEPS = 1e-7, 10.0, 100
#: The curve redraws at most this often while the sweep runs.
REDRAW_MS = 150


class LrFindWorker(EngineWorker):
    """`find_lr` on the worker thread; its steps and its end become signals."""

    step = Signal(int, int, float, float)  # step, steps, rate, smoothed loss
    done = Signal(object)  # LrFindResult
    failed = Signal(str)

    def __init__(self, project: Any, steps: int = STEPS) -> None:
        super().__init__()
        self.project = project
        self.steps = steps
        self._stop = threading.Event()

    def stop(self) -> None:
        """Safe from any thread: the sweep ends before its next step."""
        self._stop.set()

    def work(self) -> None:
        from torchloom.engine.tasks.prepare import find_lr

        try:
            result = find_lr(self.project, start=START, end=END, steps=self.steps,
                             on_step=lambda *a: self.step.emit(*a), stop=self._stop)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, never a crash
            self.failed.emit(failure_text(exc, "the sweep failed"))
            return
        self.done.emit(result)


class LrFindDialog(QDialog):
    """The sweep, its curve and the suggestion. `applied(lr)` when the person applies it."""

    applied = Signal(float)

    def __init__(self, project: Any, current_lr: float, parent: QWidget | None = None,
                 steps: int = STEPS) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.setWindowTitle("Find learning rate")
        self.setObjectName("lr-find")
        self.project = project
        self.current_lr = current_lr
        self.steps = steps
        self.result: Any = None
        self.suggested: float | None = None
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self._job = WorkerThread("torchloom-lr-find", self)
        layout = QVBoxLayout(self)
        about = QLabel(f"Trains a copy of the model for up to {steps} batches, the learning "
                       f"rate rising from {START:g} to {END:g}; the project and its runs are "
                       "not changed.")
        about.setWordWrap(True)
        about.setObjectName("muted")
        layout.addWidget(about)
        self.progress = QProgressBar()
        self.progress.setRange(0, steps)
        self.progress.setAccessibleName("Sweep progress")
        self.progress.setFormat("preparing: loading data and compiling…")
        layout.addWidget(self.progress)
        self.plot = pg.PlotWidget()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "learning rate")
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # not "(x1e-06)" mid-sweep
        self.plot.setLabel("left", "loss (smoothed)")
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumSize(520, 300)
        theme.style_plot(self.plot)
        colors = theme.current()
        self.curve = self.plot.plot(pen=pg.mkPen("#5b8def", width=2), name="loss")
        self.marker = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen("#f08c3a", width=1.5))
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.point = self.plot.plot(pen=None, symbol="o", symbolSize=9,
                                    symbolBrush="#f08c3a", symbolPen=colors.node_text)
        layout.addWidget(self.plot, 1)
        self.verdict = QLabel(" ")
        self.verdict.setWordWrap(True)
        self.verdict.setAccessibleName("Suggestion")
        layout.addWidget(self.verdict)
        buttons = QDialogButtonBox()
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Make the suggested rate the project's lr (undoable)")
        self.apply_button.setEnabled(False)
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        layout.addWidget(buttons)
        self.apply_button.clicked.connect(self._apply)
        self.cancel_button.clicked.connect(self.reject)
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._draw)

    # ---- the sweep ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def worker(self) -> LrFindWorker | None:
        return self._job.worker  # type: ignore[return-value]

    def start(self) -> None:
        worker = LrFindWorker(self.project, self.steps)
        worker.step.connect(self._stepped)
        worker.done.connect(self._done)
        worker.failed.connect(self._failed)
        self._job.start(worker)

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until the finder's thread has ended (closing, tests)."""
        return self._job.wait(msecs)

    def _stepped(self, step: int, steps: int, lr: float, loss: float) -> None:
        self.lrs.append(lr)
        self.losses.append(loss)
        self.progress.setValue(step)
        self.progress.setFormat(f"step {step} of {steps}: lr {lr:.2g}, loss {loss:.4g}")
        if not self._redraw.isActive():
            self._redraw.start()

    def _draw(self) -> None:
        self.curve.setData(self.lrs, self.losses)

    def _done(self, result: Any) -> None:
        self.result = result
        self.lrs, self.losses = list(result.lrs), list(result.losses)
        self._redraw.stop()
        self._draw()
        self.progress.setValue(self.progress.maximum())
        ended = {"diverged": "stopped where the loss diverged", "stopped": "cancelled"}
        self.progress.setFormat(f"{len(result.lrs)} rates tried"
                                + (f", {ended[result.ended]}" if result.ended else ""))
        self.suggested = result.suggested_lr
        if self.suggested is None:
            self.verdict.setText("No rate could be tried: the loss was not finite from the "
                                 "first step.")
            return
        at = min(range(len(result.lrs)), key=lambda i: abs(result.lrs[i] - self.suggested))
        self.marker.setPos(math.log10(self.suggested))
        self.marker.show()
        self.point.setData([result.lrs[at]], [result.losses[at]])
        rule = ("where the loss falls fastest" if result.rule == "steepest"
                else "a tenth of the rate at the lowest loss")
        self.verdict.setText(f"Suggested lr <b>{self.suggested:.3g}</b> ({rule}); the "
                             f"project's is {self.current_lr:g}.")
        self.apply_button.setEnabled(True)
        self.cancel_button.setText("Close")

    def _failed(self, message: str) -> None:
        self.progress.setFormat("failed")
        self.verdict.setText(f"<span style='color:{theme.current().error}'>Cannot find a "
                             f"learning rate: {message}</span>")
        self.cancel_button.setText("Close")

    # ---- the person's choices ----------------------------------------------------------

    def _apply(self) -> None:
        if self.suggested is not None:
            self.applied.emit(float(f"{self.suggested:.3g}"))  # a rate a person can read
        self.accept()

    def done(self, code: int) -> None:  # type: ignore[override]
        """Closing (Cancel, Escape, the title bar) ends a sweep still running first."""
        if self.worker is not None:
            self.worker.stop()
        self.wait()
        super().done(code)


def open_finder(window: Any) -> bool:
    """Open Find learning rate for `window` (the main window: its `document`, `controller`,
    `training_panel` and `lr_find_dialog`) on a snapshot of the project; Apply sets the lr
    through the window's settings edit, one undo step. Not while training, nor with graph
    errors; the dialog is modal, so no run starts and no graph changes beside it."""
    doc = window.document
    if doc is None or window.controller.running or window.lr_find_dialog is not None:
        return False
    if doc.analysis is None or doc.errors:
        text = ("PyTorch is still loading: try again in a moment" if doc.analysis is None
                else "Fix the graph's errors first (see the Problems panel).")
        window.training_panel.say(text, error=doc.analysis is not None)
        window.flash(text)
        return False
    from .controller import TrainRequest

    project = TrainRequest.snapshot(doc.project).project
    dialog = LrFindDialog(project, float(doc.project.training_config()["lr"]), window)
    dialog.applied.connect(lambda lr: window._set_training_setting("lr", lr))

    def closed(_code: int) -> None:
        if window.lr_find_dialog is dialog:
            window.lr_find_dialog = None
        dialog.deleteLater()

    dialog.finished.connect(closed)
    window.lr_find_dialog = dialog
    dialog.setModal(True)
    dialog.show()
    dialog.start()
    return True
