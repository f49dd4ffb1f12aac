"""The canvas, driven with the mouse and keyboard the way a person uses it."""

from __future__ import annotations

import json

import pytest

from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from torchloom.engine.blocks import by_category
from torchloom.engine.project import graph_to_dict

from ..conftest import drag, send_mouse, settle


def drop_block(window, type_name: str, scene_pos: QPointF) -> str:
    """Drop what the palette's drag carries onto the canvas at `scene_pos`."""
    item = window.palette.items[type_name]
    mime = window.palette.tree.mimeData([item])
    assert mime.hasFormat("application/x-torchloom-block")
    carried = QMimeData()
    carried.setData("application/x-torchloom-block", QByteArray(mime.data(
        "application/x-torchloom-block")))
    before = set(window.scene.node_items)
    local = window.view.mapFromScene(scene_pos)
    event = QDropEvent(QPointF(local), Qt.DropAction.CopyAction, carried,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)
    settle()
    (added,) = set(window.scene.node_items) - before
    return added


def wire(window, src: str, dst: str, port: str | None = None) -> None:
    a = window.scene.node_items[src].output_port_pos()
    b = window.scene.node_items[dst].input_port_pos(port)
    drag(window, a, b)


def test_build_the_start_of_the_mnist_cnn_with_the_mouse(window):
    window.new_project()
    settle()
    conv = drop_block(window, "Conv2d", QPointF(400, 40))
    relu = drop_block(window, "ReLU", QPointF(700, 40))
    wire(window, "x", conv)
    wire(window, conv, relu)
    graph = window.document.graph
    assert [(e.src, e.dst) for e in graph.edges] == [("x", conv), (conv, relu)]
    labels = {(i.edge.src, i.edge.dst): i.label for i in window.scene.edge_items.values()}
    assert labels == {("x", conv): "N×1×28×28", (conv, relu): "N×32×26×26"}
    assert window.scene.node_items[relu].shape_text == "N×32×26×26"
    assert "320 params" in window.scene.node_items[conv].params_text


def test_dropping_a_wire_on_a_node_takes_its_first_free_input(window):
    window.new_project()
    settle()
    fc = drop_block(window, "Flatten", QPointF(500, 100))
    start = window.scene.node_items["x"].output_port_pos()
    centre = window.scene.node_items[fc].sceneBoundingRect().center()
    drag(window, start, centre)
    assert [(e.src, e.dst) for e in window.document.graph.edges] == [("x", fc)]


def test_dropping_a_wire_on_empty_canvas_cancels_it(canvas):
    canvas.new_project()
    start = canvas.scene.node_items["x"].output_port_pos()
    drag(canvas, start, start + QPointF(300, 300))
    assert canvas.document.graph.edges == [] and canvas.document.undo_stack.count() == 0
    assert not [i for i in canvas.scene.items() if type(i).__name__ == "DraftWire"]


def test_a_refused_wire_is_not_created_and_the_status_bar_says_why(window, example):
    example()
    count = len(window.document.graph.edges)
    wire(window, "relu1", "conv1")  # would make a loop
    assert len(window.document.graph.edges) == count
    assert "loop" in window.statusBar().currentMessage()


