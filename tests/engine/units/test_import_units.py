"""Importing a module whose child class repeats (a ResNet's BasicBlocks) gives units."""

from __future__ import annotations

from pathlib import Path

import torch

from torchloom.engine.export.model import prepare_model
from torchloom.engine.importer import import_module
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer

MODEL = Path(__file__).parent / "models" / "small_resnet.py"


def test_repeated_blocks_become_units_with_promoted_sizes_and_repeat(tmp_path):
    out = tmp_path / "resnet.json"
    result = import_module(f"{MODEL}:SmallResNet", out, input_shapes=[[3, 16, 16]])
    assert result.outputs_identical, result.mismatch
    assert "4 uses of BasicBlock became the unit BasicBlock" in result.notes
    project = load_project(out)
    assert list(project.units) == ["BasicBlock", "BasicBlock2"]  # plain, and downsampling
    nodes = {n.id: (n.type, n.params) for n in project.graph.nodes}
    assert nodes["layer1"] == ("unit:BasicBlock", {"repeat": 2, "out_channels": 8})
    assert nodes["layer2_0"] == ("unit:BasicBlock2", {"repeat": 1, "out_channels": 16})
    assert nodes["layer3_1"] == ("unit:BasicBlock", {"repeat": 1, "out_channels": 32})
    down = project.units.get("BasicBlock2")
    assert "down_0" in down.graph and "conv1" in down.graph  # inner ids without the prefix
    assert [t.node for t in down.params["out_channels"].targets][:2] == ["conv1", "conv2"]
    analysis = infer(project.graph)
    assert analysis.ok and analysis.total_params == result.params_original

    # the module's weights are saved under the nested names, and load into the model
    # (the import only keeps units when they give exactly the flat graph's outputs)
    model = prepare_model(project)
    assert model.weights_from.startswith("project weights")
    assert "layer1.1.conv2.weight" in model.module.state_dict()
    assert model.module(torch.randn(2, 3, 16, 16)).shape == (2, 3)
