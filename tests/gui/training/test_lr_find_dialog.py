"""Find learning rate… (issue 22 §1): the sweep runs beside the window, draws its curve,
and Apply sets the lr as one undoable edit."""

from __future__ import annotations

from PySide6.QtCore import Qt

from ..conftest import activate, settle


def open_finder(window, example, qtbot):
    example("mlp_digits.json")
    activate(window, qtbot)
    panel = window.training_panel
    window.show_tab(panel)
    settle()
    qtbot.mouseClick(panel.find_lr_button, Qt.MouseButton.LeftButton)
    dialog = window.lr_find_dialog
    assert dialog is not None and dialog.isVisible()
    return panel, dialog


def test_apply_sets_the_lr_shown_and_ctrl_z_restores_it(window, example, qtbot):
    panel, dialog = open_finder(window, example, qtbot)
    doc = window.document
    before, in_file = panel.fields["lr"].widget.text(), dict(doc.project.training)
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=120_000)
    assert dialog.progress.value() == dialog.progress.maximum()
    xs, ys = dialog.curve.getData()
    assert len(xs) == len(dialog.result.lrs) > 10  # the curve is drawn
    assert dialog.apply_button.isEnabled() and "Suggested lr" in dialog.verdict.text()
    suggested = float(f"{dialog.suggested:.3g}")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    settle()
    assert window.lr_find_dialog is None
    assert doc.project.training["lr"] == suggested
    assert float(panel.fields["lr"].widget.text()) == suggested
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == f"Set lr to {suggested}"
    activate(window, qtbot)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert panel.fields["lr"].widget.text() == before and doc.project.training == in_file


def test_cancel_stops_the_sweep_and_changes_nothing(window, example, qtbot):
    panel, dialog = open_finder(window, example, qtbot)
    in_file = dict(window.document.project.training)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    settle()
    assert window.lr_find_dialog is None and not dialog.running
    assert window.document.undo_stack.count() == 0
    assert window.document.project.training == in_file


def test_closing_the_window_mid_sweep_cancels_it(window, example, qtbot):
    _, dialog = open_finder(window, example, qtbot)
    window.stop_training_for_exit()
    assert window.lr_find_dialog is None and not dialog.running


def test_a_graph_with_errors_opens_no_sweep_and_says_why(window, qtbot):
    window.new_project()  # an empty graph: nothing to train
    settle()
    panel = window.training_panel
    window.show_tab(panel)
    assert window.document.errors
    qtbot.mouseClick(panel.find_lr_button, Qt.MouseButton.LeftButton)
    assert window.lr_find_dialog is None
    assert "Fix the graph's errors first" in panel.message.text()
