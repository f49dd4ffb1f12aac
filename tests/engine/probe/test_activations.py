"""Probing activations and attention: shapes for every block, rows that are probabilities
matching a direct computation, and nothing left behind on the model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.graph import Graph
from torchloom.engine.probe.activations import attention_nodes, capture
from torchloom.engine.shapes import infer

from ..blocks.test_catalogue import CASES

K = 3


def _graph_for(block_type: str, params: dict, specs) -> Graph:
    g = Graph()
    for i, spec in enumerate(specs):
        g.add_node("Input", {"shape": list(spec.shape), "dtype": spec.dtype}, f"in{i}")
    g.add_node(block_type, params, "node")
    ports = [p.name for p in g.node("node").block.inputs]
    for i in range(len(specs)):
        port = ports[min(i, len(ports) - 1)]
        g.connect(f"in{i}", "node", port)
    node = g.node("node")
    pieces = [p.name for p in node.block.output_ports(node.resolved_params(), list(specs))]
    if len(pieces) > 1:  # a model ends in one tensor: join the pieces back, flattened
        g.add_node("Concat", {"dim": 0}, "join")  # (a recurrent block's differ in rank)
        for piece in pieces:
            g.add_node("Flatten", {}, f"flat_{piece}")
            g.connect("node", f"flat_{piece}", from_port=piece)
            g.connect(f"flat_{piece}", "join", "in")
    return g


def _inputs(params: dict, specs) -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    return tuple(torch.randint(0, params.get("num_embeddings", 10), (K, *s.shape)) if s.is_int
                 else torch.randn(K, *s.shape) for s in specs)


@pytest.mark.parametrize("block_type,params,specs,expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_probe_shape_for_every_block_type(block_type, params, specs, expected):
    graph = _graph_for(block_type, params, specs)
    analysis = infer(graph)
    assert analysis.ok, analysis.errors
    model = compile_graph(graph, analysis, seed=0)
    result = capture(model, _inputs(params, specs), module_names(n.id for n in graph.nodes))
    probe = result.nodes["node"]
    first = expected[0] if isinstance(expected, list) else expected  # a Split's first piece
    assert tuple(probe.activation.shape) == (K, *first)
    if block_type in ("MultiheadAttention", "TransformerEncoderLayer"):
        heads = params.get("num_heads", params.get("nhead"))
        length = specs[0].shape[0]
        source = specs[1].shape[0] if len(specs) > 1 else length
        assert tuple(probe.attention.shape) == (K, heads, length, source)
        assert torch.allclose(probe.attention.sum(-1), torch.ones(K, heads, length), atol=1e-5)
    else:
        assert probe.attention is None


def _direct_weights(mha: nn.MultiheadAttention, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) per head, from the module's own projection weights."""
    e, h = mha.embed_dim, mha.num_heads
    wq, wk, _ = mha.in_proj_weight.split(e)
    bq, bk, _ = mha.in_proj_bias.split(e)
    d = e // h
    qh = (q @ wq.T + bq).view(q.shape[0], q.shape[1], h, d).transpose(1, 2)
    kh = (k @ wk.T + bk).view(k.shape[0], k.shape[1], h, d).transpose(1, 2)
    return torch.softmax(qh @ kh.transpose(-1, -2) / math.sqrt(d), dim=-1)


def test_attention_weights_match_a_direct_computation():
    g = Graph()
    g.add_node("Input", {"shape": [7, 16]}, "x")
    g.add_node("MultiheadAttention", {"num_heads": 4}, "attn")
    g.connect("x", "attn", "query")
    model = compile_graph(g, seed=1)
    x = torch.randn(5, 7, 16)
    result = capture(model, x, module_names(n.id for n in g.nodes))
    expected = _direct_weights(model.attn, x, x)
    assert torch.allclose(result.nodes["attn"].attention, expected, atol=1e-5)
    # and the output is the one training computes (fused path, no weights)
    assert torch.allclose(result.nodes["attn"].activation, model.eval()(x), atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_layer_weights_come_from_its_self_attention(norm_first):
    g = Graph()
    g.add_node("Input", {"shape": [6, 8]}, "x")
    g.add_node("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16,
                                           "norm_first": norm_first}, "enc")
    g.connect("x", "enc")
    model = compile_graph(g, seed=2)
    x = torch.randn(4, 6, 8)
    got = capture(model, x, module_names(n.id for n in g.nodes)).nodes["enc"].attention
    h = model.enc.norm1(x) if norm_first else x
    assert torch.allclose(got, _direct_weights(model.enc.self_attn, h, h), atol=1e-5)


def _hooks(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


def test_hooks_are_removed_and_mode_restored():
    g = Graph()
    g.add_node("Input", {"shape": [7, 16]}, "x")
    g.add_node("MultiheadAttention", {"num_heads": 2}, "attn")
    g.add_node("Dropout", {"p": 0.5}, "drop")
    g.connect("x", "attn", "query")
    g.connect("attn", "drop")
    model = compile_graph(g, seed=0)
    names = module_names(n.id for n in g.nodes)
    model.train()
    before = _hooks(model)
    result = capture(model, torch.randn(2, 7, 16), names)
    assert _hooks(model) == before == 0
    assert model.training and all(m.training for m in model.modules())
    assert set(result.nodes) == {"attn", "drop"}
    assert attention_nodes(model, names) == ["attn"]
    # eval mode while probing: dropout did nothing
    assert torch.equal(result.nodes["drop"].activation, result.nodes["attn"].activation)


def test_hooks_are_removed_when_the_forward_fails():
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 3}, "fc")
    g.connect("x", "fc")
    model = compile_graph(g, seed=0)
    with pytest.raises(RuntimeError):
        capture(model, torch.randn(2, 5), module_names(["x", "fc"]))
    assert _hooks(model) == 0


def test_an_unknown_node_is_a_probe_error_naming_it():
    from torchloom.engine.errors import ProbeError

    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 3}, "fc")
    g.connect("x", "fc")
    model = compile_graph(g, seed=0)
    with pytest.raises(ProbeError) as info:
        capture(model, torch.randn(2, 4), module_names(["x", "fc"]), nodes=["nope"])
    assert info.value.describe() == "node nope: there is no such node"
    with pytest.raises(ProbeError) as info:
        capture(model, torch.randn(2, 4), module_names(["x", "fc"]), nodes=["x"])
    assert info.value.describe().startswith("node x: has no layer to probe")
