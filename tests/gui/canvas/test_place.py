"""Where added and pasted blocks land: after the selected block and wired from it (Tab, a
palette double-click), at the mouse or beside the copied blocks (paste), never on another
block."""

from __future__ import annotations

from itertools import combinations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from torchloom.gui.canvas.node_item import WIDTH
from torchloom.gui.canvas.placement import CLEARANCE

from ..conftest import activate, double_click_palette_item, send_mouse, settle


def overlapping(scene) -> list[tuple[str, str]]:
    """The pairs of blocks whose drawn rectangles (ports and badge included) intersect."""
    rects = {node_id: item.sceneBoundingRect() for node_id, item in scene.node_items.items()}
    return [(a, b) for a, b in combinations(rects, 2) if rects[a].intersects(rects[b])]


def click_block(window, node_id: str) -> None:
    """Select a block the way a hand does: click its header."""
    item = window.scene.node_items[node_id]
    header = item.mapToScene(QPointF(WIDTH / 2, 12))
    send_mouse(window, "press", header)
    send_mouse(window, "release", header)
    settle()


def tab_add(window, qtbot, text: str) -> None:
    """Tab, type `text`, Enter, each key to whichever widget has the keyboard focus: the
    canvas for Tab, and the canvas again afterwards (so the next Tab continues)."""
    assert QApplication.focusWidget() is window.view
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    popup = window.view._popup
    assert popup is not None and popup.isVisible()
    assert QApplication.focusWidget() is popup.search
    qtbot.keyClicks(QApplication.focusWidget(), text)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    settle()
    assert not popup.isVisible() and QApplication.focusWidget() is window.view


def node_of(graph, type_name: str) -> str:
    (node_id,) = [n.id for n in graph.nodes if n.type == type_name]
    return node_id


def test_select_input_then_tab_conv2d_tab_relu_types_a_wired_chain(window, qtbot):
    window.new_project()
    settle()
    scene, view = window.scene, window.view
    activate(window, qtbot)
    click_block(window, "x")
    assert scene.selected_node_ids() == ["x"]
    tab_add(window, qtbot, "Conv2d")
    graph = window.document.graph
    conv = node_of(graph, "Conv2d")
    assert scene.selected_node_ids() == [conv]  # the next Tab continues from it
    tab_add(window, qtbot, "ReLU")
    relu = node_of(graph, "ReLU")
    assert [(e.src, e.dst) for e in graph.edges] == [("x", conv), (conv, relu)]
    assert scene.selected_node_ids() == [relu]
    xs = [scene.node_items[n].pos().x() for n in ("x", conv, relu)]
    ys = {scene.node_items[n].pos().y() for n in ("x", conv, relu)}
    assert xs[0] + WIDTH < xs[1] and xs[1] + WIDTH < xs[2]  # left to right, a gap between
    assert len(ys) == 1  # on one line, as typed
    assert overlapping(scene) == []
    labels = {(i.edge.src, i.edge.dst): i.label for i in scene.edge_items.values()}
    assert labels == {("x", conv): "N×1×28×28", (conv, relu): "N×32×26×26"}
    view.fit()
    settle()
    view.grab().save("/tmp/place_chain.png")
    assert window.act_undo.text() == f"&Undo Add ReLU after {conv}"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)

    settle()
    assert relu not in graph and [(e.src, e.dst) for e in graph.edges] == [("x", conv)]
    assert set(scene.node_items) == {"x", conv} and len(scene.edge_items) == 1


def test_a_chained_block_goes_round_what_is_already_right_of_its_source(window, qtbot):
    """x already feeds a block where the next one would go: the new one lands beside it, still
    right of x, and is wired from x."""
    window.new_project()
    settle()
    activate(window, qtbot)
    click_block(window, "x")
    tab_add(window, qtbot, "Flatten")
    flatten = node_of(window.document.graph, "Flatten")
    click_block(window, "x")
    tab_add(window, qtbot, "ReLU")
    graph, scene = window.document.graph, window.scene
    relu = node_of(graph, "ReLU")
    assert sorted((e.src, e.dst) for e in graph.edges) == sorted([("x", flatten), ("x", relu)])
    assert scene.node_items[relu].pos().x() >= scene.node_items["x"].pos().x() + WIDTH
    assert overlapping(scene) == []


def mouse_over_canvas(window, scene_pos: QPointF) -> None:
    QCursor.setPos(window.view.viewport().mapToGlobal(window.view.mapFromScene(scene_pos)))
    QApplication.processEvents()
    assert window.view.mouse_scene_pos() is not None


