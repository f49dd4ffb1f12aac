"""Small computations off the GUI thread: probes, predictions, saliency.

Each job runs on a short-lived Python thread with one torch thread (the GUI stays smooth
and a training run keeps its cores), and its result comes back on the GUI thread through a
queued Qt signal. Jobs carry a key; a newer job under the same key makes the older one's
result stale, and stale results are dropped, so clicking through nodes quickly never shows
an old node's maps.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal


class Jobs(QObject):
    """Run `fn()` on a worker thread; `on_done(result)` or `on_error(message)` on the GUI
    thread, unless a newer job with the same key was submitted meanwhile."""

    _finished = Signal(object, int, object, object)  # key, serial, result, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._serial: dict[Any, int] = {}
        self._callbacks: dict[tuple[Any, int], tuple[Callable[[Any], None],
                                                     Callable[[str], None] | None]] = {}
        self._threads: set[threading.Thread] = set()
        self._finished.connect(self._deliver)

    def submit(self, key: Any, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None) -> None:
        serial = self._serial.get(key, 0) + 1
        self._serial[key] = serial
        self._callbacks[(key, serial)] = (on_done, on_error)

        def work() -> None:
            try:
                from ..engine_loader import set_thread_count

                set_thread_count(1)
                result, error = fn(), None
            except Exception as exc:  # noqa: BLE001 - shown where the job was asked for
                describe = getattr(exc, "describe", None)
                result, error = None, describe() if callable(describe) else (
                    f"{type(exc).__name__}: {exc}")
            try:
                self._finished.emit(key, serial, result, error)
            except RuntimeError:  # the window closed while the job ran: nobody to tell
                pass
            finally:
                self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=work, name=f"torchloom-job-{key}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def cancel(self, key: Any) -> None:
        """Forget the pending job under `key`: its result will be dropped."""
        self._serial[key] = self._serial.get(key, 0) + 1

    def busy(self) -> bool:
        return any(t.is_alive() for t in list(self._threads))

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every running job has ended (tests, closing the window)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def _deliver(self, key: Any, serial: int, result: Any, error: Any) -> None:
        on_done, on_error = self._callbacks.pop((key, serial), (None, None))
        if on_done is None or self._serial.get(key) != serial:
            return
        if error is not None:
            if on_error is not None:
                on_error(str(error))
        else:
            on_done(result)
