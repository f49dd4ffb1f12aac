"""Repeated classes whose settings differ between uses become units with promoted
parameters, and every model the importer's tests import also exports to python."""

from __future__ import annotations

import ast
import importlib.util

import pytest
import torch

from torchloom.engine.export import export_project
from torchloom.engine.project import load_project

from .helpers import MODELS, batch, imported, outputs, reloaded_model, seeded_outputs

#: Every top-level model among the test models, with one sample's shape and dtype.
TEST_MODELS = {
    "mnist_cnn:Net": ([1, 28, 28], "float32"),
    "lstm_classifier:LSTMClassifier": ([32], "int64"),
    "residual:ResNetTiny": ([3, 32, 32], "float32"),
    "untraceable:GatedNet": ([1, 8, 8], "float32"),
    "untraceable:WholeBranch": ([1, 8, 8], "float32"),
    "dcgan:Generator": ([16, 1, 1], "float32"),
    "dcgan:Discriminator": ([3, 32, 32], "float32"),
    "shape_checks:Checked": ([3, 8, 8], "float32"),
    "shape_checks:BatchSized": ([12], "float32"),
    "unit_settings:Dilated": ([3, 16, 16], "float32"),
    "unit_settings:GatedStages": ([16], "float32"),
    "architectures:SENet": ([16, 8, 8], "float32"),
    "architectures:ViTStem": ([3, 32, 32], "float32"),
    "architectures:GPTBlock": ([8, 32], "float32"),
    "architectures:TinyGPT": ([8], "int64"),
    "architectures:ShuffleUnit": ([16, 8, 8], "float32"),
    "architectures:BasicBlock": ([16, 8, 8], "float32"),
    "architectures:InvertedResidual": ([16, 8, 8], "float32"),
    "architectures:UNetUp": ([3, 16, 16], "float32"),
    "densenet:DenseNet": ([3, 32, 32], "float32"),
    "lstm_both:LSTMAttentionPool": ([9, 5], "float32"),
    "lstm_both:GRUSummary": ([7, 4], "float32"),
    "lstm_both:LSTMCellState": ([7, 4], "float32"),
    "lstm_both:GRUSqueezed": ([7, 4], "float32"),
    "lstm_both:LSTMFinalState": ([7, 4], "float32"),
    "lstm_both:ScoredStack": ([5, 6], "float32"),
    "architectures:VAE": ([1, 16, 16], "float32"),
    "several_outputs:TwoHeads": ([12], "float32"),
    "several_outputs:DictOutputs": ([10], "float32"),
    "several_outputs:GPTWithLoss": ([8], "int64"),
    "several_outputs:TwoBranches": ([8], "float32"),
}
#: Models too big for the fast suite (the import-time yardstick).
SLOW = {"densenet:DenseNet"}
#: Classes the models above are made of, never imported on their own.
PARTS = {"ResidualBlock", "Gate", "Block", "Stage", "SELayer", "PatchEmbed",
         "CausalSelfAttention", "MLP", "DoubleConv", "Up", "_DenseLayer", "_DenseBlock",
         "_Transition", "GRUScored", "Branch"}


def test_the_table_names_every_test_model():
    found = set()
    for path in MODELS.glob("*.py"):
        tree = ast.parse(path.read_text())
        found |= {f"{path.stem}:{n.name}" for n in tree.body if isinstance(n, ast.ClassDef)
                  and n.name not in PARTS}
    assert found == set(TEST_MODELS)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.slow if name in SLOW else ()) for name in
    sorted(TEST_MODELS)])
def test_every_test_model_exports_to_python(tmp_path, name):
    shape, dtype = TEST_MODELS[name]
    result, reference = imported(tmp_path, name, shape, dtype)
    assert result.ok, result.lines()
    out = tmp_path / "exported.py"
    export_project(load_project(result.project.path), "python", out)  # verifies itself
    spec = importlib.util.spec_from_file_location("exported_model", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build()
    model.load_state_dict(reloaded_model(result).state_dict())
    x = batch(shape, dtype)
    got, want = seeded_outputs(model, x), seeded_outputs(reference, x)  # a VAE samples
    assert len(got) == len(want)
    assert all(torch.allclose(g, w, atol=1e-5) for g, w in zip(got, want))


def test_a_child_whose_padding_differs_is_a_promoted_unit_parameter(tmp_path):
    result, reference = imported(tmp_path, "unit_settings:Dilated", [3, 16, 16])
    graph = result.project.graph
    blocks = [graph.node(f"block{k}") for k in (1, 2, 3)]
    assert [b.type for b in blocks] == ["unit:Block"] * 3
    # padding and dilation always agree here, so they are one parameter of the unit
    assert [b.params for b in blocks] == [{"padding": 1}, {"padding": 4}, {"padding": 2}]
    unit = result.project.units.get("Block")
    assert {(t.node, t.param) for t in unit.params["padding"].targets} == {
        ("conv", "padding"), ("conv", "dilation")}
    x = batch([3, 16, 16])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_code_node_whose_arguments_differ_is_a_promoted_unit_parameter(tmp_path):
    result, reference = imported(tmp_path, "unit_settings:GatedStages", [16])
    graph = result.project.graph
    assert graph.node("stage1").params == {"gate_kwargs": {"features": 16, "factor": 0.25}}
    assert graph.node("stage2").params == {"gate_kwargs": {"features": 16, "factor": 4.0}}
    x = batch([16])
    for sample in (x.abs(), -x.abs()):  # both branches of the gate
        assert torch.equal(outputs(reloaded_model(result), sample), outputs(reference, sample))
    text = export_project(load_project(result.project.path), "python", tmp_path / "g.py")
    assert text.files
    assert "factor=gate_factor" in (tmp_path / "g.py").read_text()


def test_the_same_glue_in_each_use_of_a_class_is_one_code_class(tmp_path):
    """Three uses of a class whose forward has glue no block expresses (an einsum, an
    unsqueeze-and-add): the glue is generated once, so the uses are one unit repeated,
    which the python export writes as one class."""
    result, _ = imported(tmp_path, "lstm_both:ScoredStack", [5, 6])
    graph = result.project.graph
    units = [n for n in graph.nodes if n.type.startswith("unit:")]
    assert [(n.type, n.params.get("repeat")) for n in units] == [("unit:GRUScored", 3)]
    code = next(tmp_path.glob("*_code.py")).read_text()
    assert code.count("torch.functional.einsum(") == 1
    assert code.count("class Code_") == 2
