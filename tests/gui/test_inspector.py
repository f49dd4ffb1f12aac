"""The inspector form: generated from the declarations, edits are undoable engine calls."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QSpinBox

from .conftest import settle


def select(host, node_id):
    """Select `node_id` on the canvas of `host` (the window, or a canvas with its
    inspector) and return the inspector's fields for it."""
    host.scene.select_nodes([node_id])
    settle()
    return host.inspector.fields


def test_widgets_follow_the_parameter_kinds(inspected_canvas):
    inspected_canvas.open_example()
    fields = select(inspected_canvas, "conv1")
    assert isinstance(fields["out_channels"].widget, QSpinBox)
    assert fields["out_channels"].widget.minimum() == 1
    assert fields["out_channels"].widget.maximum() == 65536
    assert isinstance(fields["bias"].widget, QCheckBox)
    assert isinstance(fields["kernel_size"].widget, QLineEdit)
    assert "Filter size" in fields["kernel_size"].widget.toolTip()
    fields = select(inspected_canvas, "x")
    assert isinstance(fields["dtype"].widget, QComboBox)
    assert fields["shape"].widget.text() == "1, 28, 28"


def test_inferred_sizes_are_shown_read_only(inspected_canvas):
    inspected_canvas.open_example()
    select(inspected_canvas, "conv2")
    text = inspected_canvas.inspector.inferred.text()
    assert "in_channels" in text and ">32<" in text
    assert "in_channels" not in inspected_canvas.inspector.fields


def test_spin_box_edit_changes_the_shapes_and_undoes(window, example, qtbot):
    doc = example()
    fields = select(window, "conv1")
    box = fields["out_channels"].widget
    box.setValue(16)
    settle()
    assert doc.graph.node("conv1").params["out_channels"] == 16
    assert window.scene.node_items["conv1"].shape_text == "N×16×26×26"
    assert window.act_undo.text() == "&Undo Set conv1.out_channels"
    doc.undo_stack.undo()
    settle()
    assert doc.graph.node("conv1").params["out_channels"] == 32 and box.value() == 32


def test_typing_a_bad_value_is_refused_with_the_reason_beside_the_field(inspected_canvas, qtbot):
    doc = inspected_canvas.open_example()
    field = select(inspected_canvas, "conv1")["kernel_size"]
    edit = field.widget
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "-3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert doc.graph.node("conv1").params["kernel_size"] == 3
    assert field.error.isVisible() and "kernel_size must be an integer >= 1" in \
        field.error.text()
    edit.selectAll()
    qtbot.keyClicks(edit, "5, 3")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    settle()
    assert doc.graph.node("conv1").params["kernel_size"] == [5, 3]
    assert not field.error.isVisible()
    assert inspected_canvas.scene.node_items["conv1"].shape_text == "N×32×24×26"


def test_consecutive_edits_of_one_field_are_one_undo_step(inspected_canvas):
    doc = inspected_canvas.open_example()
    box = select(inspected_canvas, "fc1")["out_features"].widget
    for value in (100, 110, 120):
        box.setValue(value)
    settle()
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.node("fc1").params["out_features"] == 128


def test_choice_and_bool(inspected_canvas):
    doc = inspected_canvas.open_example()
    fields = select(inspected_canvas, "conv1")
    fields["bias"].widget.setChecked(False)
    settle()
    assert doc.graph.node("conv1").params["bias"] is False
    assert "288 params" in inspected_canvas.scene.node_items["conv1"].params_text
    combo = select(inspected_canvas, "x")["dtype"].widget
    combo.setCurrentText("int64")
    settle()
    assert inspected_canvas.scene.node_items["conv1"].severity == "error"


def test_nothing_selected_shows_the_project_overview(inspected_canvas):
    inspected_canvas.open_example()
    inspected_canvas.scene.clearSelection()
    settle()
    assert "225,034 parameters" in inspected_canvas.inspector.header.text()


def test_a_filled_in_text_field_sends_nothing_until_the_person_types(qtbot):
    """Qt emits editingFinished on the first focus-out after setText: filling the form
    must not read as an edit."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from torchloom.engine.params import Float
    from torchloom.gui.inspector import ParamField

    sent = []
    field = ParamField("lr", Float(0.001, "Learning rate.", min=0.0),
                       lambda name, value: sent.append((name, value)))
    host = QWidget()
    qtbot.addWidget(host)
    other = QLineEdit()
    layout = QVBoxLayout(host)
    layout.addWidget(field.widget)
    layout.addWidget(other)
    field.set_value(0.01)  # the form is filled before the person looks at it
    host.show()
    qtbot.waitExposed(host)
    with qtbot.waitActive(host):
        host.activateWindow()
    qtbot.mouseClick(field.widget, Qt.MouseButton.LeftButton)
    assert field.widget.hasFocus()
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert other.hasFocus()
    qtbot.mouseClick(field.widget, Qt.MouseButton.LeftButton)
    qtbot.keyClick(field.widget, Qt.Key.Key_Return)
    assert sent == [] and field.widget.text() == "0.01"
    field.widget.selectAll()
    qtbot.keyClicks(field.widget, "0.02")
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)  # leaving the field sends it, once
    qtbot.mouseClick(field.widget, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert sent == [("lr", 0.02)]
