"""Gradient accumulation (issue 22 §1): ``accumulate`` N on batches of B trains like one
step on batches of B × N, schedule included."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.accumulate import Accumulation

from .helpers import Recorder, regression_project


def weights_after(tmp_path, name, **training):
    """The tiny linear regression trained with SGD (160 training samples: batches of 8 and
    16 both divide it, and the epoch's shuffle does not depend on the batch size)."""
    project = regression_project(tmp_path, optimizer="sgd", momentum=0.9, lr=0.05, epochs=2,
                                 **training)
    result = prepare_training(project, overrides={"device": "cpu"},
                              out_dir=tmp_path / name).run()
    assert result.status == "finished", result.error
    return load_file(tmp_path / name / "model.safetensors")


def assert_close(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=0), key


@pytest.mark.parametrize("extra", [{}, {"schedule": "warmup_cosine", "warmup_steps": 3},
                                   {"clip_grad_norm": 0.5}])
def test_two_batches_of_8_accumulated_equal_one_batch_of_16(tmp_path, extra):
    accumulated = weights_after(tmp_path, "acc", batch_size=8, accumulate=2, **extra)
    big = weights_after(tmp_path, "big", batch_size=16, **extra)
    assert_close(accumulated, big)
    plain = weights_after(tmp_path, "plain", batch_size=8, **extra)  # the test can fail
    assert not torch.allclose(plain["fc.weight"], big["fc.weight"], atol=1e-4)


def test_a_short_last_group_steps_on_its_own_share():
    acc = Accumulation(3, [8, 8, 8, 8, 4])
    assert [acc.steps_here(i) for i in range(5)] == [False, False, True, False, True]
    assert acc.weight(0) == pytest.approx(1 / 3) and acc.weight(4) == pytest.approx(4 / 12)
    assert acc.schedule_position(7, 10, 1, 4) == (3, 4)  # 2 steps an epoch, 2 epochs


def test_a_stop_lands_on_a_group_boundary_and_resumes_exactly(tmp_path):
    whole = weights_after(tmp_path, "whole", batch_size=8, accumulate=4)
    project = regression_project(tmp_path, optimizer="sgd", momentum=0.9, lr=0.05, epochs=2,
                                 batch_size=8, accumulate=4)
    recorder = Recorder(stop_at=5)
    job = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "cut",
                           callbacks=[recorder])
    job.trainer.report_interval = 0.0
    recorder.trainer = job.trainer
    assert job.run().status == "stopped"
    assert job.trainer.step == 8  # asked after batch 5: the group of 4 ends at batch 8
    resumed = prepare_training(project, overrides={"device": "cpu"},
                               resume=tmp_path / "cut").run()
    assert resumed.status == "finished"
    assert_close(load_file(tmp_path / "cut" / "model.safetensors"), whole)


@pytest.mark.parametrize("clip", [0.0, 0.05])
def test_under_a_grad_scaler_the_group_unscales_clips_and_steps_once(clip):
    """The fp16 path (GradScaler; its CPU flavour here, the same arithmetic): two
    accumulated halves under a scale of 1024 step like one unscaled batch."""
    from torchloom.engine.train.accumulate import update

    torch.manual_seed(0)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    big, halves = torch.nn.Linear(4, 1), torch.nn.Linear(4, 1)
    halves.load_state_dict(big.state_dict())
    opt_big = torch.optim.SGD(big.parameters(), lr=0.1)
    opt_halves = torch.optim.SGD(halves.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    mse = torch.nn.functional.mse_loss
    update(mse(big(x), y), opt_big, scaler=None, clip=clip,
           accumulation=Accumulation(1, [16]), i=0)
    for i in range(2):
        part = slice(8 * i, 8 * i + 8)
        update(mse(halves(x[part]), y[part]), opt_halves, scaler=scaler, clip=clip,
               accumulation=Accumulation(2, [8, 8]), i=i)
    assert scaler.get_scale() == 1024.0  # finite gradients: the scale stays
    for a, b in zip(big.parameters(), halves.parameters()):
        assert torch.allclose(a, b, atol=1e-6)
