"""The canvas with many blocks: opening routes every wire against one index of the blocks,
and far out blocks still show as their coloured silhouettes."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QImage, QPainter

from torchloom.engine.graph import Graph
from torchloom.engine.layout import auto_layout
from torchloom.engine.project import Project
from torchloom.gui import theme
from torchloom.gui.canvas import edge_item
from torchloom.gui.canvas.scene import CanvasScene
from torchloom.gui.canvas.view import CanvasView
from torchloom.gui.document import Document

from ..conftest import settle


def _ladder(rungs: int) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [8]}, "x")
    prev = "x"
    for i in range(rungs):
        fc = g.add_node("Linear", {"out_features": 8}, f"fc{i}").id
        act = g.add_node("ReLU", {}, f"relu{i}").id
        add = g.add_node("Add", {}, f"add{i}").id
        g.connect(prev, fc)
        g.connect(fc, act)
        g.connect(act, add)
        g.connect(prev, add)
        prev = add
    for node_id, pos in auto_layout(g).items():
        g.move(node_id, pos)
    return g


def _scene(qtbot, graph: Graph) -> CanvasScene:
    from torchloom.gui.engine_loader import engine_loader

    engine_loader().start()
    assert engine_loader().wait(60)
    doc = Document(Project(graph))
    scene = CanvasScene(doc)
    qtbot.waitUntil(lambda: doc.analysis is not None, timeout=60_000)
    return scene


def test_opening_a_big_graph_never_builds_a_wire_outline_to_find_blocks(qtbot, monkeypatch):
    """Which blocks stand in a wire's way is asked by bounding rectangle: asking by shape
    made Qt build the outline of every wire near every query, on every open and drag."""
    outlines = []
    real = edge_item.EdgeItem.shape
    monkeypatch.setattr(edge_item.EdgeItem, "shape",
                        lambda self: outlines.append(1) or real(self))
    scene = _scene(qtbot, _ladder(60))
    assert len(scene.edge_items) == 240
    assert any(item.routed for item in scene.edge_items.values())  # skips arc over a rung
    assert outlines == []


def test_the_skips_of_an_opened_graph_already_go_round_their_rung(qtbot):
    """Wires are routed once every block and wire is on the scene, and each skip's route
    is the one moving a block would give it again."""
    scene = _scene(qtbot, _ladder(4))
    skips = [item for item in scene.edge_items.values() if item.edge.dst.startswith("add")
             and not item.edge.src.startswith("relu")]
    assert len(skips) == 4 and all(item.routed for item in skips)
    for item in skips:
        before = item.mapToScene(item._path).boundingRect()
        item.update_path()
        assert item.mapToScene(item._path).boundingRect() == before


def test_far_out_blocks_show_their_category_colour(qtbot):
    scene = _scene(qtbot, _ladder(30))
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    view.set_zoom(0.15)
    view.centerOn(scene.node_items["fc3"].sceneBoundingRect().center())
    settle()
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    view.render(painter)
    painter.end()
    wanted = theme.category_color(scene.node_items["fc3"].category).rgb()
    where = view.mapFromScene(scene.node_items["fc3"].mapToScene(QPointF(95, 6)))
    assert QColor(image.pixel(where)).rgb() == wanted


def _render(view: CanvasView) -> QImage:
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    view.render(painter)
    painter.end()
    return image


def _far_view(qtbot, monkeypatch, rungs: int = 20) -> tuple[CanvasScene, CanvasView]:
    """A graph above the (lowered) overview size, fitted far out in a small view."""
    from torchloom.gui.canvas import overview

    monkeypatch.setattr(overview, "OVERVIEW_NODES", 50)
    scene = _scene(qtbot, _ladder(rungs))
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_zoom(0.09)
    view.centerOn(scene.node_items["fc3"].sceneBoundingRect().center())
    settle()
    return scene, view


def test_a_big_graph_far_out_draws_as_one_overview_without_painting_each_item(
        qtbot, monkeypatch):
    """Thousands of blocks fitted in the window: one item draws them all (an item-by-item
    paint cost a Python call per block and wire, about 1.5 s a frame at 10,000 blocks)."""
    from torchloom.gui.canvas import node_item

    scene, view = _far_view(qtbot, monkeypatch)
    painted = []
    for cls in (node_item.NodeItem, edge_item.EdgeItem):
        real = cls.paint
        monkeypatch.setattr(cls, "paint", lambda self, *a, real=real: painted.append(self)
                            or real(self, *a))
    assert scene.overview.isVisible()
    image = _render(view)
    assert painted == []
    wanted = theme.category_color(scene.node_items["fc3"].category).rgb()
    where = view.mapFromScene(scene.node_items["fc3"].mapToScene(QPointF(95, 6)))
    assert QColor(image.pixel(where)).rgb() == wanted  # the block's header, as before
    view.set_zoom(0.5)  # close enough to read: the items paint themselves again
    settle()
    assert not scene.overview.isVisible()
    _render(view)
    assert painted


def test_far_out_a_click_and_a_rubber_band_still_select_blocks(qtbot, monkeypatch):
    from PySide6.QtCore import QRect, Qt

    scene, view = _far_view(qtbot, monkeypatch)
    fc3 = scene.node_items["fc3"]
    at = view.mapFromScene(fc3.mapToScene(QPointF(95, 20)))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert scene.selected_node_ids() == ["fc3"]
    # a band from empty canvas above the graph down across the first blocks
    top = min(item.sceneBoundingRect().top() for item in scene.node_items.values())
    start = view.mapFromScene(QPointF(fc3.sceneBoundingRect().left() - 40, top - 60))
    end = view.mapFromScene(fc3.sceneBoundingRect().bottomRight() + QPointF(5, 5))
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 6):
        qtbot.mouseMove(view.viewport(), start + (end - start) * k / 5)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    chosen = scene.selected_node_ids()
    assert "fc3" in chosen and len(chosen) > 1
    assert all(scene.node_items[i].sceneBoundingRect().intersects(
        view.mapToScene(QRect(start, end).normalized()).boundingRect()) for i in chosen)
    view.set_zoom(0.5)  # the selection stays when the items come back
    settle()
    assert scene.selected_node_ids() == chosen
    assert all(scene.node_items[i].isSelected() for i in chosen)



def test_a_small_graph_far_out_keeps_painting_its_items(qtbot):
    scene = _scene(qtbot, _ladder(20))  # 61 blocks: below the overview size
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    view.set_zoom(0.09)
    settle()
    assert not scene.overview.isVisible()
    assert all(item.opacity() == 1.0 for item in scene.node_items.values())
