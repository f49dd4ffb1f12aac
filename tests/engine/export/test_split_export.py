"""Models whose blocks give several outputs (Split, Chunk, a recurrent block's "both")
export to python, ONNX and pt2, and each export computes what the compiled model does."""

from __future__ import annotations

import runpy
import uuid
from pathlib import Path
from typing import Callable

import onnxruntime as ort
import pytest
import torch

from torchloom.engine.export.model import prepare_model
from torchloom.engine.export.onnx_export import export_onnx
from torchloom.engine.export.pt2_export import export_pt2
from torchloom.engine.export.python_code import export_python
from torchloom.engine.graph import Graph
from torchloom.engine.importer import import_module
from torchloom.engine.project import Project


def split_model() -> Project:
    """[N, 6, 5] cut into [N, 2, 5] and [N, 4, 5]; each flattened into its own Linear."""
    g = Graph()
    g.add_node("Input", {"shape": [6, 5]}, "x")
    g.add_node("Split", {"split_size_or_sections": [2, 4], "dim": 0}, "split")
    g.add_node("Flatten", {}, "flat_a")
    g.add_node("Flatten", {}, "flat_b")
    g.add_node("Linear", {"out_features": 3}, "a")
    g.add_node("Linear", {"out_features": 3}, "b")
    g.add_node("Add", {}, "total")
    g.connect("x", "split")
    g.connect("split", "flat_a", from_port="out0")
    g.connect("split", "flat_b", from_port="out1")
    g.connect("flat_a", "a")
    g.connect("flat_b", "b")
    g.connect("a", "total")
    g.connect("b", "total")
    return Project(graph=g, name="split")


def chunk_model() -> Project:
    """A gated linear unit: the second half gates the first (the ports crossed over)."""
    g = Graph()
    g.add_node("Input", {"shape": [8]}, "x")
    g.add_node("Chunk", {"chunks": 2, "dim": 0}, "chunk")
    g.add_node("Sigmoid", {}, "gate")
    g.add_node("Multiply", {}, "glu")
    g.add_node("Linear", {"out_features": 4}, "head")
    g.connect("x", "chunk")
    g.connect("chunk", "gate", from_port="out1")
    g.connect("chunk", "glu", from_port="out0")
    g.connect("gate", "glu")
    g.connect("glu", "head")
    return Project(graph=g, name="chunk")


def lstm_both_model() -> Project:
    """The mean of the LSTM's steps beside its final hidden state, into a classifier."""
    g = Graph()
    g.add_node("Input", {"shape": [10, 4]}, "x")
    g.add_node("LSTM", {"hidden_size": 6, "output": "both"}, "lstm")
    g.add_node("SequencePool", {"mode": "mean"}, "pool")
    g.add_node("Concat", {"dim": -1}, "cat")
    g.add_node("Linear", {"out_features": 2}, "head")
    g.connect("x", "lstm")
    g.connect("lstm", "pool", from_port="sequence")
    g.connect("pool", "cat")
    g.connect("lstm", "cat", from_port="hidden")
    g.connect("cat", "head")
    return Project(graph=g, name="lstm_both")


MODELS: dict[str, Callable[[], Project]] = {
    "split": split_model, "chunk": chunk_model, "lstm_both": lstm_both_model}


def _facts(graph: Graph) -> tuple[dict, list]:
    nodes = {n.id: (n.type, n.resolved_params()) for n in graph.nodes}
    edges = sorted((e.src, str(e.from_port), e.dst, str(graph.port_of(e))) for e in graph.edges)
    return nodes, edges


def _expected(project: Project, x: torch.Tensor) -> torch.Tensor:
    model = prepare_model(project).module
    model.eval()
    with torch.no_grad():
        return model(x)


def _batch(project: Project, n: int = 5) -> torch.Tensor:
    shape = project.graph.node("x").params["shape"]
    return torch.randn((n, *shape), generator=torch.Generator().manual_seed(4))


@pytest.mark.parametrize("name", list(MODELS))
def test_python_export_runs_computes_the_same_and_imports_back_as_the_same_blocks(
        tmp_path: Path, name: str) -> None:
    project = MODELS[name]()
    out = tmp_path / f"{name}.py"
    result = export_python(project, out)
    assert result.checks["outputs_identical"] and result.checks["standalone"]

    # the file as a person runs it: build(), the project's weights, the same numbers
    namespace = runpy.run_path(str(out), run_name=f"exported_{uuid.uuid4().hex}")
    model = namespace["build"]()
    model.load_state_dict(prepare_model(project).module.state_dict())
    model.eval()
    x = _batch(project)
    with torch.no_grad():
        assert torch.equal(model(x), _expected(project, x))

    back = import_module(f"{out}:Model", tmp_path / "back.json",
                         input_shapes=[project.graph.node("x").params["shape"]])
    assert not back.code_nodes, back.reasons
    assert _facts(back.project.graph) == _facts(project.graph)
    assert back.outputs_identical, back.lines()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_export_agrees_with_torch_in_onnxruntime(tmp_path: Path, name: str) -> None:
    project = MODELS[name]()
    out = tmp_path / f"{name}.onnx"
    result = export_onnx(project, out)
    assert result.checks["max_abs_diff"] <= 1e-5
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = _batch(project, 7)  # not a batch size the exporter traced or checked
    (got,) = session.run(None, {"x": x.numpy()})
    assert float((torch.from_numpy(got) - _expected(project, x)).abs().max()) <= 1e-5


@pytest.mark.slow
@pytest.mark.parametrize("name", list(MODELS))
def test_pt2_export_reloads_and_agrees_with_torch(tmp_path: Path, name: str) -> None:
    project = MODELS[name]()
    out = tmp_path / f"{name}.pt2"
    result = export_pt2(project, out)
    assert result.checks["max_abs_diff"] <= 1e-5
    loaded = torch.export.load(str(out)).module()
    x = _batch(project, 3)
    with torch.no_grad():
        got = loaded(x)
    assert float((got - _expected(project, x)).abs().max()) <= 1e-5
