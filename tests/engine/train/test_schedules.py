"""The learning-rate schedules give the rates torch's own schedulers give, step by step, and
a run follows them (issue 22: step, onecycle, warmup_cosine, plateau)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.config import TrainConfig
from torchloom.engine.train.schedules import learning_rate, plateau_reductions

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"


def torch_rates(make, steps: int, lr: float) -> list[float]:  # type: ignore[no-untyped-def]
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_onecycle_matches_torch():
    config = replace(TrainConfig(), schedule="onecycle", max_lr=0.1)
    ours = [learning_rate(config, s, 100, 0) for s in range(100)]
    theirs = torch_rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.1, total_steps=100), 100, 0.1)
    assert ours == pytest.approx(theirs, rel=1e-6, abs=1e-12)


def test_step_matches_torch_per_epoch():
    config = replace(TrainConfig(), schedule="step", lr=0.5, step_size=3, gamma=0.5)
    ours = [learning_rate(config, 0, 10, epoch) for epoch in range(10)]
    theirs = torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 10, 0.5)
    assert ours == pytest.approx(theirs)


def test_warmup_rises_linearly_then_decays_to_zero():
    config = replace(TrainConfig(), schedule="warmup_cosine", lr=1.0, warmup_steps=4)
    rates = [learning_rate(config, s, 20, 0) for s in range(20)]
    assert rates[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rates[4:] == sorted(rates[4:], reverse=True) and rates[-1] < 0.02


def test_plateau_cuts_as_torch_does():
    losses = [1.0, 0.9, 0.9, 0.95, 0.91, 0.8, 0.85, 0.85, 0.85, 0.85]
    weight = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=1.0)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    for i, loss in enumerate(losses):
        scheduler.step(loss)
        assert 0.5 ** plateau_reductions(losses[:i + 1], 2) == optimizer.param_groups[0]["lr"]


def test_a_run_with_the_step_schedule_reports_the_cut_rates():
    project = load_project(EXAMPLES / "mlp_digits.json")
    project.training.update(schedule="step", step_size=1, gamma=0.5, lr=0.01)
    result = prepare_training(project, overrides={"epochs": 3, "device": "cpu"},
                              save=False).run()
    # each epoch's report carries the rate it trained at: halved at every epoch boundary
    assert [e.lr for e in result.epochs] == pytest.approx([0.01, 0.005, 0.0025])
