"""Load torch and the engine's torch-side modules in the background.

The window opens before torch has loaded (importing it takes about 1.4 s here): the graph,
the palette and the inspector need only the catalogue, which does not import torch. Shapes
need torch; they appear as soon as this loader says it is ready.
"""

from __future__ import annotations

import sys
import threading
import time
from types import ModuleType

from PySide6.QtCore import QObject, Signal


class EngineLoader(QObject):
    """Imports torch once per process, on a plain thread, and then emits `ready`.

    `shapes` is the engine's shape module once loaded. Waiting code connects to `ready`;
    nothing ever blocks the event loop on the import.
    """

    ready = Signal()
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.shapes: ModuleType | None = None
        self.error: str | None = None
        self.seconds = 0.0
        self._thread: threading.Thread | None = None
        #: Intra-op threads for training (the machine's default, read when torch loads).
        self.train_threads = 1
        #: The app sets this: the GUI thread then computes with one thread. It only measures
        #: shapes on meta tensors and makes small previews, and if it owns an OpenMP team the
        #: training thread's team runs about 25 % slower on this machine (measured).
        self.limit_gui_thread = False
        self.ready.connect(self._on_ready)

    @property
    def is_ready(self) -> bool:
        return self.shapes is not None

    def start(self) -> None:
        if self.is_ready or self._thread is not None:
            return
        if "torch" in sys.modules:  # already there (tests, a second window): no thread
            self._load()
            return
        self._thread = threading.Thread(target=self._load, name="torch-loader", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        start = time.perf_counter()
        try:
            import torch

            from torchloom.engine import shapes
        except Exception as exc:  # noqa: BLE001 - any failure is reported, never raised
            self.error = f"PyTorch could not be loaded: {exc}"
            self.failed.emit(self.error)
            return
        self.seconds = time.perf_counter() - start
        self.train_threads = torch.get_num_threads()
        self.shapes = shapes
        self.ready.emit()

    def _on_ready(self) -> None:
        """Runs on the GUI thread (a queued signal from the loader thread)."""
        if self.limit_gui_thread:
            set_thread_count(1)

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until loaded (scripts and tests only; the GUI never calls this)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.is_ready


def set_thread_count(n: int) -> None:
    """Give the calling thread `n` intra-op threads, whatever other threads set meanwhile.

    `torch.set_num_threads` writes one process-wide number, and each thread reads it once,
    lazily, at its first parallel operation. A background job that set 1 between the
    training thread's set and its first operation left the whole first run on one core
    (measured: 2,800 samples/s instead of 4,500). Reading the count right away makes this
    thread take its setting now; setting it again after that changes only this thread.
    """
    import torch

    torch.set_num_threads(n)
    torch.get_num_threads()  # this thread's lazy initialisation happens here, not later
    torch.set_num_threads(n)


_loader: EngineLoader | None = None


def engine_loader() -> EngineLoader:
    """The process-wide loader."""
    global _loader
    if _loader is None:
        _loader = EngineLoader()
    return _loader
