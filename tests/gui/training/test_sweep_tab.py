"""The Sweep tab: rows to ranges, a sweep on the worker thread, the live table and plots,
and Apply best as one undoable edit."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from tests.engine.sweep.helpers import tiny_project

from ..conftest import activate, settle

TIMEOUT = 120_000
#: set to a path to keep a picture of the tab after its sweep (for a person to look at)
IMAGE_OUT = os.environ.get("TORCHLOOM_SWEEP_PNG", "")


def open_tiny(window, tmp_path):
    tiny_project(tmp_path, epochs=2)
    assert window.open_path(tmp_path / "tiny.json")
    settle()
    return window.document


def set_row(panel, row, *cells):
    for col, text in zip((0, 1, 2, 4), cells):
        panel.ranges.item(row, col).setText(text)


def test_a_two_trial_sweep_fills_the_table_and_apply_best_undoes_in_one_step(
        window, tmp_path, qtbot):
    doc = open_tiny(window, tmp_path)
    panel = window.sweep_panel
    window.bottom_tabs.setCurrentWidget(panel)
    set_row(panel, 0, "lr", "1e-3", "1e-1", "")
    panel.add_button.click()
    set_row(panel, 1, "fc1.out_features", "", "", "8,32")
    panel.trials.setValue(2)
    assert panel.metric_box.currentText() == "val_acc" and panel.mode_box.currentText() == "max"
    shown_lr = window.training_panel.fields["lr"].widget.text()
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert window.sweeper.running  # on its thread: the click returned at once
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not window.sweeper.running, timeout=TIMEOUT)
    settle()
    assert panel.table.rowCount() == 2
    states = {panel.table.item(r, 3).text() for r in range(2)}
    assert states == {"complete"}
    assert len(panel.plots.lines) == 2 and len(panel.plots.slice_plots) == 2
    assert "Best: trial" in panel.best.text()
    assert window.runs_panel.list.count() == 2  # each trial is a run in the Runs tab
    if IMAGE_OUT:
        window.grab().save(IMAGE_OUT.replace(".png", "_window.png"))
        panel.grab().save(IMAGE_OUT)
    best = window.sweeper.last_result.best
    assert panel.apply_button.isEnabled()
    steps = doc.undo_stack.count()
    qtbot.mouseClick(panel.apply_button, Qt.MouseButton.LeftButton)
    settle()
    assert doc.project.training["lr"] == best.params["lr"]
    assert doc.graph.node("fc1").params["out_features"] == best.params["fc1.out_features"]
    assert window.training_panel.fields["lr"].widget.text() != shown_lr
    assert doc.undo_stack.count() == steps + 1  # one step for both values
    activate(window, qtbot)
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert window.training_panel.fields["lr"].widget.text() == shown_lr
    assert "lr" not in doc.project.training
    assert doc.graph.node("fc1").params["out_features"] == 16


def test_a_bad_row_is_said_in_the_tab_and_nothing_runs(window, tmp_path):
    open_tiny(window, tmp_path)
    panel = window.sweep_panel
    set_row(panel, 0, "fc1x.out_features", "", "", "8,16")
    panel.start_button.click()
    assert not window.sweeper.running
    assert "did you mean fc1?" in panel.message.text()
    assert not (tmp_path / "runs").exists()


def test_stop_ends_the_sweep_after_the_trial_in_progress(window, tmp_path, qtbot):
    open_tiny(window, tmp_path)
    panel = window.sweep_panel
    panel.trials.setValue(200)
    panel.start_button.click()
    qtbot.waitUntil(lambda: any(r.state != "running" for r in panel.trials_shown.values()),
                    timeout=TIMEOUT)
    assert not window.train()  # one at a time: the sweep's trials are training
    assert "A sweep is running" in window.training_panel.message.text()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.sweeper.running, timeout=TIMEOUT)
    settle()
    result = window.sweeper.last_result
    assert result.stopped and len(result.trials) < 200
    assert "Stopped" in panel.message.text() and panel.start_button.isEnabled()
