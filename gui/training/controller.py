"""Training beside the GUI: a QThread worker around the engine's `prepare_training` and
run loop, whose callbacks become Qt signals.

Everything slow (loading data, compiling, moving data to the device, training) happens on
the worker thread. Reports arrive at most every 0.1 s from the run loop and are coalesced
here into one `reports` signal per 500 ms, so the plots redraw at a human rate whatever the
batch rate. Stop is the run loop's cooperative stop: it lands within one batch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from torchloom.engine.project import Project, dumps_project, loads_project
from torchloom.engine.train.callbacks import BatchReport, Callback, EpochReport, TrainResult

from .worker_support import EngineWorker, WorkerThread, failure_text

#: Plots redraw at most this often. A redraw costs the GUI thread 1-4 ms of Python, and
#: holds the GIL the training thread needs: with a redraw every 300 ms training kept 0.92x
#: of `torchloom train`'s speed, every 500 ms 0.95-0.96x (bench/gui_responsiveness.py, two
#: cores). Two updates a second still read as live.
FLUSH_MS = 500


@dataclass
class TrainRequest:
    """What to train: a snapshot of the project (the canvas stays editable after the run)."""

    project: Project
    resume: Path | None = None
    init_from: Path | None = None
    runs_dir: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    #: live probes for the Inspect panel every this many steps (0: none)
    probe_every: int = 0

    @classmethod
    def snapshot(cls, project: Project, **kwargs: Any) -> "TrainRequest":
        copy = loads_project(dumps_project(project))
        copy.path = project.path
        return cls(copy, **kwargs)


class _Relay(Callback):
    """Engine callbacks (on the worker thread) to the worker's Qt signals."""

    def __init__(self, worker: "TrainingWorker") -> None:
        self.worker = worker

    def on_train_begin(self, info: dict[str, Any]) -> None:
        self.worker.began.emit(info)

    def on_batch_end(self, report: BatchReport) -> None:
        self.worker.batch.emit(report)

    def on_epoch_end(self, report: EpochReport) -> None:
        self.worker.epoch.emit(report)

    def on_probe(self, result: Any) -> None:
        self.worker.probe.emit(result)

    def on_stats(self, capture: dict[str, Any]) -> None:
        self.worker.stats.emit(capture)


class TrainingWorker(EngineWorker):
    began = Signal(dict)
    batch = Signal(object)
    epoch = Signal(object)
    probe = Signal(object)  # ProbeResult
    stats = Signal(object)  # one per-layer capture (a stats.jsonl line)
    done = Signal(object)  # TrainResult
    failed = Signal(str)
    prepared = Signal(object)  # the TrainingJob, for notes and the run folder

    def __init__(self, request: TrainRequest) -> None:
        super().__init__()
        self.request = request
        self.job: Any = None
        self._stop_asked = threading.Event()

    def stop(self) -> None:
        """Safe from any thread; before the job exists it stops it as soon as it does."""
        self._stop_asked.set()
        if self.job is not None:
            self.job.trainer.stop()

    def work(self) -> None:
        from torchloom.engine.tasks.prepare import prepare_training

        req = self.request
        try:
            job = prepare_training(req.project, overrides=req.overrides, resume=req.resume,
                                   init_from=req.init_from, runs_dir=req.runs_dir,
                                   callbacks=[_Relay(self)], report_interval=0.1,
                                   probe_every=req.probe_every)
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never a crash
            self.failed.emit(failure_text(exc, "training could not start",
                                          " (see the Problems panel)"))
            return
        if "generate" in job.trainer.task.views:  # Generate can use the weights as they train
            from torchloom.engine.probe.live import LiveWeights

            job.live = LiveWeights(job.trainer)
            job.trainer.callbacks.append(job.live)
        self.job = job
        self.prepared.emit(job)
        if self._stop_asked.is_set():
            job.trainer.stop()
        try:
            result = job.run()
        except Exception as exc:  # noqa: BLE001 - fit() reports its own; this is a bug guard
            self.failed.emit(f"training stopped unexpectedly: {type(exc).__name__}: {exc}")
            return
        finally:
            # The job holds the model, the data and the optimizer, on the GPU if it trained
            # there: after a failure (out of memory above all) the next run needs that memory
            # back now, not when Qt gets round to deleting this worker.
            self.job = None
        if result.error is not None:
            self.failed.emit(result.error.message)
        self.done.emit(result)


