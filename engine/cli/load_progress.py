"""How far a slow data load has come, on stderr: a bytes bar on a terminal, a line every
few seconds otherwise. Shown only once a load has taken more than a second, so a quick one
prints nothing (the reader reports as bytes unpack, see `engine.data.progress`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from .output import one_line, say

#: A load faster than this shows nothing.
QUIET_SECONDS = 1.0
#: Off a terminal: one line per this many seconds.
LINE_EVERY = 5.0


class LoadProgress:
    """A `engine.data.progress` listener that draws bytes read per file."""

    def __init__(self, stream: Any = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.started = time.monotonic()
        self._bar: Any = None
        self._last_line = 0.0

    def __call__(self, path: str, done: int, finished: bool) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if finished:
            self._close()
            if now - self.started > QUIET_SECONDS:
                say(f"read {Path(path).name}: {done / 1e6:,.0f} MB in {now - self.started:.0f} s",
                    self.stream)
            self.started = now
            return
        if now - self.started < QUIET_SECONDS:
            return
        if self._terminal():
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(desc=one_line(f"reading {Path(path).name}"), unit="B",
                                 unit_scale=True, file=self.stream, leave=False)
            self._bar.update(done - self._bar.n)
        elif now - self._last_line >= LINE_EVERY:
            self._last_line = now
            say(f"reading {Path(path).name}: {done / 1e6:,.0f} MB so far", self.stream)

    def _terminal(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
