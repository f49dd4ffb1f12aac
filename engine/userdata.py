"""The app's own folder for per-person files (trusted code hashes, settings, autosaves).

`TORCHLOOM_DATA_DIR` overrides the platform's user-data folder; tests use it to stay out of
the person's home. The GUI's `paths.data_dir` is this same folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    override = os.environ.get("TORCHLOOM_DATA_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("torchloom", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path
