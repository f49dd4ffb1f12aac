"""Causal attention and padding: a position never sees later tokens, padding is never
attended to, the probe shows masked cells as masked, and exports keep both."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.export.python_code import export_python
from torchloom.engine.graph import Graph
from torchloom.engine.probe.activations import capture
from torchloom.engine.probe.render import MASKED, head_heatmaps
from torchloom.engine.project import Project
from torchloom.engine.shapes import infer

L, E, VOCAB = 6, 16, 20


def _text_graph(block: str, params: dict, *, tokens: bool) -> Graph:
    """tokens [L] -> Embedding -> the attention block (token ids wired when asked)."""
    g = Graph()
    g.add_node("Input", {"shape": [L], "dtype": "int64"}, "ids")
    g.add_node("Embedding", {"num_embeddings": VOCAB, "embedding_dim": E}, "embed")
    g.add_node(block, params, "attn")
    g.connect("ids", "embed")
    g.connect("embed", "attn", "query" if block == "MultiheadAttention" else "in")
    if tokens:
        g.connect("ids", "attn", "tokens")
    return g


def _model(graph: Graph) -> torch.nn.Module:
    analysis = infer(graph)
    assert analysis.ok, [e.describe() for e in analysis.problems]
    return compile_graph(graph, analysis, seed=0).eval()


BLOCKS = [("MultiheadAttention", {"num_heads": 2, "causal": True}),
          ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 32, "dropout": 0.0,
                                       "causal": True})]


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
def test_a_causal_position_never_sees_later_tokens(block, params):
    model = _model(_text_graph(block, params, tokens=False))
    ids = torch.randint(1, VOCAB, (3, L))
    changed = ids.clone()
    changed[:, 4:] = (changed[:, 4:] % (VOCAB - 1)) + 1  # rewrite the last two tokens
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:])


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
def test_without_causal_earlier_positions_see_later_tokens(block, params):
    model = _model(_text_graph(block, {**params, "causal": False}, tokens=False))
    ids = torch.randint(1, VOCAB, (2, L))
    changed = ids.clone()
    changed[:, -1] = (changed[:, -1] % (VOCAB - 1)) + 1
    with torch.no_grad():
        assert not torch.allclose(model(ids)[:, 0], model(changed)[:, 0])


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
def test_padding_changes_nothing_for_the_real_tokens(block, params):
    """The same sample, padded with 0s to the right by different amounts in two batches,
    gives the same output at its real positions."""
    model = _model(_text_graph(block, {**params, "causal": False}, tokens=True))
    real = torch.tensor([5, 3, 9])
    short = torch.zeros(1, L, dtype=torch.long)
    short[0, :3] = real
    with torch.no_grad():
        alone = model(short)[0, :3]
        # the padding tokens' embeddings differ when the table changes: the output must not
        model.embed.weight[0] += 10.0
        again = model(short)[0, :3]
    assert torch.allclose(alone, again, atol=1e-5)


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
def test_padding_where_a_causal_row_would_see_nothing_stays_finite(block, params):
    """All padding, or padding first in a causal sequence: no row may become NaN."""
    model = _model(_text_graph(block, params, tokens=True))
    ids = torch.tensor([[0] * L, [0, 0, 3, 4, 5, 6]])
    with torch.no_grad():
        assert torch.isfinite(model(ids)).all()


def test_token_ids_of_another_length_are_an_error_on_the_node():
    g = _text_graph(*BLOCKS[1], tokens=False)
    g.add_node("Input", {"shape": [L + 2], "dtype": "int64"}, "other")
    g.connect("other", "attn", "tokens")
    problems = [e.describe() for e in infer(g).problems]
    assert any("token ids [N, 8] must be as long as the sequence they mask (6)" in p
               for p in problems), problems


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
def test_probe_marks_the_masked_triangle_and_padding_as_nan(block, params):
    graph = _text_graph(block, params, tokens=True)
    model = _model(graph)
    ids = torch.tensor([[4, 7, 2, 9, 0, 0]])
    weights = capture(model, ids, module_names(n.id for n in graph.nodes)).nodes["attn"].attention
    assert weights.shape == (1, 2, L, L)
    hidden = torch.isnan(weights[0, 0])
    upper = torch.ones(L, L, dtype=torch.bool).triu(1)
    padding = torch.zeros(L, L, dtype=torch.bool)
    padding[:, 4:] = True
    assert torch.equal(hidden, upper | padding)
    visible = weights.nan_to_num(0.0).sum(-1)
    assert torch.allclose(visible, torch.ones_like(visible), atol=1e-5)  # rows still sum to 1


def test_masked_cells_are_grey_in_the_exported_pictures():
    weights = np.full((1, 3, 3), np.nan)
    weights[0][np.tril_indices(3)] = 1 / 3
    page = np.asarray(head_heatmaps(weights, cell=28)[0])
    colours = {tuple(int(c) for c in px) for px in page.reshape(-1, 3)}
    assert tuple(MASKED) in colours


def test_python_export_reproduces_a_causal_padded_model(tmp_path):
    graph = _text_graph(*BLOCKS[1], tokens=True)
    result = export_python(Project(graph, name="causal"), tmp_path / "model.py")
    text = (tmp_path / "model.py").read_text()
    assert "class MaskedEncoderLayer" in text and "causal=True" in text
    assert result is not None


@pytest.mark.parametrize("block,params", BLOCKS, ids=[b for b, _ in BLOCKS])
@pytest.mark.parametrize("tokens", [False, True], ids=["causal", "causal+tokens"])
def test_pt2_export_imports_back_causal(tmp_path, block, params, tokens):
    from torchloom.engine.export.pt2_export import export_pt2
    from torchloom.engine.importer import import_module

    graph = _text_graph(block, params, tokens=tokens)
    export_pt2(Project(graph, name="causal"), tmp_path / "m.pt2")
    back = import_module(tmp_path / "m.pt2", tmp_path / "back.json").project.graph
    assert [n.params.get("causal") for n in back.nodes if n.type == block] == [True]
    wired = sorted((e.src, back.port_of(e)) for e in back.edges if e.dst == "attn")
    assert (("ids", "tokens") in wired) == tokens
