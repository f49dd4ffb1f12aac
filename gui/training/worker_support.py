"""What the GUI's engine workers (training, sweeps, the learning-rate finder) share: how a
worker's thread ends, and how a failure to start becomes the one line a panel shows."""

from __future__ import annotations

from PySide6.QtCore import QThread

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
