"""Moving run folders: rename, copy-then-delete across filesystems, free names, and never a
lost run."""

from __future__ import annotations

import errno
import os
import shutil

from torchloom.engine import run_move
from torchloom.engine.run_move import move_runs


def make_run(folder, name, text="weights"):
    run = folder / name
    (run / "samples").mkdir(parents=True)
    (run / "model.safetensors").write_text(text)
    (run / "samples" / "epoch_001.png").write_text("png")
    return run


def contents(run):
    return sorted((str(p.relative_to(run)), p.read_text() if p.is_file() else "")
                  for p in run.rglob("*"))


def test_runs_are_renamed_into_the_destination(tmp_path):
    old = tmp_path / "appdata" / "runs" / "Untitled"
    a, b = make_run(old, "20240101-120000", "a"), make_run(old, "20240101-130000", "b")
    want = contents(a)
    report = move_runs([a, b], tmp_path / "project" / "runs")
    new = tmp_path / "project" / "runs"
    assert report.mapping == {a: new / a.name, b: new / b.name} and not report.failed
    assert not a.exists() and not b.exists() and contents(new / a.name) == want
    assert report.lines() == [f"Moved 2 runs to {new}."]


def test_a_name_already_taken_gets_a_free_one(tmp_path):
    run = make_run(tmp_path / "old", "20240101-120000", "mine")
    make_run(tmp_path / "runs", "20240101-120000", "theirs")
    make_run(tmp_path / "runs", "20240101-120000-2", "theirs too")
    report = move_runs([run], tmp_path / "runs")
    (moved,) = report.moved
    assert moved.renamed and moved.target.name == "20240101-120000-3"
    assert (moved.target / "model.safetensors").read_text() == "mine"
    assert (tmp_path / "runs" / "20240101-120000" / "model.safetensors").read_text() == "theirs"
    assert "it is now 20240101-120000-3" in " ".join(report.lines())


def test_another_filesystem_copies_then_deletes(tmp_path, monkeypatch):
    run = make_run(tmp_path / "old", "r1")
    want = contents(run)
    monkeypatch.setattr(run_move.os, "rename", _rename_except(run))
    report = move_runs([run], tmp_path / "new")
    (moved,) = report.moved
    assert moved.copied and not run.exists() and contents(moved.target) == want
    assert not list((tmp_path / "new").glob(".*"))  # no partial copy left


def test_a_failed_copy_leaves_the_run_where_it_was(tmp_path, monkeypatch):
    run = make_run(tmp_path / "old", "r1")
    want = contents(run)
    monkeypatch.setattr(run_move.os, "rename", _rename_except(run))

    def disk_full(src, dst, symlinks=False):
        os.makedirs(dst)
        (tmp_path / "new" / ".r1.partial" / "half").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_move.shutil, "copytree", disk_full)
    report = move_runs([run], tmp_path / "new")
    assert report.moved == [] and report.failed == [(run, "No space left on device")]
    assert contents(run) == want and not (tmp_path / "new" / ".r1.partial").exists()
    assert "stays where it was" in report.lines()[0]


def test_an_old_folder_that_cannot_be_deleted_is_said(tmp_path, monkeypatch):
    run = make_run(tmp_path / "old", "r1")
    monkeypatch.setattr(run_move.os, "rename", _rename_except(run))
    real_rmtree = shutil.rmtree

    def refuse(path, *args, **kwargs):
        if os.fspath(path) == os.fspath(run):
            raise PermissionError(errno.EACCES, "Permission denied")
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(run_move.shutil, "rmtree", refuse)
    report = move_runs([run], tmp_path / "new")
    (moved,) = report.moved
    assert moved.copied and moved.left_behind == "Permission denied" and run.exists()
    assert (moved.target / "model.safetensors").exists()
    assert "could not be deleted" in " ".join(report.lines())


def test_missing_runs_and_runs_already_there_are_skipped(tmp_path):
    here = make_run(tmp_path / "runs", "r1")
    report = move_runs([tmp_path / "gone", here], tmp_path / "runs")
    assert report.moved == [] and report.failed == [] and here.exists()


def _rename_except(run):
    """os.rename, except that `run` is on another filesystem."""
    real = os.rename

    def rename(src, dst):
        if os.fspath(src) == os.fspath(run):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)
    return rename
