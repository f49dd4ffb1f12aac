"""Auto-layout, as an imported graph first appears on the canvas."""

from __future__ import annotations

from torchloom.engine.graph import Graph
from torchloom.engine.layout import auto_layout


def _swish_graph() -> Graph:
    g = Graph()
    for node_id, type_name in (("x", "Input"), ("conv", "Conv2d"), ("sig", "Sigmoid"),
                               ("mul", "Code"), ("pool", "MaxPool2d")):
        g.add_node(type_name, {}, node_id)
    for src, dst in (("x", "conv"), ("conv", "sig"), ("conv", "mul"), ("sig", "mul"),
                     ("mul", "pool")):
        g.connect(src, dst)
    return g


def test_columns_follow_the_data_flow_and_chains_stay_straight():
    pos = auto_layout(_swish_graph())
    xs = [pos[n][0] for n in ("x", "conv", "sig", "mul", "pool")]
    assert xs == sorted(xs) and len(set(xs)) == 5
    assert pos["x"][1] == pos["conv"][1] == pos["mul"][1] == pos["pool"][1]


def test_a_block_a_wire_skips_over_is_lifted_so_the_wire_shows():
    pos = auto_layout(_swish_graph())
    assert pos["sig"][1] < pos["conv"][1]  # the conv -> mul wire would run through it


def test_a_deep_graph_wraps_into_bands_that_read_like_text():
    g = Graph()
    g.add_node("Input", {"shape": [8]}, "x")
    prev = "x"
    for i in range(13):  # 14 columns: three bands of at most five
        g.add_node("ReLU", {}, f"r{i}")
        g.connect(prev, f"r{i}")
        prev = f"r{i}"
    pos = auto_layout(g)
    order = ["x", *(f"r{i}" for i in range(13))]
    xs = sorted({pos[n][0] for n in order})
    assert len(xs) == 5  # balanced: 5 + 5 + 4, not 6 + 6 + 2
    bands = sorted({pos[n][1] for n in order})
    assert len(bands) == 3
    reading = sorted(order, key=lambda n: (pos[n][1], pos[n][0]))
    assert reading == order  # left to right, then the next band down
