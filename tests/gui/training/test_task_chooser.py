"""The task chooser: a classifier becomes a regression from the Training tab, the form shows
the new task's settings (its own losses), the plots its charts, and Ctrl+Z takes it back."""

from __future__ import annotations

from PySide6.QtCore import Qt

from torchloom.engine.tasks import task_class
from torchloom.gui.training.plots import PlotsPanel
from torchloom.gui.training.settings_panel import TrainingPanel

from ..conftest import activate, settle


def choose(qtbot, box, text: str) -> None:
    """Pick an entry of a combo box with the keyboard, as a person does."""
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Home)
    while box.currentText() != text:
        index = box.currentIndex()
        qtbot.keyClick(box, Qt.Key.Key_Down)
        assert box.currentIndex() != index, f"no {text!r} in the chooser"


def test_the_panel_shows_only_the_tasks_settings_and_its_losses(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    chosen = []
    panel.task_changed.connect(chosen.append)
    shown = lambda name: panel.form.isRowVisible(panel.fields[name].widget)  # noqa: E731
    assert panel.task_box.currentText() == "Classification"
    assert not shown("loss") and shown("val_split") and not shown("d_steps")
    choose(qtbot, panel.task_box, "Regression")
    assert chosen == ["regress"]
    panel.set_task(task_class("regress"))
    loss = panel.fields["loss"].widget
    assert shown("loss") and [loss.itemText(i) for i in range(loss.count())] == [
        "mse", "l1", "huber"]
    panel.set_task(task_class("gan"))
    assert not shown("loss") and shown("d_steps") and not shown("optimizer")
    assert [panel.task_box.itemText(i) for i in range(panel.task_box.count())] == ["GAN"]


def test_a_regression_draws_loss_mae_and_r2(qtbot):
    panel = PlotsPanel(task_class("regress"))
    qtbot.addWidget(panel)
    titles = [plot.plotItem.titleLabel.text for plot in panel.plots]
    assert titles == ["Loss", "Validation MAE", "Validation R²"]
    assert set(panel.epoch_curves) == {"val_loss", "val_mae", "val_r2"}


def test_choosing_regression_is_one_undoable_step(window, example, qtbot):
    doc = example("mlp_digits.json")
    activate(window, qtbot)
    panel = window.training_panel
    window.show_tab(panel)
    window._set_training_setting("loss", "cross_entropy")  # in effect already: no step
    assert doc.undo_stack.count() == 0
    choose(qtbot, panel.task_box, "Regression")
    settle()
    assert doc.project.task == "regress" and doc.undo_stack.count() == 1
    assert window.act_undo.text() == "&Undo Make it a regression"
    assert panel.form.isRowVisible(panel.fields["loss"].widget)
    assert panel.fields["loss"].widget.currentText() == "mse"
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert doc.project.task == "classify" and panel.task_box.currentText() == "Classification"
    assert not panel.form.isRowVisible(panel.fields["loss"].widget)


def test_new_from_template_opens_each_tasks_project_untitled(window, qtbot):
    from torchloom.engine.tasks import task_names

    menu = next(a.menu() for a in window.menuBar().actions()[0].menu().actions()
                if a.menu() is not None and "template" in a.text())
    assert menu.actions() == list(window.template_actions.values())
    assert set(window.template_actions) == set(task_names())
    assert window.template_actions["gan"] is window.act_new_gan
    assert window.template_actions["segment"].text() == "Segmentation…"
    window.template_actions["segment"].trigger()
    settle()
    doc = window.document
    assert doc.project.task == "segment" and doc.path is None and doc.analysis.ok
    assert window.training_panel.task_box.currentText() == "Segmentation"
    assert not doc.analysis.warnings  # a map output is what segmentation wants
    window.show_plots()
    assert [p.plotItem.titleLabel.text for p in window.plots.plots] == [
        "Loss", "Validation pixel accuracy and mean IoU"]
