"""The "units" key of a project file: round trip, old files unchanged, typed errors."""

from __future__ import annotations

import copy
import json

import pytest

from torchloom.engine.errors import ProjectFileError, UnknownBlockError
from torchloom.engine.project import dumps_project, load_project, loads_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer

from .helpers import RES_UNIT, load, res_data


def test_units_round_trip_and_save_nodes_one_per_line():
    project = load(res_data(repeat=2, channels=8))
    text = dumps_project(project)
    again = loads_project(text)
    assert dumps_project(again) == text
    assert list(again.units) == ["ResBlock"]
    assert again.units.get("ResBlock").params["channels"].default == 8
    assert '        {"id": "conv1", "type": "Conv2d"' in text  # readable diffs inside units
    saved = json.loads(text)
    assert saved["graph"]["nodes"][2]["params"] == {"repeat": 2, "channels": 8}
    assert saved["units"]["ResBlock"]["params"]["channels"]["kind"] == "int"


def test_a_file_without_units_is_written_back_without_the_key():
    path = examples_dir() / "mnist_cnn.json"
    project = load_project(path)
    assert len(project.units) == 0
    assert "units" not in json.loads(dumps_project(project))


def _broken(mutate) -> ProjectFileError:
    data = res_data()
    mutate(data["units"]["ResBlock"], data)
    with pytest.raises(ProjectFileError) as info:
        loads_project(json.dumps(data), path="p.json")
    return info.value


@pytest.mark.parametrize("mutate,where,words", [
    (lambda u, d: u.update(outputs=[]), "units.ResBlock.outputs", "exactly one output"),
    (lambda u, d: u.update(outputs=[{"name": "o", "node": "relu2"}, {"name": "p", "node": "add"}]),
     "units.ResBlock.outputs", "exactly one output"),
    (lambda u, d: u.update(inputs=[{"name": "in", "node": "conv1"}]),
     "units.ResBlock.inputs[0].node", "must be an Input node"),
    (lambda u, d: u.update(inputs=[{"name": "in", "node": "ghost"}]),
     "units.ResBlock.inputs[0].node", "not in the unit"),
    (lambda u, d: u.update(inputs=[]), "units.ResBlock.inputs", "not listed in inputs"),
    (lambda u, d: u["params"]["channels"]["targets"].append({"node": "relu1", "param": "x"}),
     "units.ResBlock.params.channels.targets[2].param", "no parameter 'x'"),
    (lambda u, d: u["params"]["channels"].update(default=-4),
     "units.ResBlock.params.channels.default", "out_channels"),
    (lambda u, d: u["params"].update(repeat={"default": 1, "targets": []}),
     "units.ResBlock.params.repeat", "other than 'repeat'"),
    (lambda u, d: d["units"].update({"9bad": copy.deepcopy(RES_UNIT)}), "units.9bad",
     "unit name"),
    (lambda u, d: u["edges"].append({"from": "relu2", "to": "nowhere"}),
     "units.ResBlock.edges[6].to", "not in the graph"),
])
def test_a_broken_unit_is_refused_naming_the_place(mutate, where, words):
    error = _broken(mutate)
    assert error.where == where, error.describe()
    assert words in error.message
    assert error.describe().startswith("p.json: ")


def test_a_unit_that_contains_itself_is_an_error_not_a_recursion():
    def direct(unit, data):
        unit["nodes"].append({"id": "again", "type": "unit:ResBlock"})
        unit["edges"][-1] = {"from": "add", "to": "again"}

    error = _broken(direct)
    assert "contains itself" in error.message and error.where == "units.ResBlock"

    def through_another(unit, data):
        other = copy.deepcopy(RES_UNIT)
        other["nodes"].append({"id": "back", "type": "unit:ResBlock"})
        data["units"]["Other"] = other
        unit["nodes"].append({"id": "inner", "type": "unit:Other"})

    error = _broken(through_another)
    assert "contains itself through" in error.message
    assert "ResBlock -> Other -> ResBlock" in error.message or \
        "Other -> ResBlock -> Other" in error.message


def test_a_loop_made_in_memory_is_reported_on_the_node():
    project = load(res_data())
    unit = project.units.get("ResBlock")
    graph = unit.graph  # a GUI edit could do this: ResBlock inside ResBlock
    graph.disconnect(graph.in_edges("conv2")[0])
    graph.add_node("unit:ResBlock", node_id="again")
    graph.connect("relu1", "again")
    graph.connect("again", "conv2")
    analysis = infer(project.graph)
    [error] = analysis.errors
    assert error.node == "block1" and "contains itself" in error.message


def test_a_node_of_an_unknown_unit_loads_and_says_so_on_the_node():
    data = res_data()
    data["graph"]["nodes"][2]["type"] = "unit:Missing"
    project = load(data)
    errors = infer(project.graph).errors
    assert isinstance(errors[0], UnknownBlockError) and errors[0].node == "block1"
    assert "unknown unit 'Missing'" in errors[0].message
    assert json.loads(dumps_project(project))["graph"]["nodes"][2]["type"] == "unit:Missing"


def test_a_bad_promoted_value_on_the_node_is_a_param_error():
    data = res_data()
    data["graph"]["nodes"][2]["params"] = {"channels": 0, "repeat": 0}
    errors = infer(load(data).graph).errors
    assert {e.param for e in errors} == {"channels", "repeat"}
    assert all(e.node == "block1" for e in errors)