class TrainingController(QObject):
    """Starts one run at a time and turns the worker's signals into coalesced GUI signals."""

    state_changed = Signal(str)  # "idle", "training", "stopping"
    began = Signal(dict)
    reports = Signal(list)  # BatchReports since the previous flush
    epoch = Signal(object)
    probe = Signal(object)  # the latest live ProbeResult, at most once per flush
    #: per-layer captures since the previous flush (every one: they make a history)
    stats = Signal(list)
    finished = Signal(object)  # TrainResult
    failed = Signal(str)
    prepared = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = WorkerThread("torchloom-training", self)
        self._job.ended.connect(self._on_thread_finished)
        self.state = "idle"
        self.last_result: TrainResult | None = None
        self.last_run_dir: Path | None = None
        self._pending: list[BatchReport] = []
        self._probe: Any = None
        self._stats: list[dict[str, Any]] = []
        self._flush = QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.setInterval(FLUSH_MS)
        self._flush.timeout.connect(self._emit_reports)

    @property
    def running(self) -> bool:
        return self._job.running

    @property
    def worker(self) -> TrainingWorker | None:
        return self._job.worker  # type: ignore[return-value]

    def start(self, request: TrainRequest) -> bool:
        if self.running:
            return False
        worker = TrainingWorker(request)
        worker.began.connect(self.began)
        worker.batch.connect(self._on_batch)
        worker.epoch.connect(self._on_epoch)
        worker.probe.connect(self._on_probe)
        worker.stats.connect(self._on_stats)
        worker.prepared.connect(self._on_prepared)
        worker.failed.connect(self._on_failed)
        worker.done.connect(self._on_done)
        self._set_state("training")
        self._job.start(worker)
        return True

    def stop(self) -> None:
        if self.worker is not None and self.state == "training":
            self._set_state("stopping")
            self.worker.stop()

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until the worker has ended (closing the window, tests)."""
        return self._job.wait(msecs)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.state_changed.emit(state)

    def _on_prepared(self, job: Any) -> None:
        self.last_run_dir = job.run_dir
        self.prepared.emit(job)

    def _on_batch(self, report: BatchReport) -> None:
        self._pending.append(report)
        if not self._flush.isActive():
            self._flush.start()

    def _on_probe(self, result: Any) -> None:
        """Only the newest probe is drawn: older ones still waiting are dropped."""
        self._probe = result
        if not self._flush.isActive():
            self._flush.start()

    def _on_stats(self, capture: dict[str, Any]) -> None:
        self._stats.append(capture)
        if not self._flush.isActive():
            self._flush.start()

    def _emit_reports(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, []
            self.reports.emit(pending)
        if self._probe is not None:
            probe, self._probe = self._probe, None
            self.probe.emit(probe)
        if self._stats:
            stats, self._stats = self._stats, []
            self.stats.emit(stats)

    def _on_epoch(self, report: EpochReport) -> None:
        self._emit_reports()
        self.epoch.emit(report)

    def _on_failed(self, message: str) -> None:
        """Reports still waiting for the flush go out first: drawn after the failure, they
        would put the progress bar back to "running, ETA ..." under the message."""
        self._emit_reports()
        self.failed.emit(message)

    def _on_done(self, result: TrainResult) -> None:
        self._emit_reports()
        self.last_result = result
        self.finished.emit(result)

    def _on_thread_finished(self) -> None:
        self._set_state("idle")
