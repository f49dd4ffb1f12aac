"""Freezing a block and giving it its own learning rate from the inspector (issue 22 §2):
one undoable edit per click, the canvas draws the frozen block differently, and the status
bar counts the frozen parameters."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QLineEdit

from .conftest import settle


def click(qtbot, box) -> None:
    """A click on the check box's indicator, where a person clicks."""
    box.window().show()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(box.height() // 2,
                                                              box.height() // 2))
    settle()


def training_fields(window, node_id):
    window.scene.select_nodes([node_id])
    settle()
    assert window.inspector.training is not None
    return window.inspector.training.fields


def test_the_trainable_box_freezes_with_one_undo_step_per_click(window, example, qtbot):
    doc = example()
    box = training_fields(window, "conv1")["trainable"].widget
    assert isinstance(box, QCheckBox) and box.isChecked()
    click(qtbot, box)
    assert not doc.graph.node("conv1").trainable
    assert window.act_undo.text() == "&Undo Freeze conv1"
    click(qtbot, box)
    assert doc.graph.node("conv1").trainable
    doc.undo_stack.undo()  # one click back: frozen again
    settle()
    assert not doc.graph.node("conv1").trainable and not box.isChecked()
    doc.undo_stack.undo()
    settle()
    assert doc.graph.node("conv1").trainable and box.isChecked()
    assert not doc.undo_stack.canUndo()


def test_a_frozen_block_is_counted_and_drawn_differently(window, example, qtbot, tmp_path):
    doc = example()
    total = doc.analysis.total_params
    item = window.scene.node_items["conv1"]
    plain = item_image(item)
    click(qtbot, training_fields(window, "conv1")["trainable"].widget)
    frozen = doc.analysis.nodes["conv1"].num_params
    assert doc.analysis.trainable_params == total - frozen
    assert "frozen" in window.summary_label.text()
    assert "Frozen" in item.toolTip()
    drawn = item_image(item)
    assert drawn != plain  # the hatching and the lock change the pixels
    scaled = window.scene.node_items["conv2"]
    before_tag = item_image(scaled)
    doc.graph.set_training("conv2", "lr_scale", 0.1)
    settle()
    assert item_image(scaled) != before_tag and "0.1 × the run's" in scaled.toolTip()
    out = os.environ.get("TORCHLOOM_PNG_DIR")
    if out:  # for a person to look at
        window.view.grab().save(os.path.join(out, "frozen_canvas.png"))
        window.inspector.grab().save(os.path.join(out, "frozen_inspector.png"))


def item_image(item):
    from PySide6.QtGui import QImage, QPainter

    rect = item.boundingRect()
    image = QImage(int(rect.width()) + 2, int(rect.height()) + 2, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.translate(-rect.left(), -rect.top())
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    item.paint(painter, QStyleOptionGraphicsItem(), None)
    painter.end()
    return image


def test_the_lr_scale_field_sets_the_scale_and_refuses_a_negative_one(window, example, qtbot):
    doc = example()
    field = training_fields(window, "conv2")["lr_scale"]
    edit = field.widget
    assert isinstance(edit, QLineEdit) and edit.text() == "1.0"
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "0.1")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    settle()
    assert doc.graph.node("conv2").lr_scale == 0.1
    assert window.act_undo.text() == "&Undo Set conv2 lr scale to 0.1"
    edit.selectAll()
    qtbot.keyClicks(edit, "-2")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    settle()
    assert doc.graph.node("conv2").lr_scale == 0.1
    assert not field.error.isHidden() and ">= 0.0" in field.error.text()
    doc.undo_stack.undo()
    settle()
    assert doc.graph.node("conv2").lr_scale == 1.0


def test_an_input_block_has_no_training_section(window, example):
    example()
    window.scene.select_nodes(["x"])
    settle()
    assert window.inspector.training is None


def test_a_block_inside_an_opened_unit_can_be_frozen_and_the_unit_counts_it(window, example,
                                                                            qtbot):
    doc = example()
    conv1 = doc.analysis.nodes["conv1"].num_params
    window.ask_unit_name = lambda default: "ConvBlock"
    window.scene.select_nodes(["conv1", "relu1", "pool1"])
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    settle()
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    click(qtbot, training_fields(window, "conv1")["trainable"].widget)
    assert not doc.project.units.get("ConvBlock").graph.node("conv1").trainable
    window.unit_up()
    settle()
    info = doc.analysis.nodes[unit_id]
    assert info.num_params - info.trainable_params == conv1
    window.act_undo.trigger()  # the click, undone from the outer graph
    settle()
    assert doc.project.units.get("ConvBlock").graph.node("conv1").trainable
    assert doc.analysis.nodes[unit_id].trainable_params == doc.analysis.nodes[unit_id].num_params
