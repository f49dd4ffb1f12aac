"""Auto-layout: a layered drawing that reads left to right."""

from __future__ import annotations

import random

from torchloom.engine.graph import Edge, Graph
from torchloom.engine.layout import (ARC_ROOM, BAND_GAP, DEFAULT_MEASURE, LABEL_PAD,
                                     Measure, auto_layout)

W, H = DEFAULT_MEASURE.size("")


def _graph(nodes, wires) -> Graph:  # type: ignore[no-untyped-def]
    g = Graph()
    for node_id, type_name in nodes:
        g.add_node(type_name, {}, node_id)
    for src, dst in wires:
        g.connect(src, dst, g.check_connect(src, dst, None))
    return g


def _swish_graph() -> Graph:
    return _graph((("x", "Input"), ("conv", "Conv2d"), ("sig", "Sigmoid"), ("mul", "Code"),
                   ("pool", "MaxPool2d")),
                  (("x", "conv"), ("conv", "sig"), ("conv", "mul"), ("sig", "mul"),
                   ("mul", "pool")))


def _chain(n: int) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [8]}, "x")
    prev = "x"
    for i in range(n - 1):
        g.add_node("ReLU", {}, f"r{i}")
        g.connect(prev, f"r{i}")
        prev = f"r{i}"
    return g


def _overlaps(pos, size=(W, H)) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    items = list(pos.items())
    out = []
    for i, (a, (xa, ya)) in enumerate(items):
        for b, (xb, yb) in items[i + 1:]:
            if xa < xb + size[0] and xb < xa + size[0] and ya < yb + size[1] and yb < ya + size[1]:
                out.append((a, b))
    return out


def test_columns_follow_the_data_flow_and_the_main_path_is_one_straight_row():
    pos = auto_layout(_swish_graph())
    xs = [pos[n][0] for n in ("x", "conv", "sig", "mul", "pool")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert len({pos[n][1] for n in pos}) == 1


def test_a_wire_that_skips_blocks_leaves_them_in_the_row_with_room_above_for_its_arc():
    pos = auto_layout(_swish_graph())  # conv -> mul skips sig
    assert pos["sig"][1] == pos["conv"][1]
    assert min(y for _, y in pos.values()) >= ARC_ROOM  # the arc and its label fit above


def test_branches_take_their_own_rows_without_overlap_or_crossing():
    # x feeds a and b; the file lists b's consumer first, so file order would cross them
    g = _graph((("x", "Input"), ("a", "ReLU"), ("b", "Tanh"), ("from_b", "ReLU"),
                ("from_a", "Tanh"), ("join", "Code")),
               (("x", "a"), ("x", "b"), ("b", "from_b"), ("a", "from_a"),
                ("from_a", "join"), ("from_b", "join")))
    pos = auto_layout(g)
    assert not _overlaps(pos)
    assert pos["a"][0] == pos["b"][0] != pos["x"][0]
    assert (pos["a"][1] < pos["b"][1]) == (pos["from_a"][1] < pos["from_b"][1])
    assert pos["x"][1] == pos["join"][1]  # the main path stays straight through a branch


def test_each_gap_is_as_wide_as_its_widest_label_needs():
    g = _chain(3)
    wide = g.edges[1]
    measure = Measure(size=lambda _n: (W, H), label=lambda e: 300.0 if e is wide else 40.0)
    pos = auto_layout(g, measure)
    assert pos["r1"][0] - (pos["r0"][0] + W) >= 300 + 2 * LABEL_PAD
    assert pos["r0"][0] - (pos["x"][0] + W) < 300


def test_a_deep_graph_wraps_into_balanced_bands_that_read_like_text():
    g = _chain(14)
    pos = auto_layout(g)
    order = ["x", *(f"r{i}" for i in range(13))]
    bands = sorted({pos[n][1] for n in order})
    sizes = sorted(sum(1 for n in order if pos[n][1] == y) for y in bands)
    assert len(bands) > 1 and sizes[-1] - sizes[0] <= 1  # balanced: no stub band
    assert bands[1] - bands[0] >= H + BAND_GAP  # clearly separated: the wire runs between
    reading = sorted(order, key=lambda n: (pos[n][1], pos[n][0]))
    assert reading == order  # left to right, then the next band down


def test_the_number_of_bands_follows_the_shape_of_the_canvas():
    g = _chain(14)
    wide = auto_layout(g, Measure(DEFAULT_MEASURE.size, DEFAULT_MEASURE.label, (3000, 500)))
    tall = auto_layout(g, Measure(DEFAULT_MEASURE.size, DEFAULT_MEASURE.label, (600, 1200)))
    assert len({y for _, y in wide.values()}) < len({y for _, y in tall.values()})
    short = auto_layout(_chain(4))
    assert len({y for _, y in short.values()}) == 1  # a short chain stays one row


def test_bands_are_not_cut_through_a_skip_when_a_cut_beside_it_is_as_good():
    g = _chain(10)  # two bands of five: the ideal cut is between layers 4 and 5
    g.add_node("Code", {}, "join")
    g.disconnect(g.edges[5])  # r4 -> r5 becomes r4 -> join -> r5, with r2 -> join a skip
    g.connect("r4", "join")
    g.connect("r2", "join")
    g.connect("join", "r5")
    pos = auto_layout(g)
    assert pos["r2"][1] == pos["join"][1]  # the skip's ends share a band


def test_a_second_input_sits_just_before_the_block_it_feeds():
    g = _chain(6)
    g.add_node("Input", {"shape": [8]}, "side")
    g.add_node("Code", {}, "mix")
    g.disconnect(g.edges[-1])
    g.connect("r3", "mix")
    g.connect("side", "mix")
    g.connect("mix", "r4")
    pos = auto_layout(g)
    assert pos["side"][0] == pos["r3"][0]


def test_loops_and_loose_blocks_still_get_a_place_each():
    g = _chain(4)
    g.add_node("ReLU", {}, "loose")
    g.insert_edge(Edge("r2", "r0"))  # connect refuses loops; a damaged file can hold one
    pos = auto_layout(g)
    assert set(pos) == {n.id for n in g.nodes}
    assert not _overlaps(pos)


def test_random_graphs_never_overlap_and_every_wire_points_right():
    rng = random.Random(7)
    for trial in range(25):
        g = Graph()
        g.add_node("Input", {"shape": [8]}, "n0")
        for i in range(1, rng.randint(3, 30)):
            g.add_node("Code", {}, f"n{i}")
            for j in rng.sample(range(i), min(i, rng.choice((1, 1, 2)))):
                g.connect(f"n{j}", f"n{i}", g.check_connect(f"n{j}", f"n{i}", None))
        pos = auto_layout(g)
        assert not _overlaps(pos), trial
        for e in g.edges:  # within a band, right; across bands, further down
            (xa, ya), (xb, yb) = pos[e.src], pos[e.dst]
            assert xb > xa or yb > ya, (trial, e)
