"""Adding a block after another: one edit that adds it and wires it, and undoes as one."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.edits import apply_all, plan_add_after
from torchloom.engine.errors import GraphError
from torchloom.engine.project import graph_to_dict

from .builders import chain


def snapshot(graph):
    return json.dumps(graph_to_dict(graph), sort_keys=True)


def test_the_new_block_takes_the_output_of_the_one_before():
    g = chain(("conv", "Conv2d"))
    before = snapshot(g)
    ops = plan_add_after(g, "ReLU", "conv", (300.0, 0.0), node_id="relu")
    inverses = apply_all(g, ops)
    assert [(e.src, e.dst) for e in g.in_edges("relu")] == [("conv", "relu")]
    assert g.node("relu").pos == (300.0, 0.0)
    apply_all(g, inverses)
    assert snapshot(g) == before


def test_a_block_with_several_inputs_is_fed_on_its_first():
    g = chain(("fc", "Linear"), shape=[5, 16])
    apply_all(g, plan_add_after(g, "MultiheadAttention", "fc", node_id="att"))
    (edge,) = g.in_edges("att")
    assert (edge.src, g.port_of(edge)) == ("fc", "query")


def test_an_input_block_is_only_added_and_a_missing_block_is_refused():
    g = chain(("fc", "Linear"), shape=[5])
    ops = plan_add_after(g, "Input", "fc", node_id="y")
    assert [op.kind for op in ops] == ["add_node"]
    with pytest.raises(GraphError):
        plan_add_after(g, "ReLU", "nowhere")
