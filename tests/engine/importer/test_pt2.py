"""Importing a .pt2 written by torch.export from a person's own module: the layers are read
back from the ATen ops; an op no block expresses stops the import, named."""

from __future__ import annotations

import warnings

import pytest
import torch

from torchloom.engine.errors import ModelImportError
from torchloom.engine.importer import import_module
from torchloom.engine.importer.source import load_model

from .helpers import batch, outputs, reloaded_model, source, write_model


def _export(module: torch.nn.Module, x: torch.Tensor, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(module.eval(), (x,), dynamic_shapes=(
            {0: torch.export.Dim("batch", min=1)},))
        torch.export.save(program, str(path))
    return path


def test_user_residual_cnn_from_pt2(tmp_path):
    model = load_model(source("residual:ResNetTiny")).module
    pt2 = _export(model, batch([3, 32, 32], n=2), tmp_path / "resnet.pt2")
    result = import_module(pt2, tmp_path / "resnet.json")
    graph = result.project.graph
    assert graph.node("x").params == {"shape": [3, 32, 32], "dtype": "float32"}
    assert graph.node("layer1_conv1").type == "Conv2d"
    assert graph.node("layer1_conv1").params["bias"] is False
    assert sum(n.type == "Add" for n in graph.nodes) == 1  # `out += x` (aten.add_)
    assert result.params_imported == sum(p.numel() for p in model.parameters())
    x = batch([3, 32, 32])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(model, x))


def test_lstm_classifier_from_pt2(tmp_path):
    model = load_model(source("lstm_classifier:LSTMClassifier")).module
    pt2 = _export(model, batch([32], "int64", n=2), tmp_path / "lstm.pt2")
    result = import_module(pt2, tmp_path / "lstm.json")
    assert [n.type for n in result.project.graph.nodes] == [
        "Input", "Embedding", "LSTM", "SequencePool", "Linear"]
    assert result.outputs_identical


def test_op_without_a_block_is_named(tmp_path):
    body = ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(4, 3)\n\n    def forward(self, x):\n"
            "        return F.log_softmax(self.fc(x), dim=1)\n")
    path = write_model(tmp_path, body)
    pt2 = _export(load_model(f"{path}:Net").module, batch([4], n=2), tmp_path / "n.pt2")
    with pytest.raises(ModelImportError, match=r"aten\.log_softmax .*import the \.py instead"):
        import_module(pt2, tmp_path / "n.json")


def test_layer_setting_without_a_block_is_named(tmp_path):
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"),
                                 torch.nn.Flatten())
    pt2 = _export(module, batch([1, 6, 6], n=2), tmp_path / "r.pt2")
    with pytest.raises(ModelImportError, match=r"module 0 \(Conv2d\) uses aten\.pad"):
        import_module(pt2, tmp_path / "r.json")


def test_not_a_program(tmp_path):
    bogus = tmp_path / "bogus.pt2"
    bogus.write_bytes(b"not a zip")
    with pytest.raises(ModelImportError, match="not a readable torch.export program"):
        import_module(bogus, tmp_path / "b.json")
    with pytest.raises(ModelImportError, match="no such file"):
        import_module(tmp_path / "missing.pt2", tmp_path / "b.json")


HEADS = '''
class Heads(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        h = self.fc(x).view(x.shape[0], 4, 2, 4).transpose(1, 2)
        att = torch.matmul(h, h.transpose(-2, -1)) * 0.5
        return att.permute(0, 1, 3, 2).sum(dim=-1)[:, 1]
'''


