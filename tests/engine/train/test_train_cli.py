"""`torchloom train`: exit codes, the run folder, --metrics-json and --resume."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchloom.engine.cli import main

from .helpers import mlp_project, regression_project


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_writes_a_run_next_to_the_project(capsys, tmp_path):
    mlp_project(tmp_path)
    code, out, _ = run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet",
                       "--metrics-json", str(tmp_path / "m.json"))
    assert code == 0, out
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.safetensors").exists()
    assert "epoch 2: train loss" in out and "done: validation accuracy" in out
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["device"] == "cpu" and len(metrics["epochs"]) == 2
    assert set(metrics["epochs"][0]) == {"epoch", "train_loss", "train_acc", "val_loss",
                                         "val_acc", "samples_per_s"}


def test_train_overrides_and_out(capsys, tmp_path):
    mlp_project(tmp_path)
    code, out, _ = run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet", "--epochs", "1",
                       "--device", "cpu", "--amp", "bf16", "--out", str(tmp_path / "r1"))
    assert code == 0 and (tmp_path / "r1" / "metrics.csv").read_text().count("\n") == 2


def test_train_resume_continues_the_run(capsys, tmp_path):
    mlp_project(tmp_path, epochs=1)
    assert run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet", "--out",
               str(tmp_path / "r"))[0] == 0
    code, out, _ = run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet", "--resume",
                       str(tmp_path / "r"), "--epochs", "2")
    assert code == 0 and "resuming" in out and "epoch 2:" in out and "epoch 1:" not in out


def test_training_failure_exits_1(capsys, tmp_path):
    regression_project(tmp_path, optimizer="sgd", lr=10.0, momentum=0.0)
    code, _, err = run(capsys, "train", str(tmp_path / "reg.json"), "--quiet")
    assert code == 1 and "training failed: the loss became NaN" in err


@pytest.mark.parametrize("problem", ["graph", "data", "file", "shape", "device"])
def test_bad_project_or_data_exits_2(capsys, tmp_path, problem):
    project = mlp_project(tmp_path)
    path = tmp_path / "mlp.json"
    text = path.read_text()
    if problem == "graph":
        text = text.replace('"out_features": 10', '"out_features": -1')
    elif problem == "data":
        np.savez(tmp_path / "d.npz", x=np.zeros((4, 64)), y=np.arange(3))
        text = text.replace('{"name": "digits"}', '{"path": "d.npz"}')
    elif problem == "file":
        text = text[:50]
    elif problem == "shape":
        text = text.replace('[1, 8, 8]', '[1, 28, 28]')
    path.write_text(text)
    extra = ["--device", "cuda:3"] if problem == "device" else []
    code, out, err = run(capsys, "train", str(path), "--quiet", *extra)
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    expected = {"graph": "out_features must be", "data": "'x' has 4 samples but 'y' has 3",
                "file": "not valid JSON", "shape": "expects [1, 28, 28]",
                "device": "device 'cuda:3' is not available"}[problem]
    assert expected in err
    assert project is not None


def test_a_metrics_json_in_a_missing_folder_is_refused_before_training(capsys, tmp_path):
    """It was an "internal error" (exit 3) after the whole run had trained."""
    mlp_project(tmp_path)
    code, out, err = run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet",
                         "--metrics-json", str(tmp_path / "nowhere" / "m.json"))
    assert code == 2, err
    assert "nowhere" in err and "does not exist" in err and "internal error" not in err
    assert "epoch" not in out and not (tmp_path / "runs").exists()


def test_a_metrics_json_that_cannot_be_written_says_so_and_keeps_the_run(
        capsys, tmp_path, monkeypatch):
    import errno

    from torchloom.engine.cli import train as train_cli

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    mlp_project(tmp_path)
    monkeypatch.setattr(train_cli, "atomic_write_text", full)
    code, out, err = run(capsys, "train", str(tmp_path / "mlp.json"), "--quiet", "--out",
                         str(tmp_path / "run"), "--metrics-json", str(tmp_path / "m.json"))
    assert code == 2, err
    assert "m.json: cannot be written (No space left on device)" in err
    assert str(tmp_path / "run") in err and "internal error" not in err
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "finished"
