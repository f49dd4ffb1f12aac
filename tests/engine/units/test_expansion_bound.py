"""A repeated unit inside a repeated unit multiplies: repeat is bounded per node (1000), but
1000 x 1000 copies hung `torchloom check` (QA 2026-12-02). The outermost unit node now
reports a typed error once its expansion passes a block budget."""

from __future__ import annotations

import copy

import pytest

from torchloom.engine.shapes import infer
from torchloom.engine.units import UnitError, expand

from .helpers import load, res_data


def _nested(inner_repeat: int, outer_repeat: int, second_node: bool = False):
    data = res_data()
    outer = {
        "nodes": [{"id": "in", "type": "Input", "params": {"shape": [8, 16, 16]}},
                  {"id": "res", "type": "unit:ResBlock", "params": {"repeat": inner_repeat}}],
        "edges": [{"from": "in", "to": "res"}],
        "inputs": [{"name": "in", "node": "in"}], "outputs": [{"name": "out", "node": "res"}]}
    data["units"]["Outer"] = copy.deepcopy(outer)
    data["graph"]["nodes"][2]["type"] = "unit:Outer"
    data["graph"]["nodes"][2]["params"] = {"repeat": outer_repeat}
    if second_node:  # a second unit node after the first one: it gets its own budget
        data["graph"]["nodes"].insert(3, {"id": "block2", "type": "unit:Outer",
                                          "params": {"repeat": outer_repeat}})
        for edge in data["graph"]["edges"]:
            if edge["from"] == "block1":
                edge["from"] = "block2"
        data["graph"]["edges"].append({"from": "block1", "to": "block2"})
    return load(data)


def test_nested_repeats_past_the_budget_are_a_typed_error_on_the_outer_node(monkeypatch):
    monkeypatch.setattr(expand, "MAX_EXPANDED_BLOCKS", 200)
    analysis = infer(_nested(1000, 1000).graph)
    assert [e.node for e in analysis.errors] == ["block1"]
    error = analysis.errors[0]
    assert isinstance(error, UnitError)
    assert "expands to more than 200 blocks" in error.describe()
    assert "node block1 (unit:Outer)" in error.describe()


@pytest.mark.parametrize("second_node", [False, True])
def test_nested_repeats_within_the_budget_still_work(monkeypatch, second_node):
    monkeypatch.setattr(expand, "MAX_EXPANDED_BLOCKS", 200)
    # 3 outer copies x (2 nodes + 4 ResBlock copies x 6 nodes) = 78 blocks per unit node
    analysis = infer(_nested(4, 3, second_node).graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
