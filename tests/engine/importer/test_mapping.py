"""What maps to which block: functional calls, reshapes, indexing, attention, and the
settings a block lacks (which keep the layer as code instead of dropping the setting)."""

from __future__ import annotations

import torch

from .helpers import batch, import_text, outputs, reloaded_model, types

FUNCTIONAL = '''
class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding="same")
        self.side = nn.Conv2d(3, 8, 1)
        self.fc = nn.Linear(16 * 4 * 4, 6)

    def forward(self, x):
        a = torch.relu(self.conv(x))
        b = self.side(x).relu()
        x = torch.cat([a, b], dim=1)
        x = F.max_pool2d(x, 2)
        x = F.avg_pool2d(x, kernel_size=2, stride=2)
        x = x.reshape(x.shape[0], -1)
        x = F.dropout(self.fc(x), p=0.2, training=self.training)
        return F.softmax(torch.tanh(x), dim=1)
'''


def test_functional_calls_become_blocks(tmp_path):
    result, reference = import_text(tmp_path, FUNCTIONAL, "Functional", [3, 16, 16])
    assert types(result) == [
        ("x", "Input"), ("conv", "Conv2d"), ("relu", "ReLU"), ("side", "Conv2d"),
        ("relu_1", "ReLU"), ("concat", "Concat"), ("maxpool2d", "MaxPool2d"),
        ("avgpool2d", "AvgPool2d"), ("flatten", "Flatten"), ("fc", "Linear"),
        ("dropout", "Dropout"), ("tanh", "Tanh"), ("softmax", "Softmax")]
    graph = result.project.graph
    assert graph.node("concat").params == {"dim": 0}  # dim=1 counted without the batch
    assert graph.node("conv").params["padding"] == "same"
    assert graph.node("maxpool2d").params == {"kernel_size": 2, "stride": None, "padding": 0,
                                              "dilation": 1, "ceil_mode": False}
    assert graph.node("dropout").params == {"p": 0.2}
    assert graph.node("softmax").params == {"dim": 1}
    assert not result.code_nodes and not result.notes
    x = batch([3, 16, 16])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


RESHAPES = '''
class Reshapes(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 4)

    def forward(self, x):
        x = self.conv(x)
        a = x.view(-1, 4 * 6 * 6)
        b = torch.flatten(x, 1)
        c = x.view(x.size(0), -1)
        return self.fc(a) + self.fc(b) + self.fc(c)
'''


def test_every_flatten_spelling_is_a_flatten(tmp_path):
    result, reference = import_text(tmp_path, RESHAPES, "Reshapes", [1, 8, 8])
    kinds = [t for _, t in types(result)]
    assert kinds.count("Flatten") == 3 and kinds.count("Add") == 2
    # one Linear called three times: three nodes, so the sharing is not kept; it is said
    assert not result.code_nodes
    assert result.notes == ["fc is called 3 times: the nodes fc, fc_1, fc_2 each get their "
                            "own copy of its weights (equal now, trained apart)"]
    assert result.params_imported == 3 * sum(p.numel() for p in reference.fc.parameters()) \
        + sum(p.numel() for p in reference.conv.parameters())
    x = batch([1, 8, 8])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


SEQUENCE = '''
class Sequence(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.gru = nn.GRU(16, 8, batch_first=True, bidirectional=True)
        self.norm = nn.LayerNorm(16)
        self.fc = nn.Linear(32, 2)

    def forward(self, tokens):
        x = self.embed(tokens)
        a, _ = self.attn(x, x, x)
        x = self.norm(x + a)
        out, _ = self.gru(x)
        return self.fc(torch.cat([out.mean(dim=1), out[:, -1]], dim=-1))
'''


def test_sequence_layers_and_pooling(tmp_path):
    result, reference = import_text(tmp_path, SEQUENCE, "Sequence", [10], "int64")
    graph = result.project.graph
    assert graph.node("attn").type == "MultiheadAttention"
    assert graph.node("attn").params == {"num_heads": 4, "dropout": 0.0, "bias": True,
                                         "causal": False}
    assert [(e.src, graph.port_of(e)) for e in graph.in_edges("attn")] == [("embed", "query")]
    assert graph.node("gru").params["bidirectional"] is True
    pools = {n.params["mode"] for n in graph.nodes if n.type == "SequencePool"}
    assert pools == {"mean", "last"}
    assert graph.node("concat").params == {"dim": -1}
    assert not result.code_nodes
    x = batch([10], "int64", high=20)
    got, want = outputs(reloaded_model(result), x), outputs(reference, x)
    # torch's attention takes another kernel when weights are not asked for (the block's
    # fast path vs the person's need_weights=True), so the last bits may differ
    assert torch.allclose(got, want, rtol=0, atol=1e-6)


ENCODERS = '''
class Encoders(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 32)
        self.first = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True,
                                                activation="gelu")
        self.second = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0)
        self.fc = nn.Linear(32, 3)

    def forward(self, tokens):
        x = self.first(self.embed(tokens))
        x = self.second(x.transpose(0, 1)).transpose(0, 1)
        return self.fc(x[:, -1, :])
'''


