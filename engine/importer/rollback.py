"""An import writes its files (project, weights, code, copied sibling modules) all or none.

The code file must exist at its final path while the import still runs (the Code nodes'
shape check loads it), so the files cannot simply be written at the end. Instead every
path the import may write is known up front: a file already there (replaced with
``--force``) is moved aside first, and a failed import removes what it wrote and puts the
old files back, so a person never finds half an import, or loses the project they had,
because an import failed.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType

#: The guard of the import running in this thread, for writes deep inside it (the sibling
#: files a code file needs are known only once it is written).
_current: ContextVar["WriteGuard | None"] = ContextVar("import_write_guard", default=None)


def created(path: Path) -> None:
    """Tell the running import's guard that `path` (which did not exist) is being written,
    so a failed import removes it."""
    guard = _current.get()
    if guard is not None and Path(path) not in guard.paths:
        guard.paths.append(Path(path))


class WriteGuard:
    """Keeps `paths` as they were unless `commit` is called before the guard closes."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = list(dict.fromkeys(Path(p) for p in paths))
        self._aside: dict[Path, Path] = {}
        self._committed = False

    def __enter__(self) -> "WriteGuard":
        for path in self.paths:
            if path.is_file():
                aside = path.with_name(f".{path.name}.torchloom-old")
                os.replace(path, aside)
                self._aside[path] = aside
        self._token = _current.set(self)
        return self

    def commit(self) -> None:
        self._committed = True

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _current.reset(self._token)
        if self._committed:
            for aside in self._aside.values():
                _remove(aside)
            return
        for path in self.paths:
            _remove(path)
        for path, aside in self._aside.items():
            try:
                os.replace(aside, path)
            except OSError:  # pragma: no cover - the folder went away under us
                pass


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - a file we cannot remove stays; nothing to do
        pass
