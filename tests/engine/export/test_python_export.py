"""The `python` export: one readable file, torch only, same weight names, same outputs."""

from __future__ import annotations

import ast
import runpy
import sys
import uuid
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from torchloom.engine import codefiles
from torchloom.engine.blocks import registry
from torchloom.engine.blocks.base import Block, Port
from torchloom.engine.compile import compile_graph
from torchloom.engine.errors import ExportError
from torchloom.engine.export import python_code
from torchloom.engine.export.model import prepare_model
from torchloom.engine.export.python_code import export_python, python_source
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, load_project, save_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.train.checkpoint import MODEL_FILE

from .conftest import EXAMPLES  # the one-model examples (a GAN has its own tests)


def example(name: str) -> Project:
    return load_project(examples_dir() / f"{name}.json")


def fresh_namespace(path: Path) -> dict:
    """Execute an exported file the way a person's script would import it, in-process."""
    return runpy.run_path(str(path), run_name=f"exported_{uuid.uuid4().hex}")


def imported_modules(text: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add((node.module or "").split(".")[0])
    return names


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_exports_standalone_code_that_reproduces_the_run(name, tmp_path,
                                                                      make_run):
    project = example(name)
    run = make_run(project, tmp_path / "run")  # weights saved by save_weights, as training does
    out = tmp_path / f"{name}.py"
    result = export_python(project, out, weights=run)
    assert result.files == [out] and result.format == "python"

    text = out.read_text()
    assert imported_modules(text) <= {"__future__", "torch", "sys", "safetensors"}
    assert "torchloom" not in imported_modules(text)

    saved = load_file(run / MODEL_FILE)
    model = fresh_namespace(out)["build"]()
    compiled = compile_graph(project.graph)
    assert sorted(model.state_dict()) == sorted(saved)  # the run folder's names exactly
    assert list(model.state_dict()) == list(compiled.state_dict())  # in the same order
    model.load_state_dict(saved, strict=True)
    model.eval()
    compiled.load_state_dict(saved)
    compiled.eval()
    inputs = prepare_model(project).example_inputs(batch=4, seed=1)
    with torch.no_grad():
        got, want = model(*inputs), compiled(*inputs)
    if isinstance(want, tuple):  # several heads: a tuple, in heads order
        assert isinstance(got, tuple) and len(got) == len(want)
        assert all(torch.equal(g, w) for g, w in zip(got, want))
    else:
        assert torch.equal(got, want)
    assert result.checks["outputs_identical"] is True and result.checks["max_abs_diff"] == 0.0
    assert result.checks["parameters"] == sum(p.numel() for p in compiled.parameters())


def test_mnist_code_reads_like_hand_written_pytorch(tmp_path):
    text = python_source(prepare_model(example("mnist_cnn")))
    compile(text, "model.py", "exec")
    assert "class Model(nn.Module):" in text and "def build() -> Model:" in text
    assert ("self.conv1 = nn.Conv2d(in_channels=1, out_channels=32, kernel_size=3, stride=1,"
            in text)
    assert "self.fc1 = nn.Linear(in_features=1600, out_features=128, bias=True)" in text
    assert "self.drop = nn.Dropout(p=0.5)" in text
    assert "    def forward(self, x: torch.Tensor) -> torch.Tensor:" in text
    assert "        conv1 = self.conv1(x)  # [N, 32, 26, 26]" in text
    assert "        return fc2" in text
    assert "= None" not in text.split("def forward")[1]  # fx's frees are tidied away
    assert "    x: [N, 1, 28, 28] float32" in text  # the header says what goes in
    assert 'model.load_state_dict(safetensors.torch.load_file("model.safetensors"))' in text
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "class Add" not in text  # only the Torchloom layers a model uses are copied


def test_torchloom_layers_travel_with_the_file():
    text = python_source(prepare_model(example("residual_cnn")))
    assert "class Add(nn.Module):" in text and "self.residual = Add()" in text
    assert "residual = self.residual(bn_b, stem_relu)" in text
    seq = python_source(prepare_model(example("lstm_text_classifier")))
    assert "class LSTMSequence(_RecurrentOutput, nn.LSTM):" in seq
    assert "class _RecurrentOutput:" in seq
    assert "class TokenPadding:" in seq and "class SequencePool(TokenPadding, nn.Module):" in seq
    assert "def forward(self, tokens: torch.Tensor)" in seq
    assert "class Add" not in seq


def test_the_export_is_the_same_text_every_time():
    project = example("attention_classifier")
    assert python_source(prepare_model(project)) == python_source(prepare_model(project))


def test_running_the_file_prints_the_output_shape(tmp_path, monkeypatch, capsys, make_run):
    project = example("transformer_classifier")
    run = make_run(project, tmp_path / "run")
    out = tmp_path / "model.py"
    export_python(project, out)
    monkeypatch.setattr(sys, "argv", [str(out), str(run / MODEL_FILE)])
    runpy.run_path(str(out), run_name="__main__")
    assert capsys.readouterr().out.strip() == "output shape: (2, 8)"


def test_a_folder_receives_model_py(tmp_path):
    result = export_python(example("mlp_digits"), tmp_path)
    assert result.files == [tmp_path / "model.py"] and (tmp_path / "model.py").is_file()


def test_weights_that_do_not_fit_are_refused(tmp_path, make_run):
    run = make_run(example("mlp_digits"), tmp_path / "run")
    with pytest.raises(ExportError) as err:
        export_python(example("mnist_cnn"), tmp_path / "m.py", weights=run)
    assert err.value.fmt == "python" and "do not fit" in err.value.message


def test_a_file_that_does_not_reproduce_the_model_is_not_left_behind(tmp_path, monkeypatch):
    real = python_code.python_source

    def wrong(model, note=None):  # what a bug in the writer would produce
        return real(model, note).replace("self.relu = nn.ReLU()", "self.relu = nn.Tanh()")

    monkeypatch.setattr(python_code, "python_source", wrong)
    with pytest.raises(ExportError) as err:
        export_python(example("mlp_digits"), tmp_path / "model.py")
    assert "outputs differ" in err.value.message and err.value.fmt == "python"
    assert list(tmp_path.iterdir()) == []


class Doubler(nn.Module):
    """A module from outside torch.nn and Torchloom's layers: code export cannot copy it."""

    def forward(self, x):
        return 2 * x


class DoublerBlock(Block):
    type_name = "TestDoubler"
    category = "Test"
    inputs = (Port("in"),)
    module = f"{__name__}.Doubler"


def test_a_block_the_format_cannot_write_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(registry(), "TestDoubler", DoublerBlock())
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("TestDoubler", {}, "twice")
    g.add_node("Linear", {"out_features": 2}, "fc")
    g.connect("x", "twice")
    g.connect("twice", "fc")
    with pytest.raises(ExportError) as err:
        export_python(Project(g, name="odd"), tmp_path / "odd.py")
    assert err.value.node == "twice" and "TestDoubler" in err.value.message
    assert not (tmp_path / "odd.py").exists()


# ---- Code blocks: the person's own class travels inside the file ----------------------------

GATE = '''\
from __future__ import annotations

import torch
from torch import nn


class {name}(nn.Module):
    """A gated projection with data-dependent control flow (fx cannot trace it)."""

    def __init__(self, features: int, scale: float = 1.0) -> None:
        super().__init__()
        self.proj = nn.Linear(features, features)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.abs().sum()) > 0:
            return x * torch.sigmoid(self.proj(x)) * self.scale
        return x
'''


@pytest.mark.parametrize("class_name", ["Gate", "Model"])
def test_a_code_block_is_inlined_once_and_constructed_with_its_kwargs(tmp_path, class_name):
    code = tmp_path / "gate.py"
    code.write_text(GATE.format(name=class_name))
    codefiles.trust_file(code, remember=False)
    g = Graph()
    g.add_node("Input", {"shape": [8]}, "x")
    for node_id in ("gate", "gate2"):
        g.add_node("Code", {"file": "gate.py", "class_name": class_name,
                            "kwargs": {"features": 8, "scale": 2.0}}, node_id)
    g.add_node("Linear", {"out_features": 3}, "fc")
    g.connect("x", "gate")
    g.connect("gate", "gate2")
    g.connect("gate2", "fc")
    project = Project(g, name="gated", dataset=None)
    save_project(project, tmp_path / "gated.json")
    project = load_project(tmp_path / "gated.json")

    out = tmp_path / "out" / "gated.py"
    result = export_python(project, out)
    text = out.read_text()
    assert text.count("# ---- your code: gate.py (Code block)") == 1
    assert text.count(f"class {class_name}(nn.Module):") == 1 + (class_name == "Model")
    assert text.count("from __future__") == 1
    made = "_gate_Model" if class_name == "Model" else "Gate"
    assert f"self.gate = {made}(features=8, scale=2.0)" in text
    assert "torchloom" not in imported_modules(text)
    assert result.checks["outputs_identical"] is True

    model = prepare_model(project)
    exported = fresh_namespace(out)["build"]()
    exported.load_state_dict(model.module.state_dict(), strict=True)
    exported.eval()
    inputs = model.example_inputs(batch=3, seed=4)
    with torch.no_grad():
        assert torch.equal(exported(*inputs), model.module(*inputs))


def test_code_that_imports_a_file_beside_it_is_not_called_standalone(tmp_path):
    """The check runs where helpers.py is importable; elsewhere it is not: say so."""
    import json

    from torchloom.engine import codefiles
    from torchloom.engine.export import export_project
    from torchloom.engine.project import load_project

    (tmp_path / "helpers.py").write_text("FACTOR = 2\n")
    (tmp_path / "layers.py").write_text(
        "from torch import nn\n\nimport helpers\n\n\nclass Scale(nn.Module):\n"
        "    def forward(self, x):\n        return helpers.FACTOR * x\n")
    data = {"format": "torchloom-project", "version": 1, "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "s", "type": "Code",
                   "params": {"file": "layers.py", "class_name": "Scale"}}],
        "edges": [{"from": "x", "to": "s"}]}}
    (tmp_path / "p.json").write_text(json.dumps(data))
    codefiles.trust_with_imports(tmp_path / "layers.py")
    result = export_project(load_project(tmp_path / "p.json"), "python", tmp_path / "out.py")
    assert result.checks["standalone"] is False
    assert any("helpers.py" in note and "copy" in note for note in result.notes)
    clean = export_project(load_project(examples_dir() / "mnist_cnn.json"), "python",
                           tmp_path / "cnn.py")
    assert clean.checks["standalone"] is True
