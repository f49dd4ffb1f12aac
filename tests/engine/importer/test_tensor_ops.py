"""Tensor operations in a person's forward import as their blocks, with dims converted to
the blocks' count (without the batch); one that would move or reduce the batch stays code."""

from __future__ import annotations

import torch

from .helpers import batch, import_text, outputs, reloaded_model

MANY = '''
class Many(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3, padding=1)

    def forward(self, x):
        a, b = torch.split(self.conv(x), [4, 4], dim=1)
        c, d = torch.chunk(b, 2, dim=-1)
        y = F.silu(a) - F.hardswish(F.interpolate(c, size=(4, 4), mode="nearest"))
        y = F.elu(y, alpha=0.5) + F.relu6(F.mish(torch.cat([d, d.flip(-1)], -1)))
        y = F.softplus(y, beta=2.0)[:, :, ::2]
        y = torch.sum(y, dim=(2, 3), keepdim=False)
        return F.log_softmax(y * 3.0, dim=1)
'''


def test_many_tensor_operations_become_their_blocks(tmp_path):
    result, reference = import_text(tmp_path, MANY, "Many", [4, 4, 4])
    graph = result.project.graph
    nodes = {n.type: n for n in graph.nodes}
    assert nodes["Split"].params == {"split_size_or_sections": [4, 4], "dim": 0}
    assert nodes["Chunk"].params == {"chunks": 2, "dim": -1}
    assert nodes["Interpolate"].params["size"] == [4, 4]
    assert nodes["Slice"].params == {"dim": 1, "start": None, "stop": None, "step": 2}
    assert nodes["Sum"].params == {"dims": [1, 2], "keepdim": False}
    assert nodes["ELU"].params == {"alpha": 0.5} and nodes["Softplus"].params["beta"] == 2.0
    assert nodes["Scale"].params == {"factor": 3.0}
    assert {"SiLU", "Hardswish", "Subtract", "Mish", "ReLU6", "LogSoftmax", "Add"} <= set(nodes)
    # the pieces' wires: each names the piece it carries (d twice: the cat and the flip)
    ports = {(e.src, e.from_port) for e in graph.edges if e.from_port is not None}
    assert ports == {(nodes["Split"].id, "out0"), (nodes["Split"].id, "out1"),
                     (nodes["Chunk"].id, "out0"), (nodes["Chunk"].id, "out1")}
    assert [graph.node(n).type for n in result.code_nodes] == ["Code"]  # d.flip(-1)
    assert result.outputs_identical, result.lines()
    x = batch([4, 4, 4], n=3)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


BATCH = '''
class Batchwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        x = self.fc(x)
        swapped = x.transpose(0, 1).transpose(0, 1)
        centred = x - x.sum()
        first = x + x[0]
        return swapped + centred + first
'''


def test_operations_on_the_batch_dimension_stay_code(tmp_path):
    result, reference = import_text(tmp_path, BATCH, "Batchwise", [6])
    types = [n.type for n in result.project.graph.nodes]
    assert "Transpose" not in types and "Sum" not in types and "Slice" not in types
    reasons = " ".join(result.reasons)
    assert "batch" in reasons
    x = batch([6], n=3)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


GRAM = '''
class Gram(nn.Module):
    def forward(self, x):
        return torch.bmm(x, x.transpose(1, 2)) - torch.matmul(x, x.permute(0, 2, 1))
'''


def test_bmm_and_matmul_are_matmul_blocks(tmp_path):
    result, reference = import_text(tmp_path, GRAM, "Gram", [4, 6])
    assert [n.type for n in result.project.graph.nodes] == [
        "Input", "Transpose", "MatMul", "Permute", "MatMul", "Subtract"]
    assert not result.code_nodes and result.outputs_identical
    x = batch([4, 6], n=3)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


DIVIDED = '''
class Divided(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)

    def forward(self, x):
        h = self.fc(x) / 8.0
        h = torch.true_divide(h.div(2), 3.0)
        return h / h.sum(dim=1, keepdim=True) - 2.0 / h
'''


def test_a_division_by_a_number_is_a_scale_by_its_reciprocal(tmp_path):
    result, reference = import_text(tmp_path, DIVIDED, "Divided", [6])
    graph = result.project.graph
    factors = [n.params["factor"] for n in graph.nodes if n.type == "Scale"]
    assert factors == [0.125, 0.5, 1 / 3]
    # by a tensor, and a number divided by a tensor, stay code
    assert [graph.node(n).type for n in result.code_nodes] == ["Code", "Code"], result.reasons
    assert sum("divides by a tensor" in r for r in result.reasons) == 1, result.reasons
    # 1/8 and 1/2 are exact; 1/3 is rounded, which the report says
    notes = [n for n in result.notes if "became Scale" in n]
    assert len(notes) == 1 and "dividing by 3" in notes[0]
    assert result.reproduces, result.lines()
    x = batch([6], n=3)
    assert torch.allclose(outputs(reloaded_model(result), x), outputs(reference, x),
                          rtol=1e-6, atol=1e-7)


def test_a_power_of_two_division_computes_exactly_what_the_model_does(tmp_path):
    body = '''
class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(4, 16)

    def forward(self, x):
        return F.softmax(self.q(x) / math.sqrt(16), dim=-1)
'''
    result, reference = import_text(tmp_path, "import math\n" + body, "Scaled", [4])
    assert not result.code_nodes and result.outputs_identical, result.lines()
    assert [n.params for n in result.project.graph.nodes if n.type == "Scale"] == [
        {"factor": 0.25}]


def test_t_of_one_value_per_sample_passes_it_on_and_of_a_matrix_stays_code(tmp_path):
    body = '''
class Transposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        h = self.fc(x)
        score = h.sum(dim=1).t()  # [N]: .t() changes nothing
        return torch.sigmoid(score), h.t().t()  # [N, 3]: .t() swaps the batch
'''
    result, reference = import_text(tmp_path, body, "Transposed", [5])
    graph = result.project.graph
    assert result.ok and result.outputs_identical, result.lines()
    assert ("sum", None) in [(e.src, e.from_port) for e in graph.in_edges("sigmoid")]
    assert [graph.node(n).type for n in result.code_nodes] == ["Code"]
    assert any("swaps the batch" in r for r in result.reasons), result.reasons
    x = batch([5], n=3)
    got, want = reloaded_model(result)(x), reference(x)
    assert all(torch.equal(g, w) for g, w in zip(got, want))