def test_badge_tooltip_problem_and_one_click_fix(window, example, qtbot):
    doc = example()
    window.scene.select_nodes(["flatten"])
    window.delete_selection()
    wire(window, "pool2", "fc1")  # without the Flatten the Linear gets an image
    settle()
    item = window.scene.node_items["fc1"]
    assert item.severity == "error" and "insert a Flatten" in item.toolTip()
    messages = [p.message for p in window.problems.problems]
    assert any("insert a Flatten" in m for m in messages)
    (button,) = [b for b in window.problems.fix_buttons() if b.text() == "Insert Flatten"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle()
    assert doc.analysis.ok and item.severity is None
    assert window.act_undo.text().endswith("Fix: Insert Flatten")


def test_move_is_one_undo_step(canvas):
    doc = canvas.open_example()
    item = canvas.scene.node_items["conv1"]
    before = doc.graph.node("conv1").pos
    grab = item.sceneBoundingRect().center() + QPointF(0, 10)
    drag(canvas, grab, grab + QPointF(120, 80))
    after = doc.graph.node("conv1").pos
    assert after == pytest.approx((before[0] + 120, before[1] + 80), abs=2)  # view pixels
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    settle()
    assert doc.graph.node("conv1").pos == before and item.pos() == QPointF(*before)


def test_delete_key_removes_the_selection_and_undo_restores_it(window, example, qtbot):
    doc = example()
    before = json.dumps(graph_to_dict(doc.graph))
    window.scene.select_nodes(["relu1", "pool1"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    settle()
    assert "relu1" not in doc.graph and "pool1" not in doc.graph
    assert "relu1" not in window.scene.node_items
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert json.dumps(graph_to_dict(doc.graph)) == before
    assert "relu1" in window.scene.node_items


def test_rubber_band_and_ctrl_click_select(canvas):
    canvas.open_example()
    scene = canvas.scene
    a, b = scene.node_items["x"], scene.node_items["conv1"]
    top_left = a.sceneBoundingRect().topLeft() - QPointF(20, 20)
    bottom_right = b.sceneBoundingRect().bottomRight() + QPointF(10, 10)
    drag(canvas, top_left, bottom_right, steps=8)
    assert set(scene.selected_node_ids()) == {"x", "conv1"}
    centre = scene.node_items["relu1"].sceneBoundingRect().center() + QPointF(0, 12)
    send_mouse(canvas, "press", centre, modifiers=Qt.KeyboardModifier.ControlModifier)
    send_mouse(canvas, "release", centre, modifiers=Qt.KeyboardModifier.ControlModifier)
    assert set(scene.selected_node_ids()) == {"x", "conv1", "relu1"}


def test_tab_opens_quick_add_and_enter_adds_the_block(window, example, qtbot):
    doc = example()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view._popup
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "batchnorm2")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    settle()
    assert any(n.type == "BatchNorm2d" for n in doc.graph.nodes)
    assert window.act_undo.text().endswith("Add BatchNorm2d")


def test_copy_paste_and_duplicate_keep_internal_wires(window, example, qtbot):
    doc = example()
    window.scene.select_nodes(["conv1", "relu1"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert json.loads(QApplication.clipboard().text())["format"] == "torchloom-fragment"
    qtbot.keyClick(window.view, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert {"conv1_2", "relu1_2"} <= set(doc.graph._nodes)
    assert [(e.src, e.dst) for e in doc.graph.in_edges("relu1_2")] == [("conv1_2", "relu1_2")]
    assert set(window.scene.selected_node_ids()) == {"conv1_2", "relu1_2"}
    qtbot.keyClick(window.view, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert {"conv1_3", "relu1_3"} <= set(doc.graph._nodes)
    window.scene.select_nodes(["fc2"])
    qtbot.keyClick(window.view, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert "fc2" not in doc.graph


def test_zoom_pan_and_fit(window, example, qtbot):
    example()
    view = window.view
    view.set_zoom(1.0)
    centre = view.viewport().rect().center()
    anchor = view.mapToScene(centre)
    from PySide6.QtGui import QWheelEvent

    wheel = QWheelEvent(QPointF(centre), QPointF(view.viewport().mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                        Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom() > 1.1
    moved = view.mapToScene(centre)
    assert abs(moved.x() - anchor.x()) < 2 and abs(moved.y() - anchor.y()) < 2  # about cursor
    before = view.mapToScene(centre)
    send_mouse(window, "press", before, button=Qt.MouseButton.MiddleButton)
    send_mouse(window, "move", before + QPointF(50, 0), button=Qt.MouseButton.MiddleButton,
               buttons=Qt.MouseButton.MiddleButton)
    send_mouse(window, "release", before + QPointF(50, 0), button=Qt.MouseButton.MiddleButton)
    assert view.mapToScene(centre).x() != before.x()
    qtbot.keyClick(view, Qt.Key.Key_F)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(window.scene.itemsBoundingRect())


def test_the_keras_mnist_cnn_built_from_an_empty_canvas_matches_the_example(window):
    """Blocks dropped from the palette, wired port to port, two sizes set in the inspector:
    the result has the example's every shape and its 225,034 parameters."""
    from torchloom.engine.project import load_project
    from torchloom.engine.resources import examples_dir
    from torchloom.engine.shapes import infer

    window.new_project()
    settle()
    chain = ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear",
             "ReLU", "Dropout", "Linear"]
    ids = ["x"]
    for i, type_name in enumerate(chain, start=1):
        ids.append(drop_block(window, type_name, QPointF(260 * (i % 4), 180 * (i // 4))))
        wire(window, ids[-2], ids[-1])
    window.scene.select_nodes([ids[4]])
    settle()
    window.inspector.fields["out_channels"].widget.setValue(64)
    window.scene.select_nodes([ids[8]])
    settle()
    window.inspector.fields["out_features"].widget.setValue(128)
    settle()
    analysis = window.document.analysis
    reference = infer(load_project(examples_dir() / "mnist_cnn.json").graph)
    assert analysis.ok, [e.describe() for e in analysis.problems]
    assert analysis.total_params == 225_034
    built = [analysis.nodes[i].shape for i in ids]
    expected = [reference.nodes[i].shape for i in reference.order]
    assert built == expected
    assert window.summary_label.text().startswith("225,034 parameters")


def test_palette_search_filters_blocks(qtbot):
    from torchloom.gui.palette import Palette

    palette = Palette()  # the palette alone: the search is its own
    qtbot.addWidget(palette)
    palette.search.setText("pool")
    visible = [name for name, item in palette.items.items() if not item.isHidden()]
    shown = {block.type_name for blocks in by_category().values() for block in blocks
             if "pool" in block.type_name.lower() or "pool" in block.category.lower()}
    assert set(visible) == shown
    assert {"MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "SequencePool"} <= set(visible)
    assert "Conv2d" not in visible
