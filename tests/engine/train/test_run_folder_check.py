"""A run folder that cannot be written is said before the first step, with the exit code of
every path that cannot be used (2), and no empty folder is left behind."""

from __future__ import annotations

import errno
import tempfile

from torchloom.engine.cli import main
from torchloom.engine.resources import examples_dir


def test_a_read_only_run_folder_exits_2_at_once_and_leaves_nothing(capsys, tmp_path,
                                                                  monkeypatch):
    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    out = tmp_path / "run"
    code = main(["train", str(examples_dir() / "mlp_digits.json"), "--epochs", "1",
                 "--out", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert f"cannot write the run folder {out} (Read-only file system)" in captured.err
    assert "epoch" not in captured.out  # refused before training, not failed during it
    assert not out.exists()
