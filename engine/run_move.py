"""Moving run folders to another place without ever losing one.

An unsaved project trains into the app's data folder; once it is saved, its runs belong next
to the file (``<project folder>/runs``). A run folder is self-contained (its files name each
other relatively), so it can move as a whole. `move_runs` renames when it can, copies and
then deletes when the destination is on another filesystem, picks a free name when the
run's name is taken there, and says what it did for every folder: a run is only ever
deleted from its old place after a complete copy sits in the new one.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass
class MovedRun:
    """One run folder that now lives at `target`."""

    source: Path
    target: Path
    #: copied across filesystems (then deleted) rather than renamed
    copied: bool = False
    #: the source's name was taken in the destination: `target` has another one
    renamed: bool = False
    #: copied, but the old folder could not be deleted (the copy is the run now)
    left_behind: str | None = None


@dataclass
class MoveReport:
    """What `move_runs` did: the moved runs, and the runs that stayed where they were."""

    destination: Path
    moved: list[MovedRun] = field(default_factory=list)
    #: (run folder, why it could not move): these are untouched
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def mapping(self) -> dict[Path, Path]:
        """Old folder → new folder, for everything that remembers a run by its path."""
        return {m.source: m.target for m in self.moved}

    def lines(self) -> list[str]:
        """Sentences for a person: what moved where, and anything unusual."""
        out = []
        if self.moved:
            count = len(self.moved)
            out.append(f"Moved {count} run{'s' * (count > 1)} to {self.destination}.")
        for m in self.moved:
            if m.renamed:
                out.append(f"{m.source.name} was already taken there: it is now {m.target.name}.")
            if m.left_behind:
                out.append(f"{m.source} was copied to {m.target}, but the old folder could not "
                           f"be deleted ({m.left_behind}); the copy is the one in use.")
        for path, why in self.failed:
            out.append(f"{path} could not move ({why}); it stays where it was.")
        return out


def free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or `folder/name-2`, `-3`... whichever does not exist yet."""
    target, n = folder / name, 2
    while target.exists() or target.is_symlink():
        target, n = folder / f"{name}-{n}", n + 1
    return target


def move_runs(runs: Iterable[Path], destination: Path) -> MoveReport:
    """Move each run folder into `destination` (made if needed); see the module doc."""
    report = MoveReport(destination)
    for source in runs:
        source = Path(source)
        if not source.is_dir():
            continue  # deleted meanwhile: nothing to move
        if source.parent.resolve() == destination.resolve():
            continue  # already there
        try:
            destination.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            report.failed.append((source, exc.strerror or str(exc)))
            continue
        target = free_name(destination, source.name)
        moved = MovedRun(source, target, renamed=target.name != source.name)
        try:
            os.rename(source, target)
        except OSError:  # another filesystem (EXDEV), or a rename refused: copy instead
            why = _copy_then_delete(source, target, moved)
            if why is not None:
                report.failed.append((source, why))
                continue
        report.moved.append(moved)
    return report


def _copy_then_delete(source: Path, target: Path, moved: MovedRun) -> str | None:
    """Copy `source` to a hidden folder beside `target`, rename it into place, then delete
    `source`. Returns why it failed (None: done); a failed copy leaves `source` as it was."""
    partial = target.with_name(f".{target.name}.partial")
    try:
        if partial.exists():
            shutil.rmtree(partial)
        shutil.copytree(source, partial, symlinks=True)
        os.rename(partial, target)
    except (OSError, shutil.Error) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        return getattr(exc, "strerror", None) or str(exc)
    moved.copied = True
    try:
        shutil.rmtree(source)
    except OSError as exc:
        moved.left_behind = exc.strerror or str(exc)
    return None


def remove_if_empty(folder: Path) -> None:
    """Delete `folder` if nothing is left in it (the app's runs folder of an unsaved
    project, once its runs moved out)."""
    try:
        folder.rmdir()
    except OSError:
        pass
