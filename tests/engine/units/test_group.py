"""Group a selection into a unit and ungroup it: exact round trips, undo, and the
selections a unit cannot express."""

from __future__ import annotations

import json

import pytest
import torch

from torchloom.engine.compile import compile_graph
from torchloom.engine.project import dumps_project, load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer
from torchloom.engine.units import (UnitError, group, plan_group, promote, ungroup,
                                    unit_node_info)

from .helpers import load, res_project


def _per_target_inputs(project):
    """Edge order that matters: the inputs of each node, in order."""
    return {n.id: [(e.src, e.port) for e in project.graph.in_edges(n.id)]
            for n in project.graph.nodes}


def test_group_then_ungroup_gives_back_the_same_file():
    project = load_project(examples_dir() / "residual_cnn.json")
    before = dumps_project(project)
    analysis = infer(project.graph)
    ids = ["conv_a", "bn_a", "relu_a", "conv_b", "bn_b", "residual", "relu"]
    assert all(i in project.graph for i in ids), [n.id for n in project.graph.nodes]
    result = group(project, ids, "Res", analysis=analysis)
    after = infer(project.graph)
    assert after.ok and after.total_params == analysis.total_params
    assert after.output_spec == analysis.output_spec
    assert not any(i in project.graph for i in ids)
    assert project.graph.node(result.node_id).type == "unit:Res"
    unit = project.units.get("Res")
    assert [n.id for n in unit.graph.nodes][1:] == ids  # ids kept inside the unit
    assert unit.graph.node("conv_a").pos == load_project(
        examples_dir() / "residual_cnn.json").graph.node("conv_a").pos
    undone = ungroup(project, result.node_id)
    assert sorted(undone.node_ids) == sorted(ids)
    assert "Res" not in project.units  # nothing else used it
    assert dumps_project(project) == before


def test_undo_restores_exactly_both_ways():
    project = load_project(examples_dir() / "mnist_cnn.json")
    before = dumps_project(project)
    result = group(project, ["conv2", "relu2", "pool2"], "Block")
    grouped = dumps_project(project)
    result.undo()
    assert dumps_project(project) == before
    result = group(project, ["conv2", "relu2", "pool2"], "Block")
    assert dumps_project(project) == grouped
    undone = ungroup(project, result.node_id)
    undone.undo()
    assert dumps_project(project) == grouped


def test_ungroup_writes_promoted_values_and_unrolls_repeats():
    project = res_project(repeat=2, channels=8)
    gm = compile_graph(project.graph, seed=0)
    x = torch.randn(2, 3, 16, 16)
    result = ungroup(project, "block1")
    assert result.node_ids == ["block1_0_conv1", "block1_0_relu1", "block1_0_conv2",
                               "block1_0_add", "block1_0_relu2", "block1_1_conv1",
                               "block1_1_relu1", "block1_1_conv2", "block1_1_add",
                               "block1_1_relu2"]  # copies count from 0, like the weights
    assert project.graph.node("block1_1_conv1").params["out_channels"] == 8
    flat = compile_graph(project.graph, seed=0)
    assert sum(p.numel() for p in flat.parameters()) == sum(p.numel() for p in gm.parameters())
    assert flat(x).shape == gm(x).shape
    inputs = _per_target_inputs(project)
    assert inputs["block1_1_add"] == [("block1_1_conv2", None), ("block1_0_relu2", None)]


def test_a_two_input_selection_gets_two_ports():
    data = json.loads(dumps_project(res_project()))
    data["graph"]["nodes"].insert(2, {"id": "side", "type": "Conv2d",
                                      "params": {"out_channels": 8, "kernel_size": 1}})
    data["graph"]["nodes"].insert(3, {"id": "cat", "type": "Concat"})
    data["graph"]["edges"] = [
        {"from": "x", "to": "stem"}, {"from": "x", "to": "side"},
        {"from": "side", "to": "cat"}, {"from": "stem", "to": "cat"},
        {"from": "cat", "to": "block1"}, {"from": "block1", "to": "pool"},
        {"from": "pool", "to": "flat"}, {"from": "flat", "to": "fc"}]
    data["graph"]["nodes"][4]["params"]["channels"] = 16
    project = load(data)
    before = infer(project.graph)
    assert before.ok, [e.describe() for e in before.errors]
    result = group(project, ["side", "cat"], "Merge", analysis=before)
    unit = project.units.get("Merge")
    assert [p.name for p in unit.inputs] == ["in1", "in2"]
    assert [(e.src, e.port) for e in project.graph.in_edges(result.node_id)] == [
        ("x", "in1"), ("stem", "in2")]
    assert unit.graph.node("in1").params == {"shape": [3, 16, 16], "dtype": "float32"}
    after = infer(project.graph)
    assert after.ok and after.total_params == before.total_params
    info = unit_node_info(project, result.node_id, after)
    assert [(p.name, p.show()) for p in info.inputs] == [("in1", "[N, 3, 16, 16]"),
                                                         ("in2", "[N, 8, 16, 16]")]
    assert info.output.show() == "[N, 16, 16, 16]" and info.num_params == 32
    assert info.inner_nodes == 2
    ungroup(project, result.node_id)
    assert _per_target_inputs(project) == _per_target_inputs(load(data))


@pytest.mark.parametrize("ids,words", [
    ([], "select the blocks"),
    (["x", "stem"], "an Input cannot go into a unit"),
    (["stem", "pool"], "block1 sits between selected blocks"),
    (["block1", "pool"], "a unit has one output"),  # fine...
])
def test_selections_a_unit_cannot_express(ids, words):
    project = res_project()
    if ids == ["block1", "pool"]:
        project.graph.add_node("ReLU", node_id="extra")
        project.graph.connect("block1", "extra")  # ...until block1 also feeds outside
    with pytest.raises(UnitError) as info:
        plan_group(project.graph, ids)
    assert words in info.value.message
    before = dumps_project(project)
    with pytest.raises(UnitError):
        group(project, ids, "Nope")
    assert dumps_project(project) == before  # nothing changed


def test_names_are_checked():
    project = res_project()
    with pytest.raises(UnitError, match="already a unit named ResBlock"):
        group(project, ["pool"], "ResBlock")
    with pytest.raises(UnitError, match="cannot name a unit"):
        group(project, ["pool"], "two words")
    result = group(project, ["pool", "flat"])
    assert result.unit.name == "Unit"


def test_the_output_end_can_be_grouped_and_units_can_hold_units():
    project = res_project()
    result = group(project, ["block1", "pool"], "Body")
    analysis = infer(project.graph)
    assert analysis.ok
    gm = compile_graph(project.graph, analysis, seed=0)
    assert f"{result.node_id}.block1.conv1.weight" in gm.state_dict()
    head = group(project, ["flat", "fc"], "Head")
    assert infer(project.graph).ok and head.unit.outputs[0].node == "fc"


def test_promote_adds_a_unit_parameter():
    project = load_project(examples_dir() / "mnist_cnn.json")
    result = group(project, ["conv2", "relu2", "pool2"], "Block")
    promote(project, "Block", "width", [("conv2", "out_channels")])
    assert project.graph.node(result.node_id).block.params["width"].default == 64
    project.graph.set_param(result.node_id, "width", 32)
    assert infer(project.graph).nodes[result.node_id].shape == (32, 5, 5)
    with pytest.raises(UnitError):
        promote(project, "Block", "repeat", [("conv2", "out_channels")])
    with pytest.raises(UnitError):
        promote(project, "Block", "w2", [("relu2", "out_channels")])
