"""The learning-rate finder (issue 22 §1): a sweep on a copy of the model whose curve falls
then rises, a suggestion inside the range, an early stop on divergence, nothing written."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.cli import main
from torchloom.engine.errors import TrainingError
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import find_lr
from torchloom.engine.train.lr_find import suggest, sweep_rates

from .helpers import mlp_project, regression_project


def test_the_curve_falls_then_rises_and_the_suggestion_is_inside_the_sweep(tmp_path):
    project = mlp_project(tmp_path)
    before = (tmp_path / "mlp.json").read_bytes()
    result = find_lr(project, start=1e-5, end=10.0, steps=60, device="cpu")
    low = result.losses.index(min(result.losses))
    assert 0 < low < len(result.losses) - 1
    assert result.losses[0] > 1.2 * result.losses[low] < result.losses[-1] / 1.2
    assert 1e-5 <= result.suggested_lr <= result.lrs[low] and result.rule == "steepest"
    # a copy: the project, its file and its folder are as they were
    assert (tmp_path / "mlp.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.json"]
    assert project.training.get("lr") is None


def test_a_diverging_loss_ends_the_sweep_early(tmp_path):
    project = regression_project(tmp_path, optimizer="sgd", momentum=0.0)
    result = find_lr(project, start=1e-3, end=1000.0, steps=80, device="cpu")
    assert result.ended == "diverged" and len(result.lrs) < 80
    assert result.suggested_lr < result.lrs[-1]


def test_the_rules():
    rates = sweep_rates(1e-3, 1.0, 4)
    assert rates[0] == 1e-3 and rates[-1] == pytest.approx(1.0)
    assert suggest([1e-3, 1e-2], [2.0, 1.0]) == (pytest.approx(1e-3), "min/10")
    assert suggest(rates, [3.0, 2.9, 1.0, 0.9])[1] == "steepest"
    assert suggest(rates, [3.0, 2.9, 1.0, 0.9])[0] == pytest.approx(rates[1])


def test_a_gan_and_a_bad_range_are_refused(tmp_path):
    with pytest.raises(TrainingError, match="end must be above start"):
        find_lr(mlp_project(tmp_path), start=1.0, end=0.1)
    gan = load_project(examples_dir() / "gan_mnist.json")
    with pytest.raises(TrainingError, match="takes a model with one optimizer; a gan project"):
        find_lr(gan, steps=5, device="cpu")


def test_cli_json(tmp_path, capsys):
    mlp_project(tmp_path)
    code = main(["lr-find", str(tmp_path / "mlp.json"), "--steps", "30", "--start", "1e-4",
                 "--device", "cpu", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(out["lrs"]) == len(out["losses"]) <= 30
    assert out["lrs"][0] == pytest.approx(1e-4)
    assert out["lrs"][0] <= out["suggested_lr"] <= out["lrs"][-1]


def test_cli_text_and_bad_input(tmp_path, capsys):
    mlp_project(tmp_path)
    code = main(["lr-find", str(tmp_path / "mlp.json"), "--steps", "20", "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0 and "suggested lr: " in out
    code = main(["lr-find", str(tmp_path / "nope.json"), "--json"])
    captured = capsys.readouterr()
    assert code == 2 and json.loads(captured.out)["ok"] is False
    assert "no such file" in captured.err
