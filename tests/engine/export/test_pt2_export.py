"""The `pt2` export: an ExportedProgram that torch.export.load reads back, with a dynamic
batch dimension and the model's numbers; a block torch.export cannot trace is named."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torchloom.engine.errors import ExportError
from torchloom.engine.export import export_project, pt2_export
from torchloom.engine.export.verify import locate_failure

from ..example_exports import COVERING_EXAMPLES
from .test_onnx_export import as_tuple, code_project


def check_example(examples, example_exports, name: str) -> float:
    result, out = example_exports.get(name, "pt2")
    assert result.files == [out] and list(out.parent.iterdir()) == [out]
    assert result.checks["max_abs_diff"] <= 1e-4 and result.checks["batch_sizes"] == [1, 5]
    model = examples.model(name)
    loaded = torch.export.load(str(out)).module()  # independently of the exporter's check
    for batch in (1, 6):
        inputs = model.example_inputs(batch, seed=9)
        with torch.no_grad():
            expected, got = as_tuple(model.module(*inputs)), as_tuple(loaded(*inputs))
        assert len(got) == len(expected)  # several heads: one output each
        for g, w in zip(got, expected):
            assert g.shape == w.shape
            assert float((g - w).abs().max()) <= 1e-4
    return result.checks["max_abs_diff"]


def test_an_example_reloads_and_matches_at_another_batch_size(examples, example_exports):
    check_example(examples, example_exports, "resnet18_units")  # BatchNorm buffers travel too


@pytest.mark.parametrize("name", COVERING_EXAMPLES)
def test_every_block_type_of_the_examples_exports_and_verifies(examples, example_exports,
                                                               name):
    """A covering set of the examples (every block type, dtype and units; checked in
    test_onnx_export.py); each block type alone: tests/engine/blocks/test_block_exports.py."""
    diff = check_example(examples, example_exports, name)
    print(f"{name}: pt2 max difference {diff:.2g}")


def test_a_reloaded_program_that_differs_fails_and_leaves_nothing(examples, tmp_path,
                                                                   monkeypatch):
    real = pt2_export._runner

    def one_percent_off(path):
        run = real(path)
        return lambda inputs: run(inputs) * 1.01

    monkeypatch.setattr(pt2_export, "_runner", one_percent_off)
    out = tmp_path / "m.pt2"
    with pytest.raises(ExportError, match="does not reproduce the model") as info:
        export_project(examples.project("mlp_digits"), "pt2", out)
    assert info.value.fmt == "pt2"
    assert list(tmp_path.iterdir()) == []


def test_a_block_torch_export_cannot_trace_is_named(tmp_path):
    out = tmp_path / "gated.pt2"
    with pytest.raises(ExportError) as info:
        export_project(code_project(tmp_path), "pt2", out)
    assert info.value.node == "gate" and info.value.fmt == "pt2"
    assert "torch.export" in info.value.message and "gate.py:7" in info.value.message
    assert not out.exists()


def test_without_a_name_in_the_message_the_block_is_found_by_exporting_each(examples):
    """The fallback when torch does not say which submodule failed: own code first, then
    the blocks in graph order; the first one that fails alone is named."""
    model = examples.model("residual_cnn")
    tried = []

    def attempt(module: nn.Module, args: tuple) -> None:
        tried.append(type(module).__name__)
        assert all(isinstance(a, torch.Tensor) and a.shape[0] == 2 for a in args)
        if isinstance(module, nn.BatchNorm2d):
            raise RuntimeError("no BatchNorm here")

    assert locate_failure(model, attempt) == "stem_bn"
    assert tried == ["Conv2d", "BatchNorm2d"]
    assert locate_failure(model, lambda module, args: None) is None
