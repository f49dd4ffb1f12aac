"""Atomic file writes: a crash or a full disk never leaves half a file where a good one was.

A write goes to a temporary file beside the target, named ``.<name>.<pid>-<random>.tmp``,
which is flushed to disk and then renamed over the target. A process killed mid-write
(SIGKILL, power loss) leaves the target untouched, old and complete, plus at most that one
temporary file. Readers only ever open the target, so a leftover is ignored; the next write
of the same target first removes the leftovers of writers that are no longer running (the
pid in the name says whose it is; a live writer's file is never touched). The kill test in
``tests/engine/test_fileio_kill.py`` checks all of this with SIGKILL at random moments.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .procstatus import status_field

#: ``.<name>.<pid>-<8 random characters>.tmp``: what `atomic_write_bytes` leaves when killed.
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[a-z0-9_]{8}\.tmp$")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, then rename it.

    The rename is atomic on POSIX and Windows, so readers see the old file or the new one,
    never a mix. On any failure the temporary file is removed and the old file is untouched.
    """
    target = Path(path)
    remove_stale_temporaries(target.parent, target.name)  # before: even if this one is killed
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}-", suffix=".tmp",
                               dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o666 & ~umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def stale_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> list[Path]:
    """Temporary files in `folder` left by atomic writes whose process is no longer running
    (for the target `name` only, or for every target)."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = _TEMP.match(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        if not pid_running(int(match["pid"])):
            found.append(Path(entry.path))
    return sorted(found)


def remove_stale_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> int:
    """Delete what `stale_temporaries` finds; returns how many went. Never raises: a
    leftover that cannot be removed now is tried again on the next write."""
    removed = 0
    for path in stale_temporaries(folder, name):
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def pid_running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (our own process counts)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        return _pid_running_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it runs
        return True
    except OSError:
        return False
    return True


def _pid_running_windows(pid: int) -> bool:
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    code = ctypes.c_ulong()
    try:
        ok = kernel.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel.CloseHandle(handle)


def umask() -> int:
    """The process's umask. Read from /proc where there is one: setting it to read it (the
    portable way) briefly changes it for every thread, and exports run on worker threads."""
    value = status_field("Umask")
    if value is not None:
        try:
            return int(value, 8)
        except ValueError:
            pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not possible (nor needed) on every platform."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
