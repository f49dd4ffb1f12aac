"""Renaming a block from the inspector: typed, refused with a reason, undone by keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from .conftest import settle


def _id_box(window) -> QLineEdit:  # type: ignore[no-untyped-def]
    box = window.inspector.findChild(QLineEdit, "block_id")
    assert box is not None and box.isVisible()
    return box


def _type(qtbot, box: QLineEdit, text: str) -> None:
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)
    settle()


def test_rename_from_the_inspector_keeps_wires_selection_and_undoes(window, example, qtbot):
    doc = example()
    window.scene.select_nodes(["conv1"])
    settle()
    box = _id_box(window)
    assert box.text() == "conv1"
    _type(qtbot, box, "first_conv")
    graph = doc.graph
    assert "conv1" not in graph and "first_conv" in graph
    assert ("x", "first_conv") in [(e.src, e.dst) for e in graph.edges]
    assert window.scene.selected_node_ids() == ["first_conv"]
    settle()
    assert _id_box(window).text() == "first_conv"  # the inspector follows the block
    assert window.scene.node_items["first_conv"].node.id == "first_conv"
    assert window.act_undo.text().endswith("Rename conv1 to first_conv")
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert "conv1" in graph and "first_conv" not in graph
    assert _id_box(window).text() == "conv1"


def test_an_id_the_model_cannot_use_is_refused_under_the_field(window, example, qtbot):
    doc = example()
    window.scene.select_nodes(["conv1"])
    settle()
    box = _id_box(window)
    _type(qtbot, box, "relu1")
    error = window.inspector.id_field.error
    assert error.isVisible() and "already a block" in error.text()
    assert "conv1" in doc.graph and doc.undo_stack.count() == 0
    _type(qtbot, box, "2nd")
    assert "starts with a digit" in error.text()
