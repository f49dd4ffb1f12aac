"""Ctrl+C (or a notebook's interrupt button) stops a run cooperatively: the loop finishes
the batch, checkpoints and returns a "stopped" result that `--resume` continues, instead of
a KeyboardInterrupt that would leave no checkpoint of the work since the last epoch.

The command line and the Python API both train in the main thread and share this; the GUI
trains in a worker and stops through its button.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def stop_on_interrupt(stop: Callable[[], None], notify: Callable[[str], None],
                      message: str = "stopping after this batch (interrupt again to abort)"
                      ) -> Iterator[None]:
    """While the block runs, the first SIGINT calls `stop` (after `notify(message)`) and a
    second one interrupts as usual. Outside the main thread, where Python cannot take
    signals, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        notify(message)
        stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
