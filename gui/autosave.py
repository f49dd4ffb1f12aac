"""Autosave: every minute, a project with unsaved changes is copied to the app data folder.

Each window session writes ``<pid>-<n>.json`` plus a ``.meta.json`` saying which file it
belongs to. A clean exit or a save removes them; files left by a process that is no longer
running are what a crash left behind, and the next start offers to recover them.

Both files are written atomically (`engine.fileio`), so a session killed at any moment
leaves a whole project or none, never half of one. The meta file goes first and describes
two versions by their sha256: the one about to be written and the one on disk until then.
Killed between the two writes, the project file is still the previous version and the meta
file still knows where it belongs; a project that matches neither is offered as never saved
rather than under a file name it may not belong to (saving it there could overwrite another
project). `leftovers` also sweeps what a killed writer can leave: temporary files, and a
meta file without its project. ``tests/gui/test_autosave.py`` kills autosaving processes at
random moments to check all of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.fileio import (atomic_write_bytes, atomic_write_text, pid_running,
                                     remove_stale_temporaries)
from torchloom.engine.project import Project, dumps_project, loads_project

from .paths import autosave_dir

INTERVAL_MS = 60_000
_numbers = count(1)


def _alive(pid: int) -> bool:
    return pid_running(pid)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Leftover:
    """An autosave a crashed session left behind."""

    project_file: Path
    meta_file: Path
    original: str | None
    name: str
    saved_at: float

    def load(self) -> Project:
        try:
            data = self.project_file.read_bytes()
        except OSError as exc:
            raise ProjectFileError(f"cannot be read: {exc.strerror or exc}",
                                   path=str(self.project_file)) from None
        project = loads_project(data, path=str(self.project_file))
        project.path = Path(self.original) if self.original else None
        return project

    def discard(self) -> None:
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        where = self.original or "a project that was never saved"
        return f"{self.name}: unsaved changes from {when} ({where})"


_AUTOSAVE = re.compile(r"^(?P<pid>\d+)-\d+\.json$")


def leftovers() -> list[Leftover]:
    """The autosaves of sessions that are no longer running, in file-name order."""
    folder = autosave_dir()
    remove_stale_temporaries(folder)  # what writers killed mid-write left
    found = []
    for project_file in sorted(folder.glob("*.json")):
        match = _AUTOSAVE.match(project_file.name)
        if match is None:
            continue
        meta_file = project_file.with_name(project_file.stem + ".meta.json")
        meta = _read_meta(meta_file)
        pid = meta.get("pid")  # the session's (as in the file name, where tests differ)
        if _alive(pid if isinstance(pid, int) else int(match["pid"])):
            continue
        try:
            data = project_file.read_bytes()
            saved_at = project_file.stat().st_mtime
        except OSError:
            continue
        meta = _describing(meta, _digest(data))
        original = meta.get("original")
        name = meta.get("name")
        if not isinstance(name, str):
            name = _project_name(data) or project_file.stem
        time_ = meta.get("time")
        found.append(Leftover(project_file, meta_file,
                              original if isinstance(original, str) else None, name,
                              float(time_) if isinstance(time_, (int, float)) else saved_at))
    for meta_file in folder.glob("*.meta.json"):  # killed before its first project was written
        pid = _read_meta(meta_file).get("pid")
        project_file = meta_file.with_name(meta_file.name.replace(".meta.json", ".json"))
        if isinstance(pid, int) and not _alive(pid) and not project_file.exists():
            meta_file.unlink(missing_ok=True)
    return found


def _describing(meta: dict[str, Any], digest: str) -> dict[str, Any]:
    """The part of a meta file that describes the project with this digest: the version
    it announces, or the one before (killed between the two writes); {} if neither. A
    meta file without digests (written before they were added) describes its project."""
    if "sha256" not in meta:
        return meta
    previous = meta.get("previous")
    for entry in (meta, previous if isinstance(previous, dict) else {}):
        if entry.get("sha256") == digest:
            return entry
    return {}


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _project_name(data: bytes) -> str | None:
    try:
        name = json.loads(data).get("name")
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) else None


class Autosaver(QObject):
    """Writes the current document when it has unsaved changes, on a timer."""

    def __init__(self, get_document, parent: QObject | None = None,  # type: ignore[no-untyped-def]
                 interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.get_document = get_document
        stem = f"{os.getpid()}-{next(_numbers)}"
        self.project_file = autosave_dir() / f"{stem}.json"
        self.meta_file = autosave_dir() / f"{stem}.meta.json"
        #: What the project file holds now (its meta entry), None before the first write.
        self._written: dict[str, Any] | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def save_now(self) -> bool:
        """Write the autosave if the document has unsaved changes; clear it otherwise."""
        doc = self.get_document()
        if doc is None or not doc.dirty:
            self.clear()
            return False
        data = dumps_project(doc.project).encode("utf-8")
        entry = {"original": str(doc.path) if doc.path else None, "name": doc.project.name,
                 "time": time.time(), "sha256": _digest(data)}
        # The meta file first, naming this version and the one still on disk: whichever
        # a kill leaves, the meta file says where it belongs.
        atomic_write_text(self.meta_file, json.dumps(
            {"pid": os.getpid(), **entry, "previous": self._written}))
        atomic_write_bytes(self.project_file, data)
        self._written = entry
        return True

    def clear(self) -> None:
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)
        self._written = None

    def stop(self) -> None:
        self.timer.stop()
        self.clear()
