"""A sweep beside the GUI: `engine.sweep.run_sweep` on a QThread, its trials as signals.

Like training, everything slow runs on the worker thread; Stop is the engine's cooperative
stop (`SweepControl`), so the trial in progress ends within a batch with its checkpoint and
no further trial starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from torchloom.engine.project import Project

from .worker_support import EngineWorker, WorkerThread, failure_text


@dataclass
class SweepRequest:
    """A snapshot of the project and what to vary (`space`: parsed `SweepParam`s)."""

    project: Project
    space: list[Any]
    trials: int
    metric: str
    mode: str
    runs_dir: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


class SweepWorker(EngineWorker):
    trial_started = Signal(int, dict)
    trial_done = Signal(object)  # TrialRecord
    done = Signal(object)  # SweepResult
    failed = Signal(str)

    def __init__(self, request: SweepRequest) -> None:
        super().__init__()
        from torchloom.engine.sweep.run import SweepControl

        self.request = request
        self.control = SweepControl()

    def work(self) -> None:
        from torchloom.engine.sweep.run import run_sweep

        req = self.request
        try:
            result = run_sweep(req.project, req.space, trials=req.trials, metric=req.metric,
                               mode=req.mode, runs_dir=req.runs_dir, overrides=req.overrides,
                               control=self.control, on_trial_start=self.trial_started.emit,
                               on_trial=self.trial_done.emit)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never a crash
            self.failed.emit(failure_text(exc, "the sweep stopped unexpectedly"))
            return
        self.done.emit(result)


class SweepController(QObject):
    """One sweep at a time."""

    state_changed = Signal(str)  # "idle", "sweeping", "stopping"
    trial_started = Signal(int, dict)
    trial_done = Signal(object)
    finished = Signal(object)  # SweepResult
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = WorkerThread("torchloom-sweep", self)
        self._job.ended.connect(self._on_thread_finished)
        self.state = "idle"
        self.last_result: Any = None

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def worker(self) -> SweepWorker | None:
        return self._job.worker  # type: ignore[return-value]

    def start(self, request: SweepRequest) -> bool:
        if self.running:
            return False
        worker = SweepWorker(request)
        worker.trial_started.connect(self.trial_started)
        worker.trial_done.connect(self.trial_done)
        worker.failed.connect(self.failed)
        worker.done.connect(self._on_done)
        self._set_state("sweeping")
        self._job.start(worker)
        return True

    def stop(self) -> None:
        if self.worker is not None and self.state == "sweeping":
            self._set_state("stopping")
            self.worker.control.stop()

    def wait(self, msecs: int = 60_000) -> bool:
        return self._job.wait(msecs)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _on_done(self, result: Any) -> None:
        self.last_result = result
        self.finished.emit(result)

    def _on_thread_finished(self) -> None:
        self._set_state("idle")
