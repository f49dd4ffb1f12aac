"""Auto-layout as a person sees it: every shape label whole, no wire through a block, a
skip drawn as an arc over its row, a wrapped graph's wire in the gap between bands."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF, Qt

from torchloom.engine.edits import plan_layout
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.gui.canvas.routing import route
from torchloom.gui.canvas.scene import CanvasScene
from torchloom.gui.document import Document

from ..conftest import HANG_GUARD_MS, activate, settle

EXAMPLES = sorted(p.name for p in examples_dir().glob("*.json"))


def _laid_out_scene(qtbot, name: str) -> CanvasScene:
    from torchloom.gui.engine_loader import engine_loader

    engine_loader().start()
    assert engine_loader().wait(60)
    doc = Document(load_project(examples_dir() / name))
    scene = CanvasScene(doc)
    qtbot.waitUntil(lambda: doc.analysis is not None, timeout=60_000)
    doc.edit(plan_layout(doc.graph, scene.layout_measure()), "Auto-layout")
    settle()
    scene.reroute_wires()
    return scene


def _wire_problems(scene: CanvasScene) -> list[str]:
    bodies = {node_id: item.body_rect() for node_id, item in scene.node_items.items()}
    labels = []
    problems = []
    for item in scene.edge_items.values():
        edge = item.edge
        rect = item.label_scene_rect()
        if not rect.isEmpty():
            labels.append((edge, rect))
            for node_id, body in bodies.items():
                if body.intersects(rect):
                    problems.append(f"{edge.src}->{edge.dst}: label '{item.label}' under {node_id}")
        path = item.mapToScene(item._path)
        for i in range(1, 60):
            point = path.pointAtPercent(i / 60)
            for node_id, body in bodies.items():
                inside = body.adjusted(2, 2, -2, -2).contains(point)
                if inside and node_id not in (edge.src, edge.dst):
                    problems.append(f"{edge.src}->{edge.dst}: wire through {node_id}")
                    break
    for i, (a, ra) in enumerate(labels):
        for b, rb in labels[i + 1:]:
            if ra.intersects(rb):
                problems.append(f"labels of {a.src}->{a.dst} and {b.src}->{b.dst} overlap")
    return sorted(set(problems))


@pytest.mark.parametrize("name", EXAMPLES)
def test_after_auto_layout_no_label_is_covered_and_no_wire_crosses_a_block(qtbot, name):
    scene = _laid_out_scene(qtbot, name)
    assert any(item.label for item in scene.edge_items.values())  # the shapes were known
    assert _wire_problems(scene) == []


def test_a_residual_skip_arcs_over_its_row_with_its_label_above_the_blocks(qtbot):
    scene = _laid_out_scene(qtbot, "attention_classifier.json")
    (skip,) = [i for i in scene.edge_items.values()
               if (i.edge.src, i.edge.dst) == ("pos", "residual")]
    attn = scene.node_items["attn"].body_rect()
    assert skip.routed
    assert skip.label_scene_rect().bottom() < attn.top()
    assert skip.sceneBoundingRect().top() < attn.top()


def test_the_wire_between_two_bands_runs_in_the_gap_between_them(qtbot):
    scene = _laid_out_scene(qtbot, "mnist_cnn.json")
    bodies = [i.body_rect() for i in scene.node_items.values()]
    wraps = [i for i in scene.edge_items.values() if i.routed]
    assert wraps  # twelve layers wrap into bands
    for item in wraps:
        label = item.label_scene_rect()
        src, dst = item.src.body_rect(), item.dst.body_rect()
        assert src.bottom() < label.top() and label.bottom() < dst.top()
        assert not any(body.intersects(label) for body in bodies)


def test_routing_alone_goes_round_what_is_in_the_way():
    block = QRectF(300, 0, 190, 80)

    def blocks(rect: QRectF) -> list[QRectF]:
        return [block] if block.intersects(rect) else []

    path, label = route(QPointF(100, 44), QPointF(700, 44), blocks)  # along a row
    assert label is not None and label.y() < block.top()
    assert not any(block.contains(path.pointAtPercent(i / 40)) for i in range(41))
    path, label = route(QPointF(100, 44), QPointF(700, 44), lambda r: [])
    assert label is None  # nothing in the way: one plain curve
    band = QRectF(0, 0, 900, 80)
    below = QRectF(0, 200, 900, 80)

    def two_bands(rect: QRectF) -> list[QRectF]:
        return [r for r in (band, below) if r.intersects(rect)]

    path, label = route(QPointF(890, 44), QPointF(0, 244), two_bands)  # to the next band
    assert label is not None and band.bottom() < label.y() < below.top()


def test_ctrl_l_lays_out_the_example_so_its_labels_read(window, example, qtbot):
    doc = example("residual_cnn.json")
    for node in doc.graph.nodes:  # a person's mess: everything piled up
        window.scene.node_items[node.id].setPos(QPointF(0, 0))
    window.scene.commit_moves()
    activate(window, qtbot)
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    settle()
    qtbot.waitUntil(lambda: not window.scene._rewire_timer.isActive(), timeout=HANG_GUARD_MS)
    assert doc.undo_stack.undoText() == "Auto-layout"
    assert _wire_problems(window.scene) == []
    assert window.view.zoom() > 0.3  # fitted, not a speck
