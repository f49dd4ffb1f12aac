"""When a source cannot be imported, the person learns which file, which line and why."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.errors import ModelImportError
from torchloom.engine.importer import import_module

from .helpers import batch, import_text, outputs, reloaded_model, source, write_model


def _import(tmp_path, src, shape=(1, 8, 8), **kw):
    return import_module(src, tmp_path / "p.json", input_shapes=[list(shape)], **kw)


def test_missing_file(tmp_path):
    with pytest.raises(ModelImportError) as info:
        _import(tmp_path, f"{tmp_path / 'nope.py'}:Net")
    assert info.value.describe() == f"{tmp_path / 'nope.py'}: no such file"


def test_source_without_a_class_name(tmp_path):
    path = write_model(tmp_path, "")
    with pytest.raises(ModelImportError, match="path/to/file.py:ClassName"):
        _import(tmp_path, str(path))


def test_syntax_error_names_the_line(tmp_path):
    path = write_model(tmp_path, "class Net(nn.Module):\n    def forward(self, x)\n"
                                 "        return x\n")
    with pytest.raises(ModelImportError) as info:
        _import(tmp_path, f"{path}:Net")
    assert info.value.line == 7 and "syntax error" in info.value.message
    assert info.value.describe().startswith(f"{path}:7: ")


def test_file_that_raises_when_run(tmp_path):
    path = write_model(tmp_path, "import not_a_module_anywhere\n")
    with pytest.raises(ModelImportError) as info:
        _import(tmp_path, f"{path}:Net")
    assert "ModuleNotFoundError" in info.value.message and info.value.line == 6


def test_missing_class_lists_the_ones_there(tmp_path):
    path = write_model(tmp_path, "class Model(nn.Module):\n    pass\n\n\nclass Other:\n    pass\n")
    with pytest.raises(ModelImportError, match=r"no class named 'Net' \(its nn.Module "
                                               r"classes: Model\)"):
        _import(tmp_path, f"{path}:Net")
    with pytest.raises(ModelImportError, match="no nn.Module class named 'Other'"):
        _import(tmp_path, f"{path}:Other")


def test_constructor_error_names_the_class_and_the_reason(tmp_path):
    path = write_model(tmp_path, "class Net(nn.Module):\n    def __init__(self, width):\n"
                                 "        super().__init__()\n"
                                 "        self.fc = nn.Linear(width, 2)\n")
    with pytest.raises(ModelImportError) as info:
        _import(tmp_path, f"{path}:Net", kwargs={"depth": 3})
    assert "Net(**{\"depth\": 3}) raised TypeError" in info.value.message
    assert "width" in info.value.message


def test_wrong_input_shape_points_at_the_option(tmp_path):
    with pytest.raises(ModelImportError, match="--input-shape") as info:
        _import(tmp_path, source("mnist_cnn:Net"), shape=(3, 32, 32))
    assert "Net fails on a batch of 2 samples of [3, 32, 32] float32" in info.value.message


def test_forward_with_two_inputs_needs_two_shapes(tmp_path):
    body = ("class Two(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, a, b):\n"
            "        return self.fc(a + b)\n")
    path = write_model(tmp_path, body)
    with pytest.raises(ModelImportError, match="forward needs the argument 'b'"):
        _import(tmp_path, f"{path}:Two", shape=(4,))
    result = import_module(f"{path}:Two", tmp_path / "two.json", input_shapes=[[4], [4]])
    assert [n.id for n in result.project.graph.nodes if n.type == "Input"] == ["a", "b"]
    assert result.ok


def test_sibling_imports_work_and_their_classes_are_copied(tmp_path):
    (tmp_path / "my_layers.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Scale(nn.Module):\n"
        "    def __init__(self, factor):\n        super().__init__()\n"
        "        self.factor = factor\n\n    def forward(self, x):\n"
        "        return x * self.factor if x.sum() > 0 else x\n")
    body = ("from my_layers import Scale\n\n\nclass Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 2)\n        self.scale = Scale(factor=3.0)\n\n"
            "    def forward(self, x):\n        return self.scale(self.fc(x))\n")
    path = write_model(tmp_path, body)
    torch.manual_seed(0)
    result = import_module(f"{path}:Net", tmp_path / "net.json", input_shapes=[[4]])
    scale = result.project.graph.node("scale")
    assert scale.params == {"file": "net_code.py", "class_name": "Scale",
                            "kwargs": {"factor": 3.0}}
    assert "class Scale(nn.Module)" in (tmp_path / "net_code.py").read_text()
    assert result.ok


def test_lstm_that_is_not_batch_first_is_kept_as_code(tmp_path):
    body = ("class Seq(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.lstm = nn.LSTM(4, 8)\n        self.fc = nn.Linear(8, 2)\n\n"
            "    def forward(self, x):\n        out, _ = self.lstm(x.transpose(0, 1))\n"
            "        return self.fc(out[-1])\n")
    result, reference = import_text(tmp_path, body, "Seq", [6, 4])
    assert [n.type for n in result.project.graph.nodes] == ["Input", "Code", "Linear"]
    assert any("batch_first" in r for r in result.reasons)
    x = batch([6, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_model_that_returns_a_nested_tuple_is_kept_whole_and_reported(tmp_path):
    body = ("class Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
            "        return self.fc(x), (x, x)\n")
    path = write_model(tmp_path, body)
    result = import_module(f"{path}:Pair", tmp_path / "pair.json", input_shapes=[[4]])
    assert [n.type for n in result.project.graph.nodes] == ["Input", "Code"]
    assert not result.ok and result.errors  # a canvas output is one tensor
    assert any("output 1 is not one tensor" in r for r in result.reasons), result.reasons
    assert (tmp_path / "pair.json").is_file()  # written anyway, to fix on the canvas


def test_a_model_returning_a_tensor_and_its_input_ends_in_two_outputs(tmp_path):
    body = ("class Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
            "        return self.fc(x), x\n")
    path = write_model(tmp_path, body)
    result = import_module(f"{path}:Pair", tmp_path / "pair.json", input_shapes=[[4]])
    assert result.ok, result.lines()
    assert [(n.id, n.type) for n in result.project.graph.nodes] == [
        ("x", "Input"), ("fc", "Linear"), ("output_1", "Identity")]  # the input, passed on
    assert list(result.project.heads) == ["fc", "output_1"]