def copy_and_paste_twice(window, qtbot) -> list[str]:
    """Copy the one Conv2d with Ctrl+C and paste it twice with Ctrl+V; the pasted ids."""
    graph = window.document.graph
    window.scene.select_nodes([node_of(graph, "Conv2d")])
    qtbot.keyClick(window.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    pasted = []
    for _ in range(2):
        before = set(window.scene.node_items)
        qtbot.keyClick(window.view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        settle()
        (new,) = set(window.scene.node_items) - before
        pasted.append(new)
    return pasted


def test_pasting_twice_at_the_mouse_stacks_nothing(window, qtbot):
    window.new_project()
    settle()
    conv = window.add_block("Conv2d", QPointF(500, 100))
    window.view.fit()
    item = window.scene.node_items[conv]
    mouse_over_canvas(window, item.sceneBoundingRect().center())  # right on the original
    pasted = copy_and_paste_twice(window, qtbot)
    graph, scene = window.document.graph, window.scene
    assert sorted(n.type for n in graph.nodes) == ["Conv2d"] * 3 + ["Input"]
    assert overlapping(scene) == []
    assert scene.selected_node_ids() == [pasted[-1]]
    # each paste went as near the mouse as it could: within a block's reach of the original
    centre = item.sceneBoundingRect().center()
    for node_id in pasted:
        offset = scene.node_items[node_id].sceneBoundingRect().center() - centre
        assert abs(offset.x()) <= 2 * WIDTH + 60 and abs(offset.y()) <= 300


def test_paste_with_the_mouse_off_the_canvas_goes_beside_the_copied_block(window, qtbot):
    window.new_project()
    settle()
    conv = window.add_block("Conv2d", QPointF(500, 100))
    away = window.palette.mapToGlobal(window.palette.rect().center())
    QCursor.setPos(away)
    QApplication.processEvents()
    assert window.view.mouse_scene_pos() is None
    original = window.scene.node_items[conv].sceneBoundingRect()
    pasted = copy_and_paste_twice(window, qtbot)
    scene = window.scene
    assert overlapping(scene) == []
    first = scene.node_items[pasted[0]].sceneBoundingRect()
    # beside: touching the original's clear margin, not somewhere else on the canvas
    gap = max(first.left() - original.right(), original.left() - first.right(),
              first.top() - original.bottom(), original.top() - first.bottom())
    assert 0 < gap <= 30
    QCursor.setPos(QPoint(0, 0))


def test_palette_double_click_with_a_block_selected_adds_it_after_that_block(window, example,
                                                                           qtbot):
    doc = example()
    scene = window.scene
    click_block(window, "conv1")
    assert scene.selected_node_ids() == ["conv1"]
    edges_before = len(doc.graph.edges)
    double_click_in_palette(window, qtbot, "GELU")
    gelu = node_of(doc.graph, "GELU")
    assert [(e.src, e.dst) for e in doc.graph.in_edges(gelu)] == [("conv1", gelu)]
    assert len(doc.graph.edges) == edges_before + 1
    assert scene.node_items[gelu].pos().x() >= scene.node_items["conv1"].pos().x() + WIDTH
    assert overlapping(scene) == []
    assert scene.selected_node_ids() == [gelu]
    assert window.act_undo.text() == "&Undo Add GELU after conv1"
    doc.undo_stack.undo()
    settle()
    assert gelu not in doc.graph and len(doc.graph.edges) == edges_before


def double_click_in_palette(window, qtbot, type_name: str) -> None:
    double_click_palette_item(window, qtbot, window.palette.items[type_name])


def test_palette_double_click_with_nothing_selected_lands_in_the_middle_of_the_view(
        window, example, qtbot):
    doc = example()
    view = window.view
    view.centerOn(3000, 3000)  # empty canvas in the middle
    double_click_in_palette(window, qtbot, "GELU")
    gelu = node_of(doc.graph, "GELU")
    centre = view.mapToScene(view.viewport().rect().center())
    assert window.scene.node_items[gelu].sceneBoundingRect().contains(centre)
    assert doc.graph.in_edges(gelu) == []  # nothing selected: nothing to wire from


def test_palette_double_click_amid_blocks_takes_the_nearest_free_spot_in_view(window, example,
                                                                              qtbot):
    doc = example()
    scene, view = window.scene, window.view
    centre = view.mapToScene(view.viewport().rect().center())
    wanted = scene.block_bounds("GELU", (centre.x() - WIDTH / 2, centre.y() - 24))
    assert any(i.sceneBoundingRect().intersects(QRectF(QPointF(*wanted[:2]),
                                                       QPointF(*wanted[2:])))
               for i in scene.node_items.values())  # the middle of the fitted example is full
    lowest = max(i.sceneBoundingRect().bottom() for i in scene.node_items.values())
    double_click_in_palette(window, qtbot, "GELU")
    gelu = node_of(doc.graph, "GELU")
    rect = scene.node_items[gelu].sceneBoundingRect()
    assert overlapping(scene) == []
    # no further than just under every block, which is always free
    assert rect.top() <= lowest + CLEARANCE + 1
    assert view.mapToScene(view.viewport().rect()).boundingRect().contains(rect)


def test_the_bounds_placement_expects_are_the_ones_the_block_draws(window):
    """`block_bounds` is known before the item exists; it must be what the item covers, or a
    free spot could still overlap (a three-input block is taller than a one-input one)."""
    window.new_project()
    settle()
    scene = window.scene
    heights = []
    for i, type_name in enumerate(["Conv2d", "Add", "MultiheadAttention"]):
        node_id = window.add_block(type_name, QPointF(400 * i, 900))
        item = scene.node_items[node_id]
        pos = (item.pos().x(), item.pos().y())
        r = item.sceneBoundingRect()
        assert scene.block_bounds(type_name, pos) == (r.left(), r.top(), r.right(), r.bottom())
        heights.append(r.height())
    assert heights[0] < heights[2]  # the sizes checked differ
