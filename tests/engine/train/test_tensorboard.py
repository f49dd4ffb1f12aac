"""TensorBoard event files from any run (issue 22 §5): read back with tensorboard's own
reader."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from torchloom.engine.errors import TrainingError
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import mlp_project

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator)


def _read(folder: Path) -> EventAccumulator:
    files = list(folder.glob("events.out.tfevents.*"))
    assert files, f"no event file in {folder}"
    acc = EventAccumulator(str(folder), size_guidance={"histograms": 0, "scalars": 0})
    acc.Reload()
    return acc


def test_a_one_epoch_run_writes_scalars_histograms_and_the_graph(tmp_path):
    project = mlp_project(tmp_path, epochs=1, tensorboard=True, stats_every=10)
    job = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "run")
    result = job.run()
    assert result.status == "finished"
    acc = _read(tmp_path / "run" / "tensorboard")
    tags = acc.Tags()
    assert {"train/loss", "train/lr", "epoch/train_loss", "epoch/val_loss", "epoch/val_acc",
            "epoch/train_acc", "epoch/lr"} <= set(tags["scalars"])
    assert {"weights/fc1", "gradients/fc1", "weights/fc2", "gradients/fc2"} <= \
        set(tags["histograms"])
    assert acc.Scalars("epoch/val_acc")[-1].value == pytest.approx(result.final.val_acc)
    assert acc.Scalars("epoch/val_loss")[-1].step == result.step
    hist = acc.Histograms("weights/fc1")[-1].histogram_value
    assert hist.num == 64 * 32 + 32  # fc1's weight and bias, every value
    assert tags["graph"] is True


def test_the_graph_is_written_without_changing_the_run(tmp_path):
    """Tracing the model runs it once: in eval mode with the random state put back, so a run
    with dropout and TensorBoard ends with the weights of a run without."""
    weights = []
    for on in (False, True):
        folder = tmp_path / str(on)
        folder.mkdir()
        project = mlp_project(folder, dropout=0.3, epochs=1, tensorboard=on)
        job = prepare_training(project, overrides={"device": "cpu"}, out_dir=folder / "run")
        assert job.run().status == "finished"
        weights.append(job.model.fc2.weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_the_cli_flag_writes_into_the_folder_given(tmp_path):
    mlp_project(tmp_path, epochs=1)
    logs = tmp_path / "logs"
    done = subprocess.run([sys.executable, "-m", "torchloom.engine.cli", "train",
                           str(tmp_path / "mlp.json"), "--device", "cpu", "--quiet",
                           "--out", str(tmp_path / "run"), "--tensorboard", str(logs)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "epoch/val_acc" in _read(logs).Tags()["scalars"]
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_without_the_package_asking_for_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    project = mlp_project(tmp_path, epochs=1, tensorboard=True)
    with pytest.raises(TrainingError, match=r"pip install torchloom\[tensorboard\]") as caught:
        prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "run")
    assert "training setting tensorboard" in caught.value.message
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_without_the_package_the_cli_exits_2_with_the_hint(tmp_path):
    mlp_project(tmp_path, epochs=1)
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\nsys.modules['torch.utils.tensorboard'] = None\n")
    env = {**__import__("os").environ}
    env["PYTHONPATH"] = f"{blocker}:{env.get('PYTHONPATH', '')}"
    done = subprocess.run([sys.executable, "-m", "torchloom.engine.cli", "train",
                           str(tmp_path / "mlp.json"), "--device", "cpu", "--quiet",
                           "--tensorboard"], capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 2, done.stderr
    assert "pip install torchloom[tensorboard]" in done.stderr
    assert "Traceback" not in done.stderr


def test_training_without_tensorboard_does_not_import_it(tmp_path):
    code = ("import sys\n"
            "from torchloom.engine.project import load_project\n"
            "from torchloom.engine.tasks.prepare import prepare_training\n"
            f"p = load_project({str(tmp_path / 'mlp.json')!r})\n"
            "job = prepare_training(p, overrides={'device': 'cpu'}, save=False)\n"
            "job.run()\n"
            "print('torch.utils.tensorboard' in sys.modules)\n")
    mlp_project(tmp_path, epochs=1)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_a_model_torch_cannot_trace_trains_on_with_a_note(tmp_path, monkeypatch, capfd):
    from torch.utils.tensorboard import SummaryWriter

    def refuse(self, model, example=None, **kwargs):
        print("Error occurs, No graph saved")  # as torch's own add_graph does
        raise RuntimeError("cannot trace a data-dependent branch")

    monkeypatch.setattr(SummaryWriter, "add_graph", refuse)
    project = mlp_project(tmp_path, epochs=1, tensorboard=True)
    result = prepare_training(project, overrides={"device": "cpu"},
                              out_dir=tmp_path / "run").run()
    assert result.status == "finished"
    notes = __import__("json").loads((tmp_path / "run" / "run.json").read_text())["notes"]
    assert any("graph was not written" in n and "data-dependent branch" in n for n in notes)
    assert "No graph saved" not in capfd.readouterr().out  # no stray print on stdout
    acc = _read(tmp_path / "run" / "tensorboard")
    assert acc.Tags()["graph"] is False and "epoch/val_loss" in acc.Tags()["scalars"]
