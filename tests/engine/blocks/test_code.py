"""The Code block: a person's own module, run only once they trust its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from torchloom.engine import codefiles
from torchloom.engine.blocks import TensorSpec
from torchloom.engine.compile import compile_graph
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer
from torchloom.engine.summary import summarize

from .test_catalogue import check_block

SWISH = '''import torch
from torch import nn


class Swish(nn.Module):
    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class Gate(nn.Module):
    """Two inputs, and a data-dependent branch that meta tensors cannot take."""

    def forward(self, a, b):
        if float(a.abs().sum()) >= 0:
            return a * torch.sigmoid(b)
        return a
'''


def _project(tmp_path: Path, nodes: list[dict], edges: list[dict]) -> Path:
    (tmp_path / "model_code.py").write_text(SWISH)
    data = {"format": "torchloom-project", "version": 1,
            "graph": {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [8]}},
                                {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
                                *nodes],
                      "edges": [{"from": "x", "to": "fc"}, *edges]}}
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    return path


SWISH_NODE = {"id": "act", "type": "Code",
              "params": {"file": "model_code.py", "class_name": "Swish", "kwargs": {"beta": 2.0}}}


def test_an_untrusted_file_is_not_run_and_the_node_says_so(tmp_path, monkeypatch):
    path = _project(tmp_path, [SWISH_NODE], [{"from": "fc", "to": "act"}])
    ran = []
    monkeypatch.setattr(codefiles, "_execute", lambda *a: ran.append(a))
    analysis = infer(load_project(path).graph)
    assert not ran
    [error] = analysis.errors
    assert error.node == "act" and "not trusted" in error.message


def test_a_trusted_block_measures_builds_and_trains(tmp_path):
    path = _project(tmp_path, [SWISH_NODE], [{"from": "fc", "to": "act"}])
    codefiles.trust_file(tmp_path / "model_code.py")
    project = load_project(path)
    analysis = infer(project.graph)
    assert analysis.ok, analysis.errors
    assert analysis.nodes["act"].shape == (4,)
    assert analysis.nodes["act"].num_params == 1  # its beta
    model = compile_graph(project.graph, analysis, seed=0)
    assert float(model.act.beta.detach()) == 2.0
    out = model(torch.randn(3, 8))
    out.sum().backward()
    assert model.act.beta.grad is not None
    assert summarize(project.graph).to_json()["total_params"] == 8 * 4 + 4 + 1


def test_trust_is_per_content_and_remembered(tmp_path):
    file = tmp_path / "model_code.py"
    _project(tmp_path, [], [])
    codefiles.trust_file(file)
    codefiles.forget_session_trust()  # a new session: remembered in the user-data folder
    assert codefiles.is_trusted(file)
    file.write_text(SWISH + "\nimport os\n")
    assert not codefiles.is_trusted(file)


def test_session_trust_is_not_written_down(tmp_path):
    file = tmp_path / "model_code.py"
    _project(tmp_path, [], [])
    codefiles.trust_file(file, remember=False)
    assert codefiles.is_trusted(file)
    codefiles.forget_session_trust()
    assert not codefiles.is_trusted(file)


def test_two_inputs_and_a_branch_meta_cannot_take(tmp_path):
    gate = {"id": "gate", "type": "Code",
            "params": {"file": "model_code.py", "class_name": "Gate"}}
    other = {"id": "fc2", "type": "Linear", "params": {"out_features": 4}}
    path = _project(tmp_path, [other, gate], [{"from": "x", "to": "fc2"},
                                              {"from": "fc", "to": "gate"},
                                              {"from": "fc2", "to": "gate"}])
    codefiles.trust_file(tmp_path / "model_code.py")
    analysis = infer(load_project(path).graph)
    assert analysis.ok, analysis.errors
    assert analysis.nodes["gate"].shape == (4,)


@pytest.mark.parametrize("params,words", [
    ({"file": "", "class_name": ""}, "choose the Python file"),
    ({"file": "missing.py", "class_name": "X"}, "missing"),
    ({"file": "model_code.py", "class_name": "Nope"}, "no nn.Module class named 'Nope'"),
])
def test_mistakes_are_said_on_the_node(tmp_path, params, words):
    node = {"id": "act", "type": "Code", "params": params}
    path = _project(tmp_path, [node], [{"from": "fc", "to": "act"}])
    codefiles.trust_file(tmp_path / "model_code.py")
    [error] = infer(load_project(path).graph).errors
    assert error.node == "act" and words in error.message


def test_a_file_that_raises_names_the_line(tmp_path):
    node = {"id": "act", "type": "Code", "params": {"file": "bad.py", "class_name": "X"}}
    path = _project(tmp_path, [node], [{"from": "fc", "to": "act"}])
    (tmp_path / "bad.py").write_text("import torch\n\nraise RuntimeError('boom')\n")
    codefiles.trust_file(tmp_path / "bad.py")
    [error] = infer(load_project(path).graph).errors
    assert "bad.py:3" in error.message and "boom" in error.message


def test_the_harness_case(tmp_path):
    _project(tmp_path, [], [])
    codefiles.trust_file(tmp_path / "model_code.py")
    params = {"file": str(tmp_path / "model_code.py"), "class_name": "Swish",
              "kwargs": {"beta": 0.5}}
    check_block("Code", params, [TensorSpec((5, 3))], (5, 3))


def test_a_file_name_is_one_line_of_text(tmp_path):
    """A line break in a name could turn it into code wherever it is written out."""
    node = {"id": "act", "type": "Code",
            "params": {"file": "act\nimport os\n#.py", "class_name": "Swish"}}
    path = _project(tmp_path, [node], [{"from": "fc", "to": "act"}])
    [error] = infer(load_project(path).graph).errors
    assert error.node == "act" and "file" in error.message and "one line" in error.message


def _sibling_project(folder: Path, factor: int) -> Path:
    folder.mkdir()
    (folder / "helpers.py").write_text(f"FACTOR = {factor}\n")
    (folder / "layers.py").write_text(
        "from torch import nn\n\nimport helpers\n\n\nclass Scale(nn.Module):\n"
        "    def forward(self, x):\n        return helpers.FACTOR * x\n")
    node = {"id": "act", "type": "Code", "params": {"file": "layers.py", "class_name": "Scale"}}
    return _project(folder, [node], [{"from": "fc", "to": "act"}])


def test_a_trusted_file_cannot_run_an_untrusted_file_beside_it(tmp_path):
    path = _sibling_project(tmp_path / "a", 2)
    codefiles.trust_file(tmp_path / "a" / "layers.py")
    project = load_project(path)
    assert codefiles.untrusted_files(project.graph) == [tmp_path / "a" / "helpers.py"]
    [error] = infer(project.graph).errors
    assert "imports helpers.py, which is not trusted" in error.message


def test_each_project_gets_its_own_helpers(tmp_path):
    models = []
    for name, factor in (("a", 2), ("b", 3)):
        path = _sibling_project(tmp_path / name, factor)
        codefiles.trust_with_imports(tmp_path / name / "layers.py")
        project = load_project(path)
        models.append(compile_graph(project.graph, infer(project.graph), seed=0))
    x = torch.ones(1, 8)
    a, b = (m.act(x) for m in models)
    assert torch.equal(a * 3, b * 2)  # b's helpers.py, not a cached copy of a's