def test_tensor_operations_from_pt2_become_their_blocks(tmp_path):
    """view to heads, transpose, matmul, a constant factor, permute, sum and an index:
    each aten op is its block, dims counted without the batch."""
    path = write_model(tmp_path, HEADS)
    model = load_model(f"{path}:Heads").module
    pt2 = _export(model, batch([4, 8], n=2), tmp_path / "heads.pt2")
    result = import_module(pt2, tmp_path / "heads.json")
    graph = result.project.graph
    assert [n.type for n in graph.nodes] == [
        "Input", "Linear", "Reshape", "Transpose", "Transpose", "MatMul", "Scale", "Permute",
        "Sum", "Slice"], result.lines()
    by_type = {n.type: n.params for n in graph.nodes}
    assert by_type["Reshape"] == {"shape": [4, 2, 4]}
    assert by_type["Permute"] == {"dims": [0, 2, 1]}
    assert by_type["Slice"]["dim"] == 0 and by_type["Slice"]["index"] == 1
    x = batch([4, 8])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(model, x))


PIECES = '''
class Pieces(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 12)

    def forward(self, x):
        a, b, c = self.fc(x).split(4, dim=-1)
        d, e = torch.split(b, [1, 3], dim=2)
        f, g = c.chunk(2, dim=2)
        return torch.cat([a * e.sum(dim=2, keepdim=True), d, f - g, a], dim=2)
'''


def test_split_and_chunk_from_pt2_wire_each_piece_from_its_port(tmp_path):
    path = write_model(tmp_path, PIECES)
    model = load_model(f"{path}:Pieces").module
    pt2 = _export(model, batch([4, 8], n=2), tmp_path / "pieces.pt2")
    result = import_module(pt2, tmp_path / "pieces.json")
    graph = result.project.graph
    types = [n.type for n in graph.nodes]
    assert types.count("Split") == 2 and types.count("Chunk") == 1, result.lines()
    ports = sorted((graph.node(e.src).type, e.from_port) for e in graph.edges if e.from_port)
    assert ("Split", "out2") in ports and ("Chunk", "out1") in ports
    x = batch([4, 8])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(model, x))


RESIZED = '''
class Resized(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        a = F.interpolate(self.conv(x), scale_factor=2, mode="bilinear", align_corners=True)
        b = F.pad(a, [1, 2, 0, 3])
        c = F.pad(b, [1, 1, 1, 1], mode="reflect")
        d = F.interpolate(F.pad(c, [2, 2, 2, 2], mode="replicate"), size=(9, 7))
        e = F.interpolate(d.mean(dim=2), scale_factor=1.5, mode="linear")
        return e
'''


def test_interpolate_and_pad_from_pt2_become_their_blocks(tmp_path):
    """aten.upsample_* and aten.pad, which used to stop a .pt2 import: align_corners and a
    sequence's linear resize are Interpolate; zeros, reflect and replicate their pads."""
    path = write_model(tmp_path, RESIZED)
    model = load_model(f"{path}:Resized").module
    pt2 = _export(model, batch([3, 6, 6], n=2), tmp_path / "resized.pt2")
    result = import_module(pt2, tmp_path / "resized.json")
    assert result.ok and result.outputs_identical, result.lines()
    nodes = [(n.type, n.params) for n in result.project.graph.nodes if n.type not in (
        "Input", "Conv2d", "Mean")]
    assert nodes == [
        ("Interpolate", {"mode": "bilinear", "align_corners": True, "scale_factor": 2.0}),
        ("ZeroPad2d", {"padding": [1, 2, 0, 3]}),
        ("ReflectionPad2d", {"padding": [1, 1, 1, 1]}),
        ("ReplicationPad2d", {"padding": [2, 2, 2, 2]}),
        ("Upsample", {"size": [9, 7], "scale_factor": None, "mode": "nearest"}),
        ("Interpolate", {"mode": "linear", "align_corners": False, "scale_factor": 1.5})]
    x = batch([3, 6, 6], n=3)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(model, x))


def test_a_negative_pad_from_pt2_is_named_as_no_block(tmp_path):
    path = write_model(tmp_path, '''
class Cropped(nn.Module):
    def forward(self, x):
        return F.pad(x, [-1, -1, 0, 0])
''')
    model = load_model(f"{path}:Cropped").module
    pt2 = _export(model, batch([2, 6, 6], n=2), tmp_path / "cropped.pt2")
    with pytest.raises(ModelImportError, match="aten.pad"):
        import_module(pt2, tmp_path / "cropped.json")
