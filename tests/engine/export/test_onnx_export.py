"""The `onnx` export: one file with the weights inside, a dynamic batch dimension, inputs
named by node id, checked against PyTorch, and nothing left behind when it fails."""

from __future__ import annotations

import json

import onnx
import onnxruntime as ort
import pytest
import torch

from torchloom.engine import codefiles
from torchloom.engine.errors import ExportError
from torchloom.engine.export import ExportResult, export_project, onnx_export
from torchloom.engine.export.verify import check_close
from torchloom.engine.project import load_project

from ..example_exports import COVERING_EXAMPLES, FEATURES, covering_set
from .conftest import EXAMPLES


def run_onnx(path, names, inputs) -> torch.Tensor:
    """The file in a fresh ONNX Runtime session, independent of the exporter's own check."""
    return run_onnx_all(path, names, inputs)[0]


def run_onnx_all(path, names, inputs) -> list[torch.Tensor]:
    """Every output of the file (one per head for a model with several)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {name: x.numpy() for name, x in zip(names, inputs)}
    return [torch.from_numpy(v) for v in session.run(None, feed)]


def as_tuple(out):
    """A model's output as a tuple: one tensor, or one per head."""
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def check_example(examples, example_exports, name: str) -> ExportResult:
    result, out = example_exports.get(name, "onnx")
    assert result.files == [out] and out.is_file()
    assert list(out.parent.iterdir()) == [out]  # no temporary or external-data files
    assert result.checks["max_abs_diff"] <= 1e-4
    assert result.checks["batch_sizes"] == [1, 5]  # the export itself traced a batch of 2
    model = examples.model(name)
    proto = onnx.load(str(out))
    assert [i.name for i in proto.graph.input] == model.input_ids()
    dtypes = [onnx.TensorProto.INT64 if x.dtype == torch.int64 else onnx.TensorProto.FLOAT
              for x in model.example_inputs(1)]
    assert [i.type.tensor_type.elem_type for i in proto.graph.input] == dtypes
    assert [o.name for o in proto.graph.output] == (model.output_ids() or ["output"])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch
    inputs = model.example_inputs(7, seed=3)
    with torch.no_grad():
        expected = as_tuple(model.module(*inputs))
    outs = run_onnx_all(out, model.input_ids(), inputs)
    assert len(outs) == len(expected)
    for got, want in zip(outs, expected):
        assert got.shape == want.shape
        assert float((got - want).abs().max()) <= 1e-4
    return result


def test_an_example_exports_and_runs_in_onnxruntime_at_any_batch_size(examples,
                                                                      example_exports):
    result = check_example(examples, example_exports, "lstm_text_classifier")  # int64 ids
    assert result.format == "onnx"
    json.dumps(result.to_json())  # the command line prints it


def test_the_examples_exported_hold_every_block_type_of_every_example():
    """ONNX runs for a covering set of the examples (tests/engine/example_exports.py);
    this fails if the set ever stops holding a block type, dtype or unit some example has."""
    assert set(COVERING_EXAMPLES) <= set(EXAMPLES)
    held = set().union(*(FEATURES[name][0] for name in COVERING_EXAMPLES))
    for name in EXAMPLES:
        assert FEATURES[name][0] <= held, name
    assert {"block:Conv2d", "block:LSTM", "block:MultiheadAttention", "dtype:int64",
            "unit-built"} <= held
    # the fewest examples first, then the fewest blocks: one big example beats two small
    # ones, and of two covers as small the cheaper one wins
    a, b, c = frozenset("ab"), frozenset("bc"), frozenset("abc")
    assert covering_set({"big": (c, 9), "one": (a, 1), "two": (b, 1)}) == ["big"]
    assert covering_set({"dear": (c, 9), "cheap": (c, 2), "part": (a, 1)}) == ["cheap"]


@pytest.mark.slow
@pytest.mark.parametrize("name", COVERING_EXAMPLES)
def test_every_block_type_of_the_examples_exports_and_verifies(examples, example_exports,
                                                               name):
    result = check_example(examples, example_exports, name)
    print(f"{name}: onnx max difference {result.checks['max_abs_diff']:.2g}")


