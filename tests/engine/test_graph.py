"""The graph edit API: what it refuses at once, what it reports later, and its events."""

from __future__ import annotations

import pytest

from torchloom.engine.errors import (CycleError, DanglingInputError, DisconnectedWarning,
                                     InputAlreadyConnected, MissingNodeError,
                                     MultipleOutputsError, NoInputError, ParamError, PortError,
                                     UnknownBlockError)
from torchloom.engine.graph import Graph

from .builders import chain


def kinds(problems):
    return [type(p) for p in problems]


def test_new_ids_are_readable_and_unique():
    g = Graph()
    a = g.add_node("Conv2d")
    b = g.add_node("Conv2d")
    assert (a.id, b.id) == ("conv2d_1", "conv2d_2")


def test_add_node_refuses_unknown_type_with_a_suggestion():
    with pytest.raises(UnknownBlockError, match="did you mean 'Conv2d'"):
        Graph().add_node("conv2d")


@pytest.mark.parametrize("params,needle", [
    ({"kernel_size": -3}, "kernel_size must be an integer >= 1"),
    ({"out_channels": "32"}, "out_channels must be an integer"),
    ({"kernal_size": 3}, "did you mean 'kernel_size'"),
    ({"padding": "full"}, "'same' or 'valid'"),
])
def test_add_node_refuses_bad_params_naming_them(params, needle):
    with pytest.raises(ParamError, match=needle) as info:
        Graph().add_node("Conv2d", params, "conv1")
    assert info.value.node == "conv1"


def test_set_param_validates_and_emits():
    g = chain(("fc", "Linear", {"out_features": 10}), shape=[4])
    seen = []
    g.events.node_changed.connect(seen.append)
    g.set_param("fc", "out_features", 3)
    assert seen[0].key == "out_features" and seen[0].old == 10 and seen[0].new == 3
    with pytest.raises(ParamError, match="got 0"):
        g.set_param("fc", "out_features", 0)
    assert g.node("fc").params["out_features"] == 3


def test_connect_refuses_a_cycle():
    g = chain(("a", "Linear"), ("b", "ReLU"), shape=[4])
    with pytest.raises(CycleError, match="loop"):
        g.connect("b", "a")
    with pytest.raises(CycleError):
        g.connect("a", "a")
    assert g.can_connect("b", "a") is not None


def test_connect_refuses_a_second_wire_into_a_single_input():
    g = chain(("a", "Linear"), shape=[4])
    g.add_node("ReLU", node_id="r")
    g.connect("x", "r")
    with pytest.raises(InputAlreadyConnected, match="already wired"):
        g.connect("r", "a")


def test_connect_refuses_unknown_port_and_input_targets():
    g = chain(("a", "Linear"), shape=[4])
    g.add_node("Input", {"shape": [4]}, "x2")
    with pytest.raises(PortError, match="has no inputs"):
        g.connect("a", "x2")
    g.add_node("MultiheadAttention", {"num_heads": 1}, "attn")
    with pytest.raises(PortError, match="no input port 'keys'.*query, key, value"):
        g.connect("a", "attn", "keys")


def test_connect_without_port_takes_the_first_free_input():
    g = Graph()
    g.add_node("Input", {"shape": [5, 8]}, "x")
    g.add_node("Input", {"shape": [3, 8]}, "mem")
    g.add_node("MultiheadAttention", {"num_heads": 2}, "attn")
    assert g.connect("x", "attn").port == "query"
    assert g.connect("mem", "attn").port == "key"


def test_variadic_inputs_keep_edge_order_and_allow_repeats():
    g = chain(("a", "Linear", {"out_features": 4}), shape=[4])
    g.add_node("Concat", {"dim": 0}, "cat")
    g.connect("a", "cat")
    g.connect("x", "cat")
    g.connect("a", "cat")
    assert [e.src for e in g.inputs_of("cat")["in"]] == ["a", "x", "a"]


def test_remove_and_restore_node_puts_edges_back_in_order():
    g = chain(("a", "Linear", {"out_features": 4}), shape=[4])
    g.add_node("Add", node_id="add")
    g.connect("a", "add")
    g.connect("x", "add")
    before = [(e.src, e.dst) for e in g.edges]
    node, edges = g.remove_node("a")
    assert "a" not in g and all("a" not in (e.src, e.dst) for e in g.edges)
    g.restore_node(node, edges)
    assert [(e.src, e.dst) for e in g.edges] == before


