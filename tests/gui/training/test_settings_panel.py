"""Training settings as a person changes them: filling the form is no edit, a change is one
undo step named after the setting and its value, and changes of one setting in a row merge."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from ..conftest import activate, settle


def walk_the_settings(window, qtbot) -> None:
    """Click into every typed setting and then back onto the canvas, as a person looking
    around the Training panel does; nothing is typed."""
    panel = window.training_panel
    window.show_tab(panel)
    settle()
    for name, field in panel.fields.items():
        if isinstance(field.widget, QLineEdit) and field.widget.isVisible():
            panel.ensureWidgetVisible(field.widget)
            qtbot.mouseClick(field.widget, Qt.MouseButton.LeftButton)
            assert field.widget.hasFocus(), name
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton)
    settle()


def assert_clean(window) -> None:
    doc = window.document
    assert doc.undo_stack.count() == 0, [doc.undo_stack.text(i)
                                         for i in range(doc.undo_stack.count())]
    assert not window.act_undo.isEnabled() and window.act_undo.text() == "&Undo"
    assert not doc.dirty and "*" not in window.windowTitle()


def test_new_project_starts_with_nothing_to_undo(window, qtbot):
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert window.document is not None and window.document.path is None
    assert_clean(window)
    walk_the_settings(window, qtbot)
    assert_clean(window)


def test_opening_a_project_starts_with_nothing_to_undo(window, example, qtbot):
    example("mnist_cnn.json")
    activate(window, qtbot)
    assert_clean(window)
    walk_the_settings(window, qtbot)
    assert_clean(window)


def test_arrow_clicks_on_one_setting_are_one_step_and_ctrl_z_undoes_it(window, qtbot):
    window.new_project()
    settle()
    activate(window, qtbot)
    doc = window.document
    window.show_tab(window.training_panel)
    box = window.training_panel.fields["epochs"].widget
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    for _ in range(2):
        qtbot.keyClick(box, Qt.Key.Key_Up)
    settle()
    assert doc.project.training["epochs"] == 5
    assert doc.undo_stack.count() == 1
    assert window.act_undo.text() == "&Undo Set epochs to 5"
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert box.value() == 3 and "epochs" not in doc.project.training
    assert not doc.dirty


def test_up_then_down_leaves_no_step(window, qtbot):
    window.new_project()
    settle()
    activate(window, qtbot)
    window.show_tab(window.training_panel)
    box = window.training_panel.fields["batch_size"].widget
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.keyClick(box, Qt.Key.Key_Up)
    qtbot.keyClick(box, Qt.Key.Key_Down)
    settle()
    assert box.value() == 64
    assert_clean(window)
    assert "batch_size" not in window.document.project.training


def test_typing_a_learning_rate_is_one_step_named_for_it(window, qtbot):
    window.new_project()
    settle()
    activate(window, qtbot)
    doc = window.document
    window.show_tab(window.training_panel)
    edit = window.training_panel.fields["lr"].widget
    for typed in ("0.01", "0.02"):
        qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)
        edit.selectAll()
        qtbot.keyClicks(edit, typed)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    settle()
    assert doc.project.training["lr"] == 0.02
    assert [doc.undo_stack.text(i) for i in range(doc.undo_stack.count())] == \
        ["Set lr to 0.02"]
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton)  # leaves the field
    settle()
    assert doc.undo_stack.count() == 1
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert edit.text() == "0.001" and "lr" not in doc.project.training


def test_a_schedule_shows_its_own_settings_and_no_others(qtbot):
    from torchloom.gui.training.settings_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()

    def visible(name: str) -> bool:
        return not panel.fields[name].widget.isHidden()

    panel.show_settings({"schedule": "constant"})
    assert not any(visible(n) for n in ("step_size", "gamma", "max_lr", "warmup_steps"))
    panel.show_settings({"schedule": "step"})
    assert visible("step_size") and visible("gamma") and not visible("max_lr")
    panel.show_settings({"schedule": "onecycle"})
    assert visible("max_lr") and not visible("step_size")


def test_keep_metric_shows_only_when_the_best_weights_are_kept(qtbot):
    from torchloom.gui.training.settings_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.show()
    shown = lambda: not panel.fields["keep_metric"].widget.isHidden()  # noqa: E731
    panel.show_settings({"keep": "last"})
    assert not shown() and not panel.fields["keep"].widget.isHidden()
    panel.show_settings({"keep": "best"})
    assert shown() and panel.fields["accumulate"].widget.isVisible()
    panel.show_settings({"keep": "best", "schedule": "step"})
    assert shown() and not panel.fields["step_size"].widget.isHidden()


def test_tensorboard_and_stats_every_come_from_the_declaration(window, example, qtbot):
    """Both settings appear for every task without a line of panel code; ticking TensorBoard
    is one undoable edit of the project's training settings."""
    import os

    from PySide6.QtWidgets import QCheckBox

    example("mnist_cnn.json")
    panel = window.training_panel
    window.show_tab(panel)
    settle()
    box = panel.fields["tensorboard"].widget
    assert isinstance(box, QCheckBox) and not box.isChecked()
    assert panel.form.isRowVisible(box) and panel.form.isRowVisible(
        panel.fields["stats_every"].widget)
    panel.ensureWidgetVisible(box)
    from PySide6.QtCore import QPoint

    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    settle()
    assert box.isChecked()
    doc = window.document
    assert doc.project.training.get("tensorboard") is True
    assert "tensorboard" in doc.undo_stack.text(doc.undo_stack.index() - 1)
    if os.environ.get("TORCHLOOM_SHOTS"):
        panel.grab().save(os.path.join(os.environ["TORCHLOOM_SHOTS"], "settings_tb.png"))
    doc.undo_stack.undo()
    settle()
    assert "tensorboard" not in doc.project.training and not box.isChecked()
