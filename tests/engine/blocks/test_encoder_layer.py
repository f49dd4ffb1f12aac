"""MaskedEncoderLayer's own attention path (taken when no token ids are wired): the same
numbers as torch's TransformerEncoderLayer, the same weights and names, a seeded dropout
that repeats, and probes that still see every head's weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.graph import Graph
from torchloom.engine.layers import MaskedEncoderLayer
from torchloom.engine.probe.activations import capture
from torchloom.engine.shapes import infer

N, L, E, HEADS = 3, 10, 16, 4


def _layer(causal: bool, norm_first: bool, dropout: float = 0.0,
           activation: str = "gelu") -> MaskedEncoderLayer:
    torch.manual_seed(0)
    return MaskedEncoderLayer(E, HEADS, 32, dropout=dropout, activation=activation,
                              batch_first=True, norm_first=norm_first, causal=causal)


def _torch_forward(layer: MaskedEncoderLayer, x: torch.Tensor) -> torch.Tensor:
    """What torch's own layer computes with the causal mask (the path used before)."""
    mask = layer.hidden(x.shape[1], x.shape[1], x.device, layer.causal, None)
    return nn.TransformerEncoderLayer.forward(layer, x, src_mask=layer.for_torch(mask, HEADS),
                                              is_causal=layer.causal)


CASES = [(c, f, a) for c in (True, False) for f in (True, False) for a in ("gelu", "relu")]


@pytest.mark.parametrize("causal,norm_first,activation", CASES)
def test_outputs_and_gradients_are_torchs(causal, norm_first, activation):
    layer = _layer(causal, norm_first, activation=activation)
    x = torch.randn(N, L, E, requires_grad=True)
    ours, theirs = layer(x), _torch_forward(layer, x)
    assert torch.allclose(ours, theirs, atol=1e-6)
    weight = torch.randn_like(ours)  # a loss that weighs every output differently
    params = [x, *layer.parameters()]
    for a, b in zip(torch.autograd.grad((ours * weight).sum(), params),
                    torch.autograd.grad((theirs * weight).sum(), params)):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    layer.eval()
    with torch.no_grad():
        assert torch.allclose(layer(x), _torch_forward(layer, x), atol=1e-5)


def test_a_causal_layer_ignores_later_positions_also_while_training():
    layer = _layer(True, True)
    x = torch.randn(N, L, E)
    later = x.clone()
    later[:, 6:] += 1.0
    assert torch.equal(layer(x)[:, :6], layer(later)[:, :6])
    assert not torch.allclose(layer(x)[:, 6:], layer(later)[:, 6:])


def test_weights_keep_torchs_names_and_load_both_ways():
    ours = _layer(True, True)
    plain = nn.TransformerEncoderLayer(E, HEADS, 32, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    assert list(ours.state_dict()) == list(plain.state_dict())
    ours.load_state_dict(plain.state_dict(), strict=True)  # weights saved before load
    x = torch.randn(N, L, E)
    assert torch.allclose(ours.eval()(x), _torch_forward(ours, x), atol=1e-6)


def test_dropout_repeats_for_a_seed_and_differs_for_another():
    layer = _layer(True, True, dropout=0.3)
    x = torch.randn(N, L, E)

    def run(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        return layer(x)

    assert torch.equal(run(1), run(1))
    assert not torch.equal(run(1), run(2))
    layer.eval()
    assert torch.equal(layer(x), layer(x))  # no dropout outside training


def _decoder_graph() -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [L], "dtype": "int64"}, "ids")
    g.add_node("Embedding", {"num_embeddings": 20, "embedding_dim": E}, "embed")
    g.add_node("TransformerEncoderLayer", {"nhead": HEADS, "dim_feedforward": 32,
                                           "dropout": 0.0, "norm_first": True,
                                           "activation": "gelu", "causal": True}, "attn")
    g.connect("ids", "embed")
    g.connect("embed", "attn")
    return g


def test_the_probe_gets_per_head_weights_that_explain_the_layers_output():
    """The probe's weights, applied to the layer's values, give back the layer's output:
    they are the weights the fast path used, one matrix per head, masked above the
    diagonal."""
    graph = _decoder_graph()
    model = compile_graph(graph, infer(graph), seed=0).eval()
    ids = torch.randint(0, 20, (2, L))
    probe = capture(model, ids, module_names(n.id for n in graph.nodes))
    weights = probe.nodes["attn"].attention
    assert weights.shape == (2, HEADS, L, L)
    upper = torch.ones(L, L, dtype=torch.bool).triu(1)
    assert torch.isnan(weights[:, :, upper]).all() and not torch.isnan(weights[:, :, ~upper]).any()
    layer = model.attn
    with torch.no_grad():
        x = model.embed(ids)
        v = nn.functional.linear(layer.norm1(x), layer.self_attn.in_proj_weight[2 * E:],
                                 layer.self_attn.in_proj_bias[2 * E:])
        v = v.view(2, L, HEADS, E // HEADS).transpose(1, 2)
        heads = weights.nan_to_num(0.0) @ v
        y = x + layer.self_attn.out_proj(heads.transpose(1, 2).reshape(2, L, E))
        y = y + layer._ff_block(layer.norm2(y))
    assert torch.allclose(y, probe.nodes["attn"].activation, atol=1e-5)
