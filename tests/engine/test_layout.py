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
