"""Reading a CSV row by row within the data limit: its lines from the unpacked stream, and
its feature cells gathered in float32 chunks.

As Python objects a table is about 15 times its size as float32 (a float and a list slot
per cell): a 285 KB ``.csv.gz`` took 5.9 GB that way. Here a chunk of rows is converted
to float32 as soon as it is complete, the memory held so far (cells at 4 bytes, label text
as Python strings) is counted against the data limit row by row, and one line may be at
most a share of the limit, so no single row holds millions of strings either.
"""

from __future__ import annotations

import io
import sys
from typing import Callable, Iterator

import numpy as np

from ..errors import DataError
from ..safe_read import size_text
from .files import FLOAT32_MAX
from .limits import CSV_LINE_SHARE, how_to_raise, max_data_bytes
from .stream import DataStream

#: Feature cells converted together: small enough that their strings stay small (~60 MB).
CHUNK_CELLS = 2**20
#: What holding one label string costs besides its characters (object header, list slot).
LABEL_OVERHEAD = sys.getsizeof("") + 8
#: What each row costs besides its cells: its list of labels and its row number.
ROW_OVERHEAD = sys.getsizeof([]) + sys.getsizeof(2**40) + 16


def csv_lines(stream: DataStream, shown: str) -> Iterator[str]:
    """The stream's lines as text (UTF-8, a byte-order mark dropped), each at most
    1/`CSV_LINE_SHARE` of the data limit; `DataError` for bytes that are not UTF-8."""
    text = io.TextIOWrapper(io.BufferedReader(stream, 2**16), encoding="utf-8-sig",
                            newline="")
    cap = max(max_data_bytes() // CSV_LINE_SHARE, 2**16)
    row = 0
    while True:
        try:
            line = text.readline(cap + 1)
        except UnicodeDecodeError:
            raise DataError("is not UTF-8 text", path=shown, where=f"row {row + 1}") from None
        if not line:
            return
        row += 1
        if len(line) > cap:
            raise DataError(f"row {row} is longer than {cap:,} characters, the longest line "
                            f"read (1/{CSV_LINE_SHARE} of the {size_text(max_data_bytes())} "
                            f"limit on data held in memory); {how_to_raise()}", path=shown,
                            where=f"row {row}")
        yield line


class FeatureRows:
    """Feature cells of the rows read so far, as float32 chunks, and the memory they and
    the labels hold, checked against the data limit as each row arrives."""

    def __init__(self, columns: list[str], shown: str,
                 number: Callable[[str, str, int, str], float]) -> None:
        self.columns, self.shown, self._number = columns, shown, number
        self.limit = max_data_bytes()
        self.held = 0
        self.rows = 0
        #: the float32 rows converted so far; a bytearray grows in place (no second copy
        #: of the table while it grows, and none at the end)
        self._done = bytearray()
        self._pending: list[list[str]] = []
        self._pending_rows: list[int] = []

    def add(self, cells: list[str], labels: list[str], line_no: int) -> None:
        self._pending.append(cells)
        self._pending_rows.append(line_no)
        self.rows += 1
        self.held += ROW_OVERHEAD + 4 * len(cells) + sum(LABEL_OVERHEAD + len(v) for v in labels)
        if self.held > self.limit:
            raise DataError(f"holds more than {size_text(self.limit)} of data by row "
                            f"{line_no} ({self.rows:,} rows × {len(self.columns) + len(labels)}"
                            f" columns), the limit on data held in memory; {how_to_raise()}",
                            path=self.shown, where=f"row {line_no}")
        if len(self._pending) * max(len(cells), 1) >= CHUNK_CELLS:
            self.flush()

    def flush(self) -> None:
        """Convert the pending rows; the first bad cell among them is a DataError."""
        if not self._pending:
            return
        try:
            chunk = np.array(self._pending, dtype=np.float64)
            fast = bool(np.isfinite(chunk).all() and (np.abs(chunk) <= FLOAT32_MAX).all())
        except ValueError:
            fast = False
        if not fast:  # the same checks cell by cell, so the first bad one is named
            chunk = np.array([[self._number(cell, self.shown, line_no, self.columns[col])
                               for col, cell in enumerate(row)]
                              for row, line_no in zip(self._pending, self._pending_rows)],
                             dtype=np.float64)
        self._done += chunk.astype(np.float32).tobytes()
        self._pending, self._pending_rows = [], []

    def array(self) -> np.ndarray:
        """[rows, features] float32 over the bytes converted (writable, not copied)."""
        self.flush()
        flat = np.frombuffer(self._done, dtype=np.float32) if self._done else \
            np.zeros(0, np.float32)
        return flat.reshape(self.rows, len(self.columns))
