"""A model that prints while it is built or run (a summary, a progress line, a warning)
must not break ``torchloom import --json``, whose stdout is one JSON object: what it
prints is captured and reported as a note instead."""

from __future__ import annotations

import contextlib
import io
from typing import Iterator

#: How many of the printed lines a note shows.
SHOWN_LINES = 5


class Printed:
    """What the person's code wrote to stdout and stderr."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.err = io.StringIO()

    def notes(self) -> list[str]:
        notes = []
        for stream, name in ((self.out, "stdout"), (self.err, "stderr")):
            lines = [line.rstrip() for line in stream.getvalue().splitlines() if line.strip()]
            if not lines:
                continue
            shown = " | ".join(line if len(line) <= 120 else line[:117] + "..."
                               for line in lines[:SHOWN_LINES])
            more = f" (and {len(lines) - SHOWN_LINES} more lines)" if len(lines) > SHOWN_LINES \
                else ""
            notes.append(f"the model printed {len(lines)} line(s) to {name} while it was "
                         f"imported: {shown}{more}")
        return notes


@contextlib.contextmanager
def captured_output() -> Iterator[Printed]:
    """Capture Python-level writes to sys.stdout and sys.stderr (prints, warnings)."""
    printed = Printed()
    with contextlib.redirect_stdout(printed.out), contextlib.redirect_stderr(printed.err):
        yield printed
