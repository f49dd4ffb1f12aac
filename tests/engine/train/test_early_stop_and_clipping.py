"""Early stopping and gradient clipping (issue 22, part 1): settings of every task, written
once in the run loop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from torchloom.engine.errors import TrainingError
from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.callbacks import EpochReport
from torchloom.engine.train.early_stop import EarlyStopping

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
CLASSIFIER_METRICS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def epochs(val_losses: list[float]) -> list[EpochReport]:
    return [EpochReport(i + 1, 1.0, None, v, None, 1.0, 100.0) for i, v in enumerate(val_losses)]


def test_it_stops_patience_epochs_after_the_best_and_not_before():
    rule = EarlyStopping.from_setting({"patience": 3}, CLASSIFIER_METRICS)
    assert rule is not None and (rule.metric, rule.mode) == ("val_loss", "min")
    history = epochs([1.0, 0.5, 0.6, 0.55, 0.7])
    assert [rule.verdict(history[:k]) for k in range(1, 5)] == [None] * 4
    assert rule.verdict(history) == {"epoch": 5, "metric": "val_loss", "best": 0.5,
                                     "best_epoch": 2, "patience": 3}


def test_an_improvement_smaller_than_min_delta_does_not_count():
    rule = EarlyStopping.from_setting({"patience": 2, "min_delta": 0.1}, CLASSIFIER_METRICS)
    assert rule is not None
    assert rule.verdict(epochs([1.0, 0.95, 0.92]))["best_epoch"] == 1  # type: ignore[index]


def test_an_accuracy_is_maximised_unless_told_otherwise():
    rule = EarlyStopping.from_setting({"metric": "val_acc"}, CLASSIFIER_METRICS)
    assert rule is not None and rule.mode == "max"


@pytest.mark.parametrize("spec, words", [
    ({"patience": 0}, "patience must be a whole number of epochs, 1 or more"),
    ({"patience": -2}, "patience must be"),
    ({"metric": "val_r2"}, "it reports train_loss, train_acc, val_loss, val_acc"),
    ({"mode": "lowest"}, "mode must be 'min' or 'max'"),
    ({"min_delta": -1}, "min_delta must be"),
    ({"patients": 3}, "has no key 'patients'"),
])
def test_a_bad_setting_names_what_is_wrong(spec, words):
    with pytest.raises(TrainingError, match="training setting early_stopping") as caught:
        EarlyStopping.from_setting(spec, CLASSIFIER_METRICS)
    assert words in caught.value.message


def test_a_run_on_a_plateau_stops_and_says_so_in_its_folder(tmp_path):
    """A learning rate so small that nothing is learnt: a plateau made on purpose. With a
    patience of 2 the run ends after epoch 3 of 20."""
    project = load_project(EXAMPLES / "mlp_digits.json")
    project.training.update(lr=1e-9, early_stopping={"patience": 2, "min_delta": 1e-3})
    result = prepare_training(project, overrides={"epochs": 20, "device": "cpu"},
                              out_dir=tmp_path / "run").run()
    assert result.status == "finished" and len(result.epochs) == 3
    assert result.early_stop is not None and result.early_stop["best_epoch"] == 1
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["early_stop"]["epoch"] == 3
    assert info["message"].startswith("stopped early after epoch 3: val_loss has not improved")


def test_an_unknown_metric_is_refused_before_training():
    project = load_project(EXAMPLES / "waves_regression.json")
    project.training["early_stopping"] = {"metric": "val_acc"}
    with pytest.raises(TrainingError) as caught:
        prepare_training(project, overrides={"epochs": 1}, save=False)
    assert "val_r2" in caught.value.message  # the regression's metrics are listed


def _weight_change(clip: float) -> float:
    project = load_project(EXAMPLES / "mlp_digits.json")
    project.training.update(optimizer="sgd", momentum=0.0, lr=1.0, clip_grad_norm=clip)
    job = prepare_training(project, overrides={"epochs": 1, "device": "cpu"}, save=False)
    model = job.trainer.model
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    job.run()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    steps = len(job.trainer.starts)
    return float((after - before).norm()) / steps


def test_clipping_bounds_every_sgd_step_by_the_norm():
    """Plain SGD with lr 1 moves the weights by exactly the (clipped) gradient: with a
    clip of 0.001 no step moves them further than that, and without it they move more."""
    assert _weight_change(0.001) <= 0.001 * (1 + 1e-4)
    assert _weight_change(0.0) > 0.01