def test_events_fire_for_each_edit():
    g = Graph()
    log = []
    g.events.any.connect(lambda ev: log.append(ev.kind))
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", node_id="fc")
    e = g.connect("x", "fc")
    g.move("fc", (10, 20))
    g.disconnect(e)
    g.remove_node("fc")
    assert log == ["node_added", "node_added", "edge_added", "node_moved", "edge_removed",
                   "node_removed"]


def test_missing_node_is_a_typed_error():
    with pytest.raises(MissingNodeError, match="no node 'ghost'"):
        Graph().node("ghost")


def test_problems_dangling_input():
    g = chain(("a", "Linear"), shape=[4])
    g.add_node("Add", node_id="add")
    g.connect("a", "add")
    g.add_node("Linear", node_id="b")
    g.connect("b", "add")
    problems = g.problems()
    dangling = [p for p in problems if isinstance(p, DanglingInputError)]
    assert [p.node for p in dangling] == ["b"]
    assert "input 'in' is not connected" in dangling[0].message


def test_problems_two_outputs_names_them():
    g = chain(("a", "Linear"), shape=[4])
    g.add_node("ReLU", node_id="b")
    g.connect("x", "b")
    (problem,) = [p for p in g.problems() if isinstance(p, MultipleOutputsError)]
    assert set(problem.nodes) == {"a", "b"} and "a, b" in problem.message


def test_disconnected_block_is_a_warning_not_an_output():
    g = chain(("a", "Linear"), shape=[4])
    g.add_node("Dropout", node_id="lonely")
    problems = g.problems()
    assert kinds(problems) == [DisconnectedWarning]
    assert problems[0].severity == "warning" and g.output_ids() == ["a"]


def test_problems_without_input():
    g = Graph()
    g.add_node("Linear", node_id="a")
    assert NoInputError in kinds(g.problems())


def test_cycle_in_a_loaded_graph_is_reported_with_its_path():
    from torchloom.engine.graph import Edge

    g = chain(("a", "Linear"), ("b", "Add"), ("c", "Linear"), shape=[4])
    g.insert_edge(Edge("c", "b"))
    (cycle,) = [p for p in g.problems() if isinstance(p, CycleError)]
    assert set(cycle.nodes) == {"b", "c"} and "->" in cycle.message
    assert "b" not in g.topological_order()


def test_the_wire_index_kept_across_edits_matches_the_edge_list() -> None:
    """The edges by end are kept up to date per wire, not rebuilt: after connects,
    disconnects, removals and their undos (edges put back mid-list), every node's edges are
    the edge list's, in its order, and the same objects."""
    import random

    from torchloom.engine.edits import apply_all, plan_connect, plan_delete
    from torchloom.engine.errors import TorchloomError

    rng = random.Random(7)
    g = chain(("a", "Linear"), ("b", "Add"), ("c", "Linear"), ("d", "Concat"), shape=[4])
    for node_id in ("e", "f", "h"):
        g.add_node("ReLU", {}, node_id)
    undo = []
    for _ in range(200):
        ids = g.node_ids()
        try:
            if undo and (rng.random() < 0.3 or len(ids) < 3):
                apply_all(g, undo.pop())
                continue
            if rng.random() < 0.5:
                ops = plan_connect(g, rng.choice(ids), rng.choice(ids))
            elif rng.random() < 0.7 and g.edges:
                ops = plan_delete(g, [], [rng.choice(g.edges)])
            else:
                ops = plan_delete(g, [rng.choice(ids)])
            undo.append(apply_all(g, ops))
        except TorchloomError:
            continue
        for node_id in g.node_ids():
            want_in = [e for e in g.edges if e.dst == node_id]
            want_out = [e for e in g.edges if e.src == node_id]
            assert [id(e) for e in g.in_edges(node_id)] == [id(e) for e in want_in]
            assert [id(e) for e in g.out_edges(node_id)] == [id(e) for e in want_out]
        wired = {e.src for e in g.edges} | {e.dst for e in g.edges}
        now = g.node_ids()
        assert set(g.isolated_ids()) == (set(now if len(now) > 1 else ()) - wired)
