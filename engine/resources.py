"""Where the bundled resources (examples, data) are, installed or in a checkout."""

from __future__ import annotations

import importlib
from pathlib import Path


def resource_dir() -> Path:
    """The `resources/` folder. It is a namespace package, whose path may also hold an
    editable install's placeholder entry, so take the first entry that is a real folder."""
    package = importlib.import_module("torchloom.resources")
    for entry in package.__path__:
        if Path(entry).is_dir():
            return Path(entry)
    raise FileNotFoundError("torchloom.resources is not installed")  # pragma: no cover


def examples_dir() -> Path:
    return resource_dir() / "examples"


def data_dir() -> Path:
    return resource_dir() / "data"