def test_an_export_that_does_not_reproduce_the_model_fails_and_leaves_nothing(
        examples, tmp_path, monkeypatch):
    real = onnx_export._runner

    def off_by_a_little(path, names):
        run = real(path, names)
        return lambda inputs: run(inputs) + 1e-3

    monkeypatch.setattr(onnx_export, "_runner", off_by_a_little)
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the previous export")
    with pytest.raises(ExportError, match="does not reproduce the model.*0.001") as info:
        export_project(examples.project("mlp_digits"), "onnx", out)
    assert info.value.fmt == "onnx"
    assert out.read_bytes() == b"the previous export"  # untouched
    assert list(tmp_path.iterdir()) == [out]  # and no temporary file beside it


@pytest.mark.parametrize("diffs,words", [
    ({1: 1e-7, 5: float("nan")}, "disagree (NaN) on a batch of 5"),
    ({1: float("nan"), 5: 1e-7}, "disagree (NaN) on a batch of 1"),
    ({1: 1e-7, 5: float("inf")}, "another output shape than PyTorch on a batch of 5"),
    ({1: 2e-4, 5: 1e-7}, "differs from PyTorch by 0.0002 (allowed: 0.0001) on a batch of 1"),
])
def test_nan_a_shape_mismatch_or_a_difference_past_the_limit_fails(diffs, words):
    with pytest.raises(ExportError) as info:
        check_close(diffs, "onnx", "ONNX Runtime")
    assert words in info.value.message
    assert check_close({1: 1e-7, 5: 9e-5}, "onnx", "ONNX Runtime") == 9e-5


CODE = '''import torch
from torch import nn


class Gate(nn.Module):
    def forward(self, x):
        if float(x.abs().sum()) > 1e9:  # a branch on the data: no graph can hold it
            return x * 0
        return torch.sigmoid(x) * x
'''


def code_project(tmp_path):
    (tmp_path / "gate.py").write_text(CODE)
    data = {"format": "torchloom-project", "version": 1, "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [8]}},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 4}},
                  {"id": "gate", "type": "Code",
                   "params": {"file": "gate.py", "class_name": "Gate"}},
                  {"id": "head", "type": "Linear", "params": {"out_features": 3}}],
        "edges": [{"from": "x", "to": "fc"}, {"from": "fc", "to": "gate"},
                  {"from": "gate", "to": "head"}]}}
    path = tmp_path / "gated.json"
    path.write_text(json.dumps(data))
    codefiles.trust_file(tmp_path / "gate.py", remember=False)
    return load_project(path)


def test_a_block_onnx_cannot_express_is_named(tmp_path):
    out = tmp_path / "out" / "gated.onnx"
    with pytest.raises(ExportError) as info:
        export_project(code_project(tmp_path), "onnx", out)
    err = info.value
    assert err.node == "gate" and err.fmt == "onnx"
    assert "Code block" in err.message and "gate.py:7" in err.message
    assert "\n" not in err.describe()
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_the_exporters_chatter_stays_off_the_terminal(examples, tmp_path, capfd):
    export_project(examples.project("mlp_digits"), "onnx", tmp_path / "m.onnx")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_quiet_blocks_on_two_threads_leave_stderr_and_warnings_as_they_were():
    """Export A starts, export B starts on another thread, A ends first, then B: without
    a lock B would put back A's silenced stderr for good."""
    import sys
    import threading
    import time
    import warnings

    from torchloom.engine.export.verify import quiet

    before_err, before_filters = sys.stderr, list(warnings.filters)
    a_inside = threading.Event()

    def second() -> None:
        a_inside.wait(5)
        with quiet():
            time.sleep(0.3)

    thread = threading.Thread(target=second)
    thread.start()
    with quiet():
        a_inside.set()
        time.sleep(0.1)  # B tries to start while A is quiet
    thread.join(5)
    assert sys.stderr is before_err and warnings.filters == before_filters
