"""Edits as data: every op undoes exactly, and the plans for fixes, paste and layout work."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.edits import (apply_all, copy_fragment, plan_add, plan_connect,
                                    plan_delete, plan_fix, plan_layout, plan_paste,
                                    plan_set_param)
from torchloom.engine.errors import CycleError, GraphError, ParamError
from torchloom.engine.project import graph_to_dict
from torchloom.engine.shapes import infer

from .builders import chain


def snapshot(graph):
    return json.dumps(graph_to_dict(graph), sort_keys=True)


def roundtrip(graph, ops):
    """Apply, check it changed, undo, check it is back, redo, and return the graph."""
    before = snapshot(graph)
    inverses = apply_all(graph, ops)
    after = snapshot(graph)
    assert after != before
    redo = apply_all(graph, inverses)
    assert snapshot(graph) == before
    apply_all(graph, redo)
    assert snapshot(graph) == after
    return graph


def test_add_connect_param_move_delete_all_undo():
    g = chain(("fc", "Linear", {"out_features": 4}), shape=[3])
    roundtrip(g, plan_add(g, "ReLU", (10, 20), node_id="r"))
    roundtrip(g, plan_connect(g, "fc", "r"))
    roundtrip(g, plan_set_param(g, "fc", "out_features", 7))
    roundtrip(g, plan_set_param(g, "fc", "bias", False))
    roundtrip(g, plan_set_param(g, "fc", "out_features", None))  # back to the default
    roundtrip(g, [*plan_delete(g, ["fc"])])
    g2 = chain(("a", "Linear"), ("b", "ReLU"), shape=[3])
    roundtrip(g2, plan_delete(g2, [], [g2.edges[1]]))


def test_refused_plans_raise_typed_errors_and_change_nothing():
    g = chain(("a", "Linear"), ("b", "ReLU"), shape=[3])
    before = snapshot(g)
    with pytest.raises(CycleError):
        plan_connect(g, "b", "a")
    with pytest.raises(ParamError, match="out_features must be"):
        plan_set_param(g, "a", "out_features", 0)
    assert snapshot(g) == before


def test_fix_insert_flatten_makes_the_graph_valid_and_undoes():
    g = chain(("conv", "Conv2d"), ("fc", "Linear"))
    (error,) = infer(g).errors
    roundtrip(g, plan_fix(g, error.fix))
    a = infer(g)
    assert a.ok and a.nodes["fc"].input_specs[0].shape == (32 * 26 * 26,)
    assert [e.dst for e in g.out_edges("conv")] == ["flatten_1"]


def test_fix_remove_flatten():
    g = chain(("flat", "Flatten"), ("conv", "Conv2d"), ("relu", "ReLU"))
    (error,) = infer(g).errors
    roundtrip(g, plan_fix(g, error.fix))
    assert "flat" not in g and infer(g).nodes["conv"].shape == (32, 26, 26)


def test_fix_set_input_dtype():
    g = chain(("emb", "Embedding"), ("pool", "SequencePool"), shape=[10])
    (error,) = infer(g).errors
    roundtrip(g, plan_fix(g, error.fix))
    assert g.node("x").params["dtype"] == "int64" and infer(g).ok


def test_fix_append_flatten_after_a_feature_map_output():
    g = chain(("conv", "Conv2d"))
    (warning,) = infer(g).warnings
    roundtrip(g, plan_fix(g, warning.fix))
    assert infer(g).output_spec.shape == (32 * 26 * 26,)


def test_fix_sequence_pool_before_classifier_keeps_edge_order():
    g = chain(("emb", "Embedding", {"num_embeddings": 10}), ("lstm", "LSTM"),
              ("fc", "Linear", {"out_features": 2}), shape=[12], dtype="int64")
    (warning,) = infer(g).warnings
    roundtrip(g, plan_fix(g, warning.fix))
    a = infer(g)
    assert a.ok and not a.warnings and a.output_spec.shape == (2,)


def test_copy_paste_gets_new_ids_keeps_internal_edges():
    g = chain(("a", "Linear", {"out_features": 5}), ("b", "ReLU"), ("c", "Linear"), shape=[3])
    g.move("a", (0, 0))
    g.move("b", (100, 0))
    fragment = json.loads(json.dumps(copy_fragment(g, ["a", "b"])))
    assert len(fragment["nodes"]) == 2 and len(fragment["edges"]) == 1
    ops, mapping = plan_paste(g, fragment, (10, 50))
    roundtrip(g, ops)
    assert mapping == {"a": "a_2", "b": "b_2"}
    assert g.node("a_2").params["out_features"] == 5 and g.node("b_2").pos == (110.0, 50.0)
    assert [(e.src, e.dst) for e in g.in_edges("b_2")] == [("a_2", "b_2")]
    ops, mapping = plan_paste(g, fragment)
    assert mapping == {"a": "a_3", "b": "b_3"}


@pytest.mark.parametrize("content", [None, "text", {"format": "other"},
                                     {"format": "torchloom-fragment", "nodes": [{"id": 1}]},
                                     {"format": "torchloom-fragment",
                                      "nodes": [{"id": "a", "type": "Nope"}], "edges": []}])
def test_paste_of_bad_clipboard_content(content):
    g = chain(shape=[3])
    with pytest.raises(GraphError):
        plan_paste(g, content)


def test_layout_goes_left_to_right_by_generation():
    g = chain(("a", "Linear", {"out_features": 3}), ("b", "ReLU"), shape=[3])
    g.add_node("Add", node_id="add")
    g.connect("b", "add")
    g.connect("x", "add")
    roundtrip(g, plan_layout(g))
    xs = {n.id: n.pos[0] for n in g.nodes}
    assert xs["x"] < xs["a"] < xs["b"] < xs["add"]
    # one straight row: the residual wire x -> add arcs over the chain it skips
    assert len({n.pos[1] for n in g.nodes}) == 1
