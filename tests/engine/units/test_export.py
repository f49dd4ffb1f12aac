"""A model with units exports: python (a class per unit, identical outputs), safetensors
(nested names) and ONNX."""

from __future__ import annotations

import runpy

import pytest
import torch

from torchloom.engine.export import export_project

from .helpers import res_project


def test_python_export_writes_a_class_per_unit_and_reproduces_the_model(tmp_path):
    project = res_project(repeat=2, stem=8)
    result = export_project(project, "python", tmp_path / "model.py")
    assert result.checks["outputs_identical"] and result.checks["max_abs_diff"] == 0.0
    text = (tmp_path / "model.py").read_text()
    assert "class ResBlock(nn.Module):" in text
    assert "self.block1 = nn.Sequential(\n            ResBlock(),\n            ResBlock(),\n" \
        in text
    model = runpy.run_path(str(tmp_path / "model.py"))["build"]()
    assert "block1.1.conv2.weight" in model.state_dict()


def test_varying_sizes_become_constructor_arguments(tmp_path):
    project = res_project(channels=8, stem=8)
    project.graph.add_node("unit:ResBlock", {"channels": 16}, node_id="block2")
    project.graph.add_node("Conv2d", {"out_channels": 16, "kernel_size": 1}, node_id="widen")
    pool_in = project.graph.in_edges("pool")[0]
    project.graph.disconnect(pool_in)
    project.graph.connect("block1", "widen")
    project.graph.connect("widen", "block2")
    project.graph.connect("block2", "pool")
    export_project(project, "python", tmp_path / "model.py")
    text = (tmp_path / "model.py").read_text()
    assert "def __init__(self, *, channels) -> None:" in text
    assert "nn.Conv2d(in_channels=channels, out_channels=channels" in text
    assert "self.block2 = ResBlock(channels=16)" in text


@pytest.mark.slow
def test_safetensors_and_onnx_exports_of_a_model_with_units(tmp_path):
    project = res_project(repeat=2)
    result = export_project(project, "safetensors", tmp_path / "w.safetensors")
    assert result.checks["tensors_equal"]
    from safetensors.torch import load_file

    assert "block1.1.conv1.weight" in load_file(tmp_path / "w.safetensors")
    result = export_project(project, "onnx", tmp_path / "m.onnx")
    assert result.checks["max_abs_diff"] < 1e-4
    assert torch.tensor(result.checks["max_abs_diff"]).isfinite()
