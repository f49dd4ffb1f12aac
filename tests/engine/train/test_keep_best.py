"""``"keep": "best"`` (issue 22 §1): the best epoch's weights kept in best/, and used by
export, probe and Evaluate; resume still continues from the last checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.cli import main
from torchloom.engine.errors import TrainingError
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.best import load_run_weights

from .helpers import regression_project

#: Adam at this rate overshoots on the tiny regression: its validation loss is lowest at
#: epoch 7 of 8 (0.003, then 0.006), so best/ and the last weights differ.
LR, EPOCHS = 0.3, 8


def train(project, out, **overrides):
    result = prepare_training(project, overrides={"device": "cpu", **overrides},
                              out_dir=out).run()
    assert result.status == "finished", result.error
    return result


@pytest.fixture
def best_run(tmp_path):
    project = regression_project(tmp_path, lr=LR, epochs=EPOCHS, keep="best")
    result = train(project, tmp_path / "run")
    losses = [e.val_loss for e in result.epochs]
    best_epoch = losses.index(min(losses)) + 1
    assert best_epoch < EPOCHS  # else best and last are the same weights: no test
    return project, tmp_path / "run", best_epoch, min(losses)


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_best_holds_the_weights_after_the_best_epoch(best_run, tmp_path):
    project, run_dir, best_epoch, best_loss = best_run
    record = json.loads((run_dir / "best" / "checkpoint.json").read_text())
    assert (record["epoch"], record["metric"]) == (best_epoch, "val_loss")
    assert record["value"] == pytest.approx(best_loss)
    # the same run stopped after that epoch: its last weights are what best/ must hold
    short = regression_project(tmp_path, lr=LR, epochs=best_epoch)
    train(short, tmp_path / "short")
    at_best = load_file(tmp_path / "short" / "model.safetensors")
    assert same(load_file(run_dir / "best" / "model.safetensors"), at_best)
    assert not same(load_file(run_dir / "model.safetensors"), at_best)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["best"]["epoch"] == best_epoch


def test_keep_last_writes_no_best_folder(tmp_path):
    project = regression_project(tmp_path, epochs=2)
    train(project, tmp_path / "run")
    assert not (tmp_path / "run" / "best").exists()
    assert load_run_weights(tmp_path / "run").describe() == "the last weights (step 20)"


def test_export_and_probe_use_the_best_weights_and_say_so(best_run, tmp_path, capsys):
    project, run_dir, best_epoch, best_loss = best_run
    out = tmp_path / "model.safetensors"
    code = main(["export", str(project.path), "-f", "safetensors", "-o", str(out),
                 "--weights", str(run_dir)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert f"using the best weights (epoch {best_epoch}, val_loss {best_loss:.4g})" in printed
    exported = load_file(out)
    best = load_file(run_dir / "best" / "model.safetensors")
    assert torch.equal(exported["fc.weight"], best["fc.weight"])
    trained = load_trained(run_dir, load_project(project.path))
    assert trained.weights_used.startswith(f"the best weights (epoch {best_epoch}, ")
    assert torch.equal(trained.model.fc.weight.detach(), best["fc.weight"])


def test_a_damaged_best_falls_back_to_the_last_weights_and_says_why(best_run):
    _, run_dir, _, _ = best_run
    (run_dir / "best" / "model.safetensors").write_bytes(b"not weights")
    chosen = load_run_weights(run_dir)
    assert chosen.best is None and same(chosen.tensors,
                                        load_file(run_dir / "model.safetensors"))
    assert "the best weights in best/ cannot be used" in chosen.describe()


def test_resume_continues_from_the_last_not_the_best(best_run, tmp_path):
    project, run_dir, _, _ = best_run
    resumed = prepare_training(project, overrides={"device": "cpu", "epochs": EPOCHS + 1},
                               resume=run_dir).run()
    assert resumed.status == "finished"
    whole = regression_project(tmp_path, lr=LR, epochs=EPOCHS + 1)
    train(whole, tmp_path / "whole")
    assert same(load_file(run_dir / "model.safetensors"),
                load_file(tmp_path / "whole" / "model.safetensors"))


def test_a_keep_metric_the_task_does_not_report_lists_those_it_does(tmp_path):
    project = regression_project(tmp_path, keep="best", keep_metric="val_acc")
    with pytest.raises(TrainingError, match="training setting keep_metric") as caught:
        prepare_training(project, overrides={"device": "cpu"}, save=False)
    assert "it reports train_loss, val_loss, val_mae, val_r2" in caught.value.message


def test_an_r2_is_kept_at_its_highest(best_run, tmp_path):
    project, run_dir, _, _ = best_run
    project.training["keep_metric"] = "val_r2"
    result = train(project, tmp_path / "r2")
    r2 = [e.metrics()["val_r2"] for e in result.epochs]
    record = json.loads((tmp_path / "r2" / "best" / "checkpoint.json").read_text())
    assert record["epoch"] == r2.index(max(r2)) + 1


def test_train_cli_takes_keep_flags(tmp_path, capsys):
    regression_project(tmp_path, epochs=2)
    code = main(["train", str(tmp_path / "reg.json"), "--quiet", "--device", "cpu",
                 "--keep", "best", "--keep-metric", "val_mae", "--out", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr()
    record = json.loads((tmp_path / "r" / "best" / "checkpoint.json").read_text())
    assert record["metric"] == "val_mae"


def test_probe_says_it_used_the_best_weights(best_run, tmp_path, capsys):
    project, run_dir, best_epoch, best_loss = best_run
    code = main(["probe", str(project.path), "--weights", str(run_dir), "--node", "fc",
                 "--out", str(tmp_path / "probe")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"using the best weights (epoch {best_epoch}, val_loss {best_loss:.4g})" in \
        captured.err
    code = main(["probe", str(project.path), "--weights", str(run_dir), "--node", "fc",
                 "--out", str(tmp_path / "probe"), "--json"])
    assert json.loads(capsys.readouterr().out)["weights"].startswith("the best weights")