def test_settings_a_block_lacks_keep_the_layer_as_code(tmp_path):
    result, reference = import_text(tmp_path, ENCODERS, "Encoders", [7], "int64")
    graph = result.project.graph
    assert graph.node("first").type == "TransformerEncoderLayer"
    assert graph.node("first").params["activation"] == "gelu"
    # [L, N, E] between the transposes is no wire (blocks keep the batch first), so the
    # transposes and the layer are one Code node, built with batch_first=False
    second = graph.node("second")
    assert second.type == "Code" and second.params["class_name"] == "Code_second"
    assert [t for _, t in types(result)].count("Code") == 1
    code = (tmp_path / "imported_code.py").read_text()
    assert "batch_first=False" in code and "transpose_1 = second.transpose(0, 1)" in code
    assert any("second" in r and "batch_first" in r for r in result.reasons)
    x = batch([7], "int64", high=30)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    assert result.params_imported == result.params_original


REFLECT = '''
class Reflect(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect")
        self.fc = nn.Linear(4 * 6 * 6, 2)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))
'''


def test_conv_with_reflect_padding_imports_with_that_padding_not_as_a_plain_conv(tmp_path):
    result, reference = import_text(tmp_path, REFLECT, "Reflect", [1, 6, 6])
    conv = result.project.graph.node("conv")
    assert conv.type == "Conv2d" and conv.params["padding_mode"] == "reflect"
    x = batch([1, 6, 6])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


CHAIN = '''
class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, padding=1)
        self.scale = nn.Parameter(torch.full((8,), 0.5))
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.conv(x.permute(0, 2, 1).contiguous())
        x = (x.permute(0, 2, 1) * self.scale).flip(-1)
        return self.fc(x.mean(dim=1))
'''


def test_unmapped_runs_of_code_merge_and_carry_their_parameters(tmp_path):
    result, reference = import_text(tmp_path, CHAIN, "Chain", [5, 4])
    graph = result.project.graph
    assert types(result) == [("x", "Input"), ("permute", "Permute"), ("conv", "Conv1d"),
                             ("permute_1", "Permute"), ("flip", "Code"),
                             ("sequencepool", "SequencePool"), ("fc", "Linear")]
    code = (tmp_path / "imported_code.py").read_text()
    assert "self.scale = nn.Parameter(" in code and "flip = mul.flip(-1)" in code
    assert result.params_imported == result.params_original  # the scale counts too
    assert not result.fresh
    model = reloaded_model(result)
    assert torch.equal(model.flip.scale, reference.scale)
    x = batch([5, 4])
    assert torch.equal(outputs(model, x), outputs(reference, x))
    assert graph.node("conv").params["padding"] == 1


EVERYDAY = '''
def swish(x):
    return x * torch.sigmoid(x)


class Everyday(nn.Module):
    def __init__(self, width=8, depth=2):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False),
                          nn.BatchNorm2d(width)) for _ in range(depth))
        self.register_buffer("mean", torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1))
        self.head = nn.Linear(width, 4)

    def forward(self, x, mask=None):
        x = swish(self.stem(x - self.mean))
        for block in self.blocks:
            x = x + block(x)
        b, c, h, w = x.shape
        x = x.view(b, c, h * w).transpose(1, 2)
        return self.head(x.max(dim=1)[0])
'''


def test_everyday_model_code(tmp_path):
    """A helper function, a ModuleList loop, a buffer, shape unpacking, an argument left at
    its default, and ``max(dim=1)[0]``."""
    result, reference = import_text(tmp_path, EVERYDAY, "Everyday", [3, 8, 8])
    graph = result.project.graph
    assert [n.id for n in graph.nodes if n.type == "Input"] == ["x"]  # not `mask`
    assert graph.node("blocks_1_0").params["groups"] == 8
    assert [(n.id, n.params) for n in graph.nodes if n.type == "SequencePool"] == [
        ("sequencepool", {"mode": "max"})]
    assert graph.node("sub").type == "Code"  # x - self.mean, with the buffer inside
    assert "self.register_buffer(\"mean\"" in (tmp_path / "imported_code.py").read_text()
    assert not result.fresh and result.params_imported == result.params_original
    x = batch([3, 8, 8])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


IN_PLACE = '''
class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.relu = nn.ReLU(inplace=True)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc(x)
        y.relu_()  # the result is not used: the call changes y
        z = self.relu(x)
        return self.out(y + z + x)  # x was changed by the in-place ReLU too
'''


def test_in_place_calls_keep_their_effect(tmp_path):
    result, reference = import_text(tmp_path, IN_PLACE, "InPlace", [4])
    kinds = [t for _, t in types(result)]
    assert kinds.count("ReLU") == 2 and kinds.count("Add") == 2
    x = batch([4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x.clone()))
    assert result.ok


def test_a_block_the_canvas_rejects_is_turned_back_into_code(tmp_path):
    """torch.cat promotes int to float; the Concat block refuses mixed dtypes, so the shape
    check sends that call back to code and the import plans again."""
    from torchloom.engine.importer import import_module

    from .helpers import write_model

    body = ("class Mixed(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(8, 2)\n\n    def forward(self, x, ids):\n"
            "        return self.fc(torch.cat([x, ids], dim=1))\n")
    path = write_model(tmp_path, body)
    result = import_module(f"{path}:Mixed", tmp_path / "m.json", input_shapes=[[4], [4]],
                           input_dtypes=["float32", "int64"])
    assert result.project.graph.node("cat").type == "Code"
    assert any("does not fit here" in r and "mix dtypes" in r for r in result.reasons)
    assert result.ok
