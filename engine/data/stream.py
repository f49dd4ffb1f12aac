"""Reading a data file as a stream: unpacked as it is read when gzipped, every unpacked byte
counted against the data limit, and the count sent to whoever shows progress.

A whole-file read checks only the bytes on disk; a gzip bomb passes that check and then
fills the memory as it unpacks. Here the running count stops the read one chunk past the
limit, whatever the header or the file size claimed, and the loaders parse from the stream
(a CSV row by row, an IDX or NPZ array straight into its buffer) instead of holding the file.
"""

from __future__ import annotations

import gzip
import io
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import DataError
from ..safe_read import file_size, open_regular, size_text
from . import progress
from .limits import check_data_bytes, max_data_bytes, too_much_data

GZIP_MAGIC = b"\x1f\x8b"
#: The most one read asks for: a read of a whole declared array would unpack it into a
#: temporary copy first.
CHUNK = 4 * 2**20
#: How often (in unpacked bytes) progress is reported.
REPORT_EVERY = 4 * 2**20


def _reason(exc: BaseException) -> str:
    from .files import reason

    return reason(exc)


class DataStream(io.RawIOBase):
    """The unpacked bytes of one data file; `DataError` for a read past the limit or for
    broken packing. `done` counts the bytes delivered so far."""

    def __init__(self, inner: io.BufferedIOBase, shown: str, packed: bool, size: int,
                 share: int = 1, why: str = "") -> None:
        super().__init__()
        #: `size`: the file's size on disk (what it unpacks to is known only at the end).
        self._inner, self.shown, self.packed, self.size = inner, shown, packed, size
        self.share, self.why = share, why
        self.limit = max_data_bytes() // share
        self.done = 0
        self._next_report = REPORT_EVERY

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "bytearray | memoryview") -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")[:CHUNK]
        try:
            got = self._inner.readinto(view)
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            what = "is not a readable gzip file" if self.packed else "cannot be read"
            raise DataError(f"{what} ({_reason(exc)})", path=self.shown) from None
        self.done += got or 0
        if self.done > self.limit:
            raise too_much_data("unpacks to more than" if self.packed else "is larger than",
                                self.shown, self.share, self.why)
        if self.done >= self._next_report:
            self._next_report = self.done + REPORT_EVERY
            progress.report(self.shown, self.done)
        return got or 0

    def fill(self, buffer: "bytearray | memoryview") -> int:
        """Read until `buffer` is full or the file ends; the bytes read."""
        view = memoryview(buffer).cast("B")
        total = 0
        while total < len(view):
            got = self.readinto(view[total:])
            if not got:
                break
            total += got
        return total

    def drain(self) -> None:
        """Read what is left and drop it, so that a gzip file's end (its checksum, a cut)
        is checked too; counted against the limit like any read."""
        chunk = bytearray(CHUNK)
        while self.readinto(chunk):
            pass

    def read_all(self) -> bytearray:
        """Everything left, grown as it arrives (never sized by what a header claims)."""
        out = bytearray()
        chunk = bytearray(CHUNK)
        while True:
            got = self.readinto(chunk)
            if not got:
                return out
            out += memoryview(chunk)[:got]


@contextmanager
def open_data(path: Path, share: int = 1, why: str = "") -> Iterator[DataStream]:
    """The file's unpacked bytes (gzip when it starts with the gzip magic number), with the
    file's own size checked first. Errors opening it are `DataError`s naming it. A reader
    whose data takes `share` times its bytes in memory reads at most 1/`share` of the data
    limit (`why` says why, in the refusal)."""
    shown = str(path)
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        raise DataError("no such file", path=shown) from None
    except OSError as exc:
        raise DataError(f"cannot be read ({_reason(exc)})", path=shown) from None
    with handle:
        size = file_size(handle)
        check_data_bytes(size, f"is {size_text(size)}", shown)
        packed = handle.read(2) == GZIP_MAGIC
        handle.seek(0)
        inner: io.BufferedIOBase = gzip.GzipFile(fileobj=handle) if packed else handle
        stream = DataStream(inner, shown, packed, size, share, why)
        try:
            yield stream
        finally:
            if stream.done >= REPORT_EVERY:
                progress.report(shown, stream.done, finished=True)
            if packed:
                inner.close()

