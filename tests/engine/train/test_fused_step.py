"""The run loop's optimizers take torch's fused step where it exists: the same training
(to float rounding) as torch's default step, and a plain step where fusing cannot apply."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train import fused_step as fused_module
from torchloom.engine.train.fused_step import fused_step

from .helpers import mlp_project


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_a_run_steps_fused_and_trains_as_the_default_step_does(tmp_path, monkeypatch,
                                                                 optimizer):
    project = mlp_project(tmp_path, epochs=1, optimizer=optimizer, weight_decay=0.01)
    fused = prepare_training(project, out_dir=tmp_path / "fused")
    result = fused.run()
    assert result.status == "finished"
    assert fused.trainer.optimizers[""].defaults["fused"] is True
    monkeypatch.setattr(fused_module, "fused_step", lambda groups: {})
    plain = prepare_training(project, out_dir=tmp_path / "plain")
    assert plain.run().status == "finished"
    assert not plain.trainer.optimizers[""].defaults["fused"]
    a = load_file(tmp_path / "fused" / "model.safetensors")
    b = load_file(tmp_path / "plain" / "model.safetensors")
    assert set(a) == set(b)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def test_parameters_the_kernels_do_not_take_keep_the_default_step():
    on_cpu = torch.nn.Parameter(torch.zeros(3))
    assert fused_step([{"params": [on_cpu]}]) == {"fused": True}
    assert fused_step([{"params": [torch.nn.Parameter(torch.zeros(3, device="meta"))]}]) == {}
    whole = torch.zeros(3, dtype=torch.int64)
    assert fused_step([{"params": [on_cpu, whole]}]) == {}
    assert fused_step([]) == {}
