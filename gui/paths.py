"""Where the app keeps its own files: settings, recent files, autosaves.

`TORCHLOOM_DATA_DIR` overrides the platform's user-data folder (tests use it to stay out
of the person's home).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from torchloom.engine.userdata import data_dir as engine_data_dir


def data_dir() -> Path:
    return engine_data_dir()


def autosave_dir() -> Path:
    path = data_dir() / "autosave"
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings() -> QSettings:
    """An INI file in the data folder: the same on every platform, and easy to inspect."""
    return QSettings(str(data_dir() / "settings.ini"), QSettings.Format.IniFormat)


MAX_RECENT = 10


def recent_files() -> list[str]:
    value = settings().value("recent", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or []) if v]


def add_recent(path: str | Path) -> None:
    path = str(Path(path).resolve())
    items = [p for p in recent_files() if p != path]
    store = settings()
    store.setValue("recent", [path, *items][:MAX_RECENT])
    store.sync()
