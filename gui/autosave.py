"""Autosave: every minute, a project with unsaved changes is copied to the app data folder.

Each window session writes ``<pid>-<n>.json`` plus a ``.meta.json`` saying which file it
belongs to. A clean exit or a save removes them; files left by a process that is no longer
running are what a crash left behind, and the next start offers to recover them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from torchloom.engine.fileio import atomic_write_text
from torchloom.engine.project import Project, dumps_project, loads_project

from .paths import autosave_dir

INTERVAL_MS = 60_000
_numbers = count(1)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Leftover:
    """An autosave a crashed session left behind."""

    project_file: Path
    meta_file: Path
    original: str | None
    name: str
    saved_at: float

    def load(self) -> Project:
        project = loads_project(self.project_file.read_bytes(), path=str(self.project_file))
        project.path = Path(self.original) if self.original else None
        return project

    def discard(self) -> None:
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.saved_at))
        where = self.original or "a project that was never saved"
        return f"{self.name}: unsaved changes from {when} ({where})"


def leftovers() -> list[Leftover]:
    found = []
    for meta_file in sorted(autosave_dir().glob("*.meta.json")):
        try:
            meta = json.loads(meta_file.read_text())
            pid = int(meta["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        project_file = meta_file.with_name(meta_file.name.replace(".meta.json", ".json"))
        if _alive(pid) or not project_file.exists():
            continue
        found.append(Leftover(project_file, meta_file, meta.get("original"),
                              str(meta.get("name", project_file.stem)),
                              float(meta.get("time", project_file.stat().st_mtime))))
    return found


class Autosaver(QObject):
    """Writes the current document when it has unsaved changes, on a timer."""

    def __init__(self, get_document, parent: QObject | None = None,  # type: ignore[no-untyped-def]
                 interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.get_document = get_document
        stem = f"{os.getpid()}-{next(_numbers)}"
        self.project_file = autosave_dir() / f"{stem}.json"
        self.meta_file = autosave_dir() / f"{stem}.meta.json"
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
        atomic_write_text(self.project_file, dumps_project(doc.project))
        meta = {"pid": os.getpid(), "original": str(doc.path) if doc.path else None,
                "name": doc.project.name, "time": time.time()}
        atomic_write_text(self.meta_file, json.dumps(meta))
        return True

    def clear(self) -> None:
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)

    def stop(self) -> None:
        self.timer.stop()
        self.clear()
