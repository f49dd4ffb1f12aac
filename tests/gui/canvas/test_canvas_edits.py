"""An edit on a long chain: the canvas shows what changed, and works only on what changed."""

from __future__ import annotations

import os
from pathlib import Path

from torchloom.engine.edits import plan_add_after, plan_set_param
from torchloom.engine.graph import Graph
from torchloom.engine.layout import auto_layout
from torchloom.engine.project import Project
from torchloom.gui.canvas.node_item import NodeItem

from ..conftest import settle


def _chain(n: int) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [16]}, "x")
    prev = "x"
    for i in range(1, n):
        node = (g.add_node("Linear", {"out_features": 16}, f"fc{i}") if i % 2 else
                g.add_node("ReLU", {}, f"act{i}"))
        g.connect(prev, node.id)
        prev = node.id
    for node_id, pos in auto_layout(g).items():
        g.move(node_id, pos)
    return g


def _labels(scene) -> dict[str, str]:
    return {node_id: item.shape_text for node_id, item in scene.node_items.items()}


def _edit(doc, ops, text: str = "edit") -> None:
    assert doc.edit(ops, text)
    settle()


def test_an_edit_at_the_tail_updates_the_tail_and_leaves_every_other_block(canvas,
                                                                          monkeypatch):
    doc = canvas.open(Project(_chain(200), name="chain"))
    scene = canvas.scene
    before = _labels(scene)
    assert before["fc199"] == "N×16"
    told: list[str] = []
    real = NodeItem.set_info
    monkeypatch.setattr(NodeItem, "set_info",
                        lambda self, *a, **k: told.append(self.node.id) or real(self, *a, **k))
    _edit(doc, plan_set_param(doc.graph, "fc199", "out_features", 5))
    after = _labels(scene)
    assert after["fc199"] == "N×5"
    assert {n for n in after if after[n] != before[n]} == {"fc199"}
    assert "fc100" not in told and len(told) <= 3  # the tail, the Input, the output
    doc.undo_stack.undo()
    settle()
    assert _labels(scene) == before


def test_an_edit_at_the_head_reaches_every_block_and_wire_downstream(canvas, tmp_path):
    doc = canvas.open(Project(_chain(60), name="chain"))
    scene = canvas.scene
    _edit(doc, plan_set_param(doc.graph, "x", "shape", [4, 16]))
    labels = _labels(scene)
    assert all(text == "N×4×16" for node_id, text in labels.items()), labels
    wires = {item.edge.dst: item.label for item in scene.edge_items.values()}
    assert wires["fc59"] == "N×4×16"
    _edit(doc, plan_add_after(doc.graph, "Linear", "fc59", scene.pos_after("fc59", "Linear"),
                              params={"out_features": 3}))
    added = next(n for n in doc.graph.node_ids() if n.startswith("linear"))
    assert _labels(scene)[added] == "N×4×3"
    wires = {item.edge.dst: item.label for item in scene.edge_items.values()}
    assert wires[added] == "N×4×16"  # the new wire shows what it carries at once
    out = Path(os.environ.get("TORCHLOOM_PNG_DIR", tmp_path)) / "canvas_head_edit.png"
    canvas.view.center_on_node(added)
    settle()
    assert canvas.view.grab().save(str(out))
