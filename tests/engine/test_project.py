"""Project files: the public format, and what a broken file gets instead of a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from torchloom.engine.errors import NewerVersionError, ProjectFileError
from torchloom.engine.project import (Project, dumps_project, load_project, loads_project,
                                      save_project)
from torchloom.engine.shapes import infer

from .builders import edge, project_text, write_project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"

CONTRACT_EXAMPLE = """{
  "format": "torchloom-project",
  "version": 1,
  "name": "Keras MNIST CNN",
  "graph": {
    "nodes": [
      {"id": "x", "type": "Input", "params": {"shape": [1, 28, 28], "dtype": "float32"}, "pos": [0, 0]},
      {"id": "conv1", "type": "Conv2d", "params": {"out_channels": 32, "kernel_size": 3}},
      {"id": "relu1", "type": "ReLU"}
    ],
    "edges": [
      {"from": "x", "to": "conv1"},
      {"from": "conv1", "to": "relu1"}
    ]
  },
  "dataset": {"name": "mnist5k"},
  "training": {"epochs": 3, "batch_size": 64, "optimizer": "adam", "lr": 0.001, "loss": "cross_entropy", "val_split": 0.2, "seed": 0, "device": "auto"}
}"""


def test_the_documented_example_loads():
    p = loads_project(CONTRACT_EXAMPLE)
    assert p.name == "Keras MNIST CNN" and p.dataset == {"name": "mnist5k"}
    assert [n.id for n in p.graph.nodes] == ["x", "conv1", "relu1"]
    assert p.graph.node("x").pos == (0.0, 0.0) and p.graph.node("conv1").pos is None
    a = infer(p.graph)
    assert a.ok and a.nodes["relu1"].shape == (32, 26, 26)
    assert p.training_config()["batch_size"] == 64


def test_docs_carry_the_same_full_example():
    doc = (EXAMPLES.parents[1] / "docs" / "project-format.md").read_text()
    block = doc.split("```json", 1)[1].split("```", 1)[0]
    loads_project(block)


def test_omitted_sections_take_defaults():
    p = loads_project('{"format": "torchloom-project", "version": 1}')
    assert len(p.graph) == 0 and p.dataset is None
    cfg = p.training_config()
    assert cfg["epochs"] == 3 and cfg["optimizer"] == "adam" and cfg["device"] == "auto"


def test_round_trip_keeps_unknown_keys_everywhere(tmp_path):
    data = json.loads(CONTRACT_EXAMPLE)
    data["plugin_state"] = {"a": [1, 2]}
    data["graph"]["layout"] = "left-right"
    data["graph"]["nodes"][1]["color"] = "#ff0000"
    data["graph"]["edges"][0]["label"] = "pixels"
    data["dataset"]["cache"] = True
    data["training"]["scheduler"] = "cosine"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    save_project(load_project(path), tmp_path / "q.json")
    again = json.loads((tmp_path / "q.json").read_text())
    assert again["plugin_state"] == {"a": [1, 2]}
    assert again["graph"]["layout"] == "left-right"
    assert again["graph"]["nodes"][1]["color"] == "#ff0000"
    assert again["graph"]["edges"][0]["label"] == "pixels"
    assert again["dataset"]["cache"] is True
    assert again["training"]["scheduler"] == "cosine"
    # a second round trip is a fixed point
    save_project(load_project(tmp_path / "q.json"), tmp_path / "r.json")
    assert (tmp_path / "q.json").read_text() == (tmp_path / "r.json").read_text()


def test_saved_file_writes_every_param_and_one_node_per_line(tmp_path):
    p = loads_project(CONTRACT_EXAMPLE)
    text = dumps_project(p)
    conv = next(line for line in text.splitlines() if '"id": "conv1"' in line)
    assert json.loads(conv.strip().rstrip(","))["params"]["stride"] == 1


def test_broken_node_is_saved_exactly_as_it_was(tmp_path):
    path = write_project(tmp_path, "p.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                          {"id": "c", "type": "Conv3d", "params": {"k": 1}},
                          {"id": "l", "type": "Linear", "params": {"out_features": -1}}],
                         [edge("x", "c"), edge("c", "l")])
    save_project(load_project(path))
    data = json.loads(path.read_text())
    assert data["graph"]["nodes"][1] == {"id": "c", "type": "Conv3d", "params": {"k": 1}}
    assert data["graph"]["nodes"][2]["params"] == {"out_features": -1}


def test_param_errors_name_node_param_and_expectation(tmp_path):
    path = write_project(tmp_path, "p.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
                          {"id": "conv1", "type": "Conv2d", "params": {"kernel_size": -3}}],
                         [edge("x", "conv1")])
    (err,) = infer(load_project(path).graph).errors
    assert err.node == "conv1" and err.param == "kernel_size"
    assert "must be an integer >= 1" in err.message and "got -3" in err.message


def test_add_inputs_follow_edge_order_and_to_port_is_optional():
    text = project_text(
        [{"id": "a", "type": "Input", "params": {"shape": [2]}},
         {"id": "b", "type": "Input", "params": {"shape": [3]}},
         {"id": "cat", "type": "Concat", "params": {"dim": 0}}],
        [edge("b", "cat"), edge("a", "cat", "in")])
    g = loads_project(text).graph
    assert [e.src for e in g.inputs_of("cat")["in"]] == ["b", "a"]


def test_newer_version_says_so():
    with pytest.raises(NewerVersionError, match="made by a newer Torchloom"):
        loads_project('{"format": "torchloom-project", "version": 99}')


def test_json_syntax_error_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "format": "torchloom-project",\n  "version": 1\n  "name": "x"\n}')
    with pytest.raises(ProjectFileError) as info:
        load_project(path)
    assert (info.value.line, info.value.column) == (4, 3)
    assert info.value.describe().startswith(f"{path}:4:3: not valid JSON")


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.json"
    path.write_bytes((EXAMPLES / "mnist_cnn.json").read_bytes()[:300])
    with pytest.raises(ProjectFileError, match="ends too early"):
        load_project(path)


@pytest.mark.parametrize("content,needle", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff", "not a text file"),
    (b"hello", "not valid JSON"),
    (b"", "is empty"),
    (b"[1, 2]", "expected an object"),
    (b'{"version": 1}', "not a Torchloom project"),
    (b'{"format": "torchloom-project", "version": "1"}', "version"),
    (b'{"format": "torchloom-project", "version": 1, "graph": {"nodes": 5}}', "expected a list"),
    (b'{"format": "torchloom-project", "version": 1, "x": NaN}', "NaN"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_not_a_project(tmp_path, content, needle):
    path = tmp_path / "f.json"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=needle):
        load_project(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ProjectFileError, match="no such file"):
        load_project(tmp_path / "nope.json")
    with pytest.raises(ProjectFileError, match="folder"):
        load_project(tmp_path)


@pytest.mark.parametrize("nodes,edges,where", [
    ([{"id": "a", "type": "ReLU"}, {"id": "a", "type": "ReLU"}], [], "graph.nodes[1].id"),
    ([{"id": 3, "type": "ReLU"}], [], "graph.nodes[0].id"),
    ([{"id": "a"}], [], "graph.nodes[0].type"),
    ([{"id": "a", "type": "ReLU", "params": [1]}], [], "graph.nodes[0].params"),
    ([{"id": "a", "type": "ReLU", "pos": [1]}], [], "graph.nodes[0].pos"),
    ([{"id": "a", "type": "ReLU"}], [{"from": "a", "to": "b"}], "graph.edges[0].to"),
    ([{"id": "a", "type": "ReLU"}], [{"from": "a"}], "graph.edges[0].to"),
])
def test_structure_errors_say_where(nodes, edges, where):
    with pytest.raises(ProjectFileError) as info:
        loads_project(project_text(nodes, edges), path="p.json")
    assert info.value.where == where
    assert info.value.describe().startswith("p.json: ")


def test_training_values_are_checked():
    text = project_text([], [], training={"epochs": 0})
    with pytest.raises(ProjectFileError, match="epochs must be an integer >= 1") as info:
        loads_project(text)
    assert info.value.where == "training.epochs"


def test_nothing_in_a_file_is_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    path = write_project(tmp_path, "p.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                          {"id": evil, "type": evil, "params": {evil: evil}}],
                         [edge("x", evil)], name=evil)
    a = infer(load_project(path).graph)
    assert not marker.exists()
    assert any("unknown block type" in e.message for e in a.errors)


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "p.json"
    path.write_text(CONTRACT_EXAMPLE)
    project = load_project(path)
    project.name = "changed"

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", explode)
    with pytest.raises(ProjectFileError, match="No space left"):
        save_project(project)
    assert path.read_text() == CONTRACT_EXAMPLE
    assert [p.name for p in tmp_path.iterdir()] == ["p.json"]


def test_save_without_a_path_asks_for_one():
    with pytest.raises(ProjectFileError, match="choose where"):
        save_project(Project())


def _nodes(count: int, prefix: str = "n") -> list[dict]:
    return [{"id": f"{prefix}{i}", "type": "ReLU"} for i in range(count)]


def test_a_file_above_the_node_limit_is_refused_before_any_node_is_built(monkeypatch):
    from torchloom.engine import project as project_module
    from torchloom.engine.graph import Graph

    built = []
    monkeypatch.setattr(Graph, "insert_node", lambda self, node, index=None: built.append(node))
    text = project_text(_nodes(project_module.MAX_NODES + 1), [])
    with pytest.raises(ProjectFileError) as info:
        loads_project(text, path="big.json")
    assert info.value.describe() == (
        "big.json: holds 100,001 nodes; a project holds at most 100,000 (all graphs and "
        "units together): split the model into several projects, or group repeated blocks "
        "into a unit with repeat at graph.nodes")
    assert built == []


def test_the_node_limit_counts_units_and_gan_graphs_together(monkeypatch):
    from torchloom.engine import project as project_module

    monkeypatch.setattr(project_module, "MAX_NODES", 10)
    unit = {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [4]}}, *_nodes(6)],
            "edges": [], "inputs": [{"name": "in", "node": "in"}],
            "outputs": [{"name": "out", "node": "n0"}]}
    with pytest.raises(ProjectFileError, match="holds 11 nodes; a project holds at most 10") \
            as info:
        loads_project(project_text(_nodes(4), [], units={"Big": unit}))
    assert info.value.where == "units.Big.nodes"
    gan = {"format": "torchloom-project", "version": 1, "task": "gan",
           "generator": {"nodes": _nodes(5)}, "discriminator": {"nodes": _nodes(6)}}
    with pytest.raises(ProjectFileError, match="holds 11 nodes"):
        loads_project(json.dumps(gan))
    loads_project(project_text(_nodes(10), []))  # at the limit: it loads


def test_the_docs_state_the_node_limit():
    from torchloom.engine.project import MAX_NODES

    docs = (Path(__file__).resolve().parents[2] / "docs" / "project-format.md").read_text()
    assert f"at most **{MAX_NODES:,} nodes**" in docs
