"""The incremental shape pass gives what a whole pass gives, after every kind of edit."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from torchloom.engine.edits import Op, apply_all, plan_add, plan_add_after, plan_connect, \
    plan_delete, plan_set_param, plan_set_training
from torchloom.engine.errors import TorchloomError
from torchloom.engine.graph import Graph
from torchloom.engine.project import loads_project
from torchloom.engine.rename import plan_rename
from torchloom.engine.shapes import Analysis, infer
from torchloom.engine.shapes_incremental import ShapeTracker

from .builders import chain


def _problem(p: Any) -> tuple:
    return (type(p).__name__, p.message, p.node, tuple(p.nodes), p.severity,
            getattr(p, "port", None), getattr(p, "param", None), repr(getattr(p, "fix", None)))


def canon(analysis: Analysis) -> dict[str, Any]:
    """Everything a person can see of an analysis, comparable with ==."""
    return {
        "nodes": [(node_id, repr(info.spec), repr(info.outputs), info.num_params,
                   info.trainable_params, repr(info.input_specs),
                   [_problem(e) for e in info.errors])
                  for node_id, info in analysis.nodes.items()],
        "problems": [_problem(p) for p in analysis.problems],
        "order": analysis.order, "inputs": analysis.inputs, "output": analysis.output,
        "outputs": analysis.outputs}


def assert_same(tracker: ShapeTracker, graph: Graph, vector_output: bool = True) -> Analysis:
    got = tracker.analysis(vector_output)
    want = infer(graph, vector_output)
    assert canon(got) == canon(want)
    return got


#: (type, parameters to pick from): blocks whose shapes change with their input or their
#: parameters, two with several inputs, one with several outputs
BLOCKS: list[tuple[str, dict[str, list[Any]]]] = [
    ("Linear", {"out_features": [4, 8, 16]}),
    ("ReLU", {}),
    ("Add", {}),
    ("Concat", {"dim": [0, -1]}),
    ("Chunk", {"chunks": [2, 3]}),
    ("Flatten", {}),
    ("LayerNorm", {}),
    ("Input", {"shape": [[8], [16], [2, 8]]}),
]


def random_edit(graph: Graph, rng: random.Random) -> list[Op]:
    """One edit a person could make, planned as the window plans it; [] when refused."""
    ids = graph.node_ids()
    what = rng.choice(["add", "after", "after", "remove", "remove", "connect", "connect",
                       "disconnect", "param", "param", "param", "freeze", "rename"])
    try:
        if what in ("add", "after") or not ids:
            type_name, choices = rng.choice(BLOCKS)
            params = {k: rng.choice(v) for k, v in choices.items() if rng.random() < 0.7}
            if what == "after" and ids:  # Tab: the new block is fed by one already there
                return plan_add_after(graph, type_name, rng.choice(ids), params=params)
            return plan_add(graph, type_name, params=params)
        node_id = rng.choice(ids)
        node = graph.node(node_id)
        if what == "remove":
            return plan_delete(graph, [node_id])
        if what == "connect":
            return plan_connect(graph, rng.choice(ids), node_id)
        if what == "disconnect":
            edges = graph.edges
            return plan_delete(graph, [], [rng.choice(edges)]) if edges else []
        if what == "freeze":
            return plan_set_training(graph, node_id, "trainable", not node.trainable)
        if what == "rename":
            return plan_rename(graph, node_id, f"{node_id}_r")
        choices = dict(BLOCKS).get(node.type, {})
        if not choices:
            return []
        name = rng.choice(list(choices))
        return plan_set_param(graph, node_id, name, rng.choice(choices[name]))
    except TorchloomError:
        return []  # refused (a loop, a taken input, a taken id): the window says why


@pytest.mark.parametrize("seed", range(6))
def test_random_edits_and_undos_give_what_a_whole_pass_gives(seed: int) -> None:
    rng = random.Random(seed)
    graph = chain(("fc1", "Linear", {"out_features": 8}), ("act", "ReLU"),
                  ("fc2", "Linear", {"out_features": 8}), ("out", "Linear"), shape=[16])
    graph.add_node("Chunk", {"chunks": 3}, "chunk")
    graph.connect("act", "chunk")
    graph.add_node("Add", {}, "add")
    graph.connect("chunk", "add", from_port="out2")
    tracker = ShapeTracker(graph)
    previous = assert_same(tracker, graph)
    undo: list[list[Op]] = []
    for _step in range(70):
        if undo and rng.random() < 0.25:
            apply_all(graph, undo.pop())
        else:
            ops = random_edit(graph, rng)
            if not ops:
                continue
            try:
                undo.append(apply_all(graph, ops))
            except TorchloomError:
                continue
        got = assert_same(tracker, graph, vector_output=rng.random() < 0.8)
        # what did not change is the same object, so a view may skip it
        unchanged = set(got.nodes) - set(got.changed or got.nodes)
        assert all(got.nodes[n] is previous.nodes[n] for n in unchanged)
        previous = got


def test_a_parameter_change_reaches_every_node_downstream() -> None:
    graph = chain(("fc1", "Linear", {"out_features": 8}), ("act", "ReLU"),
                  ("norm", "LayerNorm"), ("fc2", "Linear", {"out_features": 4}), shape=[16])
    tracker = ShapeTracker(graph)
    tracker.analysis()
    graph.set_param("fc1", "out_features", 12)
    got = tracker.analysis()
    assert got.nodes["norm"].shape == (12,)
    assert got.nodes["fc2"].num_params == 12 * 4 + 4
    assert {"fc1", "act", "norm", "fc2"} <= got.changed  # type: ignore[operator]


def test_an_edit_at_the_end_of_a_long_chain_measures_only_the_end() -> None:
    specs = [(f"fc{i}", "Linear", {"out_features": 8}) for i in range(60)]
    graph = chain(*specs, shape=[8])
    tracker = ShapeTracker(graph)
    first = tracker.analysis()
    graph.set_param("fc59", "out_features", 3)
    got = tracker.analysis()
    assert got.changed == {"fc59", "x"}  # the Input's NodeInfo is new in every analysis
    assert got.nodes["fc59"].shape == (3,)
    assert got.nodes["fc10"] is first.nodes["fc10"]
    assert canon(got) == canon(infer(graph))


def test_an_added_block_wired_to_nothing_changes_only_itself() -> None:
    graph = chain(("fc1", "Linear", {"out_features": 8}), ("fc2", "Linear"), shape=[16])
    tracker = ShapeTracker(graph)
    tracker.analysis()
    graph.add_node("ReLU", node_id="loose")
    got = tracker.analysis()
    assert got.changed is not None and "fc1" not in got.changed
    assert [type(e).__name__ for e in got.nodes["loose"].errors] == ["DisconnectedWarning"]
    assert canon(got) == canon(infer(graph))


def test_heads_vocab_and_folder_changes_start_afresh() -> None:
    graph = chain(("fc1", "Linear", {"out_features": 8}), shape=[16])
    graph.add_node("Linear", {"out_features": 2}, "fc2")
    graph.connect("x", "fc2")
    tracker = ShapeTracker(graph)
    assert tracker.analysis().errors  # two outputs, no heads
    graph.heads = ("fc1", "fc2")  # no event: the project sets it
    assert not assert_same(tracker, graph, vector_output=False).errors


def test_a_task_adding_its_check_to_the_output_does_not_leak_into_the_next_analysis() -> None:
    graph = chain(("fc1", "Linear", {"out_features": 8}), ("act", "ReLU"), shape=[16])
    tracker = ShapeTracker(graph)
    first = tracker.analysis()
    first.nodes["act"].errors.append(first.problems[0] if first.problems else None)
    first.nodes["x"].errors.append(None)  # a GAN's check on the Input
    graph.add_node("ReLU", node_id="loose")
    assert_same(tracker, graph)


UNIT = {"nodes": [{"id": "in", "type": "Input", "params": {"shape": [16]}},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 16}}],
        "edges": [{"from": "in", "to": "fc"}],
        "inputs": [{"name": "in", "node": "in"}], "outputs": [{"name": "out", "node": "fc"}]}


def test_a_change_inside_a_unit_reaches_the_unit_nodes_without_an_outer_event() -> None:
    project = loads_project(json.dumps({
        "format": "torchloom-project", "version": 1, "name": "u", "units": {"Res": UNIT},
        "graph": {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [16]}},
                            {"id": "u1", "type": "unit:Res"},
                            {"id": "fc", "type": "Linear", "params": {"out_features": 2}}],
                  "edges": [{"from": "x", "to": "u1"}, {"from": "u1", "to": "fc"}]}}))
    graph = project.graph
    tracker = ShapeTracker(graph)
    assert tracker.analysis().nodes["u1"].shape == (16,)
    graph.units.get("Res").graph.set_param("fc", "out_features", 5)  # the unit's own graph
    got = assert_same(tracker, graph)
    assert got.nodes["u1"].shape == (5,)
    assert got.nodes["fc"].num_params == 5 * 2 + 2


def test_a_wire_going_stale_and_back_and_the_output_warning_follow_edits() -> None:
    graph = chain(("fc1", "Linear", {"out_features": 9}), shape=[4, 16])
    graph.add_node("Chunk", {"chunks": 3, "dim": -1}, "chunk")
    graph.connect("fc1", "chunk")
    graph.add_node("ReLU", {}, "act")
    graph.connect("chunk", "act", from_port="out2")
    tracker = ShapeTracker(graph)
    assert [type(p).__name__ for p in assert_same(tracker, graph).problems] == [
        "OutputShapeWarning"]  # [N, 4, 3] is no vector per sample
    graph.set_param("chunk", "chunks", 2)  # out2 is gone: the wire from it is stale
    assert "PortError" in [type(p).__name__ for p in assert_same(tracker, graph).problems]
    graph.set_param("chunk", "chunks", 3)
    assert assert_same(tracker, graph).nodes["act"].shape == (4, 3)
    graph.add_node("Flatten", {}, "flat")
    graph.connect("act", "flat")
    assert not assert_same(tracker, graph).problems


@pytest.mark.parametrize("example", ["mnist_cnn.json", "gan_mnist.json"])
def test_a_task_analysing_through_trackers_agrees_with_a_whole_analysis(example: str) -> None:
    """The window's path (`Task.analyze` with `ShapeTrackers.infer`): the task's own checks
    land on copies of the output's and the Inputs' NodeInfos, so a second analysis after an
    edit still matches a whole one, for one graph and for a GAN's two."""
    from torchloom.engine.project import load_project
    from torchloom.engine.resources import examples_dir
    from torchloom.engine.shapes_incremental import ShapeTrackers
    from torchloom.engine.tasks import task_for

    project = load_project(examples_dir() / example)
    task = task_for(project)
    shapes = ShapeTrackers()

    def both() -> None:
        got, want = task.analyze(project, infer=shapes.infer), task.analyze(project)
        mine = getattr(got, "analyses", {"graph": got})
        for key, analysis in getattr(want, "analyses", {"graph": want}).items():
            assert canon(mine[key]) == canon(analysis)
        assert [_problem(p) for p in got.problems] == [_problem(p) for p in want.problems]

    both()
    for graph in project.graphs().values():
        first = graph.node_ids()[1]
        graph.add_node("ReLU", node_id="loose")
        both()
        graph.remove_node("loose")
        graph.set_training(first, "trainable", False)
        both()
    shapes.close()
