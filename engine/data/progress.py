"""Telling whoever waits how far a long read has come, without the loaders knowing who.

A front end (the command line's `torchloom train`) wraps its load in `reading_progress`;
the bounded reader (`engine.data.stream`) calls `report` as bytes unpack. Nothing is
reported when no one listens, so the loaders cost nothing extra in tests or the GUI.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

#: (file shown, bytes unpacked so far, finished) -> None
Listener = Callable[[str, int, bool], None]

_listener: ContextVar[Listener | None] = ContextVar("torchloom_read_progress", default=None)


@contextmanager
def reading_progress(listener: Listener) -> Iterator[None]:
    """Send the progress of every data file read inside the block to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report(path: str, done: int, finished: bool = False) -> None:
    listener = _listener.get()
    if listener is not None:
        listener(path, done, finished)
