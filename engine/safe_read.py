"""Reading the files a project or a command line names: regular files only, and never more
bytes than a limit.

A path in someone's project can name anything. `/dev/zero` reads for ever (a size check by
name passes: it says 0 bytes), a FIFO blocks its reader until someone writes, a socket
cannot be read at all. Every read of such a path goes through here: the file is opened
without blocking, `fstat` on the open descriptor (not on the name, which could be swapped
in between) says what it is, and at most `limit` bytes are read, whatever the size claimed.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

#: Opening a FIFO for reading waits for a writer unless asked not to; regular files ignore it.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
    | getattr(os, "O_BINARY", 0)


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, in a person's words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


class NotAFileError(OSError):
    """The path exists but is a folder, device, FIFO or socket. `strerror` reads well after
    "cannot be read: ", the wording the loaders already use for an OSError."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"it is {kind}, not a regular file", path)
        self.kind = kind


class FileTooBigError(OSError):
    """More than the limit: `size` is what was seen (at least limit + 1 bytes)."""

    def __init__(self, path: str, size: int, limit: int) -> None:
        super().__init__(errno.EFBIG, f"it is larger than {size_text(limit)}, the most that "
                         "is read", path)
        self.size, self.limit = size, limit


def size_text(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """The file opened for binary reading, if it is a regular file; `NotAFileError` if it is
    anything else (without ever blocking on it), the usual OSErrors if it cannot be opened."""
    try:
        fd = os.open(os.fspath(path), _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO's other end): say which
            mode = os.stat(os.fspath(path)).st_mode
            if not stat.S_ISREG(mode):
                raise NotAFileError(os.fspath(path), kind_of(mode)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotAFileError(os.fspath(path), kind_of(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_size(handle: BinaryIO) -> int:
    """The size the open file claims (which a file that grows, or /proc, may not keep)."""
    return os.fstat(handle.fileno()).st_size


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most `limit` bytes of a regular file, or `FileTooBigError`: the size is checked
    before reading and the read itself stops one byte past the limit."""
    with open_regular(path) as handle:
        claimed = file_size(handle)
        if claimed > limit:
            raise FileTooBigError(os.fspath(path), claimed, limit)
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooBigError(os.fspath(path), len(data), limit)
    return data


def check_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """For the few readers that take a name, not an open file: what the path is now, or
    `NotAFileError`. Follows links, like opening does."""
    st = os.stat(os.fspath(path))
    if not stat.S_ISREG(st.st_mode):
        raise NotAFileError(os.fspath(path), kind_of(st.st_mode))
    return st
