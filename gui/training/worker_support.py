"""What the GUI's engine workers (training, sweeps, the learning-rate finder) share: their
thread, how it ends, and how a failure to start becomes the one line a panel shows."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

from torchloom.engine.errors import CompileError, TorchloomError


def end_own_thread() -> None:
    """End the worker's thread from inside: a queued quit() would wait for the GUI thread,
    which may itself be waiting for this thread (closing the window)."""
    thread = QThread.currentThread()
    if thread is not None:
        thread.quit()


def failure_text(exc: Exception, doing: str, graph_hint: str = "") -> str:
    """The graph's first errors, an engine error's own line, or, for anything else (a bug
    guard: never a crash), what was being done and the exception."""
    if isinstance(exc, CompileError):
        return ("the graph has errors: " + "; ".join(e.describe() for e in exc.errors[:3])
                + graph_hint)
    if isinstance(exc, TorchloomError):
        return exc.describe()
    return f"{doing}: {type(exc).__name__}: {exc}"


class EngineWorker(QObject):
    """A worker that runs one engine job (`work`) on a `WorkerThread`: with the computing
    threads the app gives training, and ending its own thread however the job ends."""

    @Slot()
    def run(self) -> None:
        try:
            from ..engine_loader import engine_loader, set_thread_count

            set_thread_count(engine_loader().train_threads)
            self.work()
        finally:
            end_own_thread()

    def work(self) -> None:
        raise NotImplementedError


class WorkerThread(QObject):
    """One worker object on its own QThread, started, waited for and cleaned up the same way
    by each job: the worker's `run` slot starts with the thread, and the thread ends when
    `run` returns (`end_own_thread`). `ended` comes after the thread has finished and both
    are let go, so an owner reacting to it (back to idle, a new run allowed) never sees a
    thread still winding down."""

    ended = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.thread: QThread | None = None
        self.worker: QObject | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None

    def start(self, worker: QObject) -> None:
        """Run `worker.run` on a new thread; connect the worker's signals first."""
        if self.thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        self.thread = QThread(self)
        self.thread.setObjectName(self.name)
        self.worker = worker
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)  # type: ignore[attr-defined]
        self.thread.finished.connect(self._finished)
        self.thread.start()

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until the thread has ended (closing the window, tests), then deliver what
        it left queued, `ended` included."""
        if self.thread is None:
            return True
        finished = self.thread.wait(msecs)
        from PySide6.QtWidgets import QApplication

        QApplication.processEvents()
        return finished

    def _finished(self) -> None:
        if self.thread is not None:
            self.thread.deleteLater()
        self.thread, self.worker = None, None  # the worker goes with its last reference
        self.ended.emit()
