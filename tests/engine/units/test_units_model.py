"""Unit nodes in the shape pass and the compiler: promoted parameters, repeat, nesting,
state_dict names, and problems inside a unit reported on the unit node."""

from __future__ import annotations

import copy

import pytest
import torch

from torchloom.engine.compile import compile_graph
from torchloom.engine.errors import CompileError
from torchloom.engine.shapes import infer
from torchloom.engine.summary import summarize
from torchloom.engine.units import UnitError, UnitInnerError

from .helpers import RES_UNIT, load, res_data, res_project

CONV = 8 * 8 * 9 + 8  # one 3x3 conv, 8 -> 8 channels, with bias


def test_a_unit_node_has_the_units_shape_and_parameter_count():
    analysis = infer(res_project().graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    assert analysis.nodes["block1"].shape == (8, 16, 16)
    assert analysis.nodes["block1"].num_params == 2 * CONV
    summary = summarize(res_project().graph)  # FLOPs are counted through the unit
    assert summary.flops["block1"] > 0


def test_promoted_parameter_feeds_the_inner_params():
    project = res_project(channels=8, stem=16)
    project.graph.set_param("block1", "channels", 16)
    analysis = infer(project.graph)
    assert analysis.ok
    # conv1: 16 -> 16, conv2: 16 -> 16, the residual adds the stem's 16 channels
    assert analysis.nodes["block1"].num_params == 2 * (16 * 16 * 9 + 16)
    block = project.graph.node("block1").block
    assert set(block.params) == {"repeat", "channels"}
    assert block.params["channels"].kind == "int" and block.params["channels"].default == 8
    project.graph.set_param("block1", "channels", 12)  # the residual no longer fits
    [error] = infer(project.graph).errors
    assert isinstance(error, UnitInnerError) and error.node == "block1"
    assert error.unit == "ResBlock" and error.inner_node == "add"
    assert "in unit ResBlock: node add (Add)" in error.message


def test_repeat_makes_n_copies_with_separate_weights_and_nested_names():
    project = res_project(repeat=3)
    analysis = infer(project.graph)
    assert analysis.nodes["block1"].num_params == 3 * 2 * CONV
    gm = compile_graph(project.graph, analysis, seed=0)
    keys = [k for k in gm.state_dict() if k.startswith("block1.")]
    assert keys[:4] == ["block1.0.conv1.weight", "block1.0.conv1.bias",
                        "block1.0.conv2.weight", "block1.0.conv2.bias"]
    assert len(keys) == 12
    weights = [gm.get_submodule(f"block1.{k}.conv1").weight for k in range(3)]
    assert weights[0].data_ptr() != weights[1].data_ptr()
    assert not torch.equal(weights[0], weights[1])  # initialised separately
    out = gm(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert all(w.grad is not None for w in weights)


def test_without_repeat_the_unit_is_one_level_deep():
    gm = compile_graph(res_project().graph, seed=0)
    assert "block1.conv1.weight" in gm.state_dict()
    assert type(gm.block1).__name__ == "ResBlock"


def test_inner_sizes_are_inferred_per_copy():
    data = res_data(repeat=2, stem=4)
    unit = data["units"]["ResBlock"]
    unit["nodes"][4] = {"id": "add", "type": "Concat"}  # channels grow by each copy's input
    data["graph"]["nodes"][2]["params"]["channels"] = 4
    analysis = infer(load(data).graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    # copy 1: 4 in -> concat 4 + 4 = 8; copy 2: 8 in -> concat 4 + 8 = 12
    assert analysis.nodes["block1"].shape == (12, 16, 16)
    c1 = (4 * 4 * 9 + 4) + (4 * 4 * 9 + 4)
    c2 = (8 * 4 * 9 + 4) + (4 * 4 * 9 + 4)
    assert analysis.nodes["block1"].num_params == c1 + c2


def test_an_error_in_a_later_copy_names_the_copy():
    data = res_data(repeat=3)
    data["units"]["ResBlock"]["nodes"][1]["params"]["stride"] = 2  # 16 -> 8 -> 4 -> 2
    data["units"]["ResBlock"]["nodes"][4] = {"id": "add", "type": "Concat"}
    data["units"]["ResBlock"]["edges"][4] = {"from": "conv2", "to": "add"}
    data["units"]["ResBlock"]["nodes"][3]["params"]["kernel_size"] = 5
    data["units"]["ResBlock"]["nodes"][3]["params"]["padding"] = 0
    [error] = infer(load(data).graph).errors
    assert isinstance(error, UnitInnerError) and error.inner_node == "conv2"
    assert error.copy == 2 and "(copy 2 of 3)" in error.message


def test_repeat_needs_one_input():
    data = res_data(repeat=2)
    unit = data["units"]["ResBlock"]
    unit["nodes"].insert(1, {"id": "in2", "type": "Input", "params": {"shape": [8, 16, 16]}})
    unit["inputs"].append({"name": "in2", "node": "in2"})
    unit["edges"][4] = {"from": "in2", "to": "add"}
    data["graph"]["edges"].append({"from": "stem", "to": "block1", "to_port": "in2"})
    data["graph"]["edges"][1]["to_port"] = "in"
    project = load(data)
    [error] = infer(project.graph).errors
    assert isinstance(error, UnitError) and error.node == "block1"
    assert "repeat 2 needs a unit with one input" in error.message
    project.graph.set_param("block1", "repeat", 1)
    assert infer(project.graph).ok
    with pytest.raises(CompileError):
        project.graph.set_param("block1", "repeat", 2)
        compile_graph(project.graph)


def test_units_nest_and_names_nest_with_them():
    data = res_data()
    outer = copy.deepcopy(RES_UNIT)
    outer["nodes"][1] = {"id": "inner", "type": "unit:ResBlock", "params": {"repeat": 2}}
    outer["params"]["channels"]["targets"][0] = {"node": "conv2", "param": "out_channels"}
    outer["edges"] = [e if e["to"] != "relu1" else {"from": "inner", "to": "relu1"}
                      for e in outer["edges"]]
    outer["edges"][0] = {"from": "in", "to": "inner"}
    data["units"]["Outer"] = outer
    data["graph"]["nodes"][2]["type"] = "unit:Outer"
    project = load(data)
    analysis = infer(project.graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    assert analysis.nodes["block1"].num_params == 2 * 2 * CONV + CONV
    gm = compile_graph(project.graph, analysis, seed=0)
    assert "block1.inner.1.conv2.weight" in gm.state_dict()
    assert gm(torch.randn(2, 3, 16, 16)).shape == (2, 3)


def test_token_ids_stay_int_inside_a_unit():
    data = res_data()
    data["graph"] = {"nodes": [
        {"id": "tokens", "type": "Input", "params": {"shape": [5], "dtype": "int64"}},
        {"id": "emb", "type": "unit:Embed"},
        {"id": "pool", "type": "SequencePool"}],
        "edges": [{"from": "tokens", "to": "emb"}, {"from": "emb", "to": "pool"}]}
    data["units"] = {"Embed": {
        "nodes": [{"id": "t", "type": "Input", "params": {"shape": [5], "dtype": "int64"}},
                  {"id": "e", "type": "Embedding", "params": {"num_embeddings": 10,
                                                              "embedding_dim": 4}}],
        "edges": [{"from": "t", "to": "e"}],
        "inputs": [{"name": "in", "node": "t"}], "outputs": [{"name": "out", "node": "e"}]}}
    project = load(data)
    gm = compile_graph(project.graph, seed=0)
    assert gm(torch.randint(0, 10, (2, 5))).shape == (2, 4)


def test_edit_plans_know_units():
    from torchloom.engine.edits import plan_add, plan_set_param

    project = res_project()
    [op] = plan_set_param(project.graph, "block1", "repeat", 4)
    assert op.value == 4
    with pytest.raises(Exception, match="repeat"):
        plan_set_param(project.graph, "block1", "repeat", 0)
    [op] = plan_add(project.graph, "unit:ResBlock", params={"channels": 16})
    assert op.node.type == "unit:ResBlock"
