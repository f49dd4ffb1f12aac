"""Click-to-train: the worker, the plots, Stop and Resume, failures and closing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import Qt

from torchloom.engine.resources import examples_dir

from .conftest import settle

TIMEOUT = 60_000


def open_copy(window, tmp_path, name="mlp_digits.json", **training):
    path = tmp_path / name
    path.write_bytes((examples_dir() / name).read_bytes())
    assert window.open_path(path)
    settle()
    for key, value in training.items():
        window._set_training_setting(key, value)
    settle()
    return window.document


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
    settle()


def test_clicking_train_draws_curves_and_fills_the_progress_bar(window, tmp_path, qtbot):
    assert not window.act_train.isEnabled()  # nothing to train on the start page
    doc = open_copy(window, tmp_path, epochs=2)
    assert window.act_train.isEnabled()  # the toolbar's Train, the Run menu and Ctrl+Return
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert window.controller.running and doc.locked
    wait_idle(qtbot, window)
    plots = window.plots
    assert plots.series["loss"].n > 0 and plots.series["val_acc"].n == 2
    assert plots.progress.value() == 1000 and "100 %" in plots.progress.format()
    assert np.all(np.diff(plots.series["loss"].xs) > 0)  # points in order along the epochs
    result = window.controller.last_result
    assert result.status == "finished" and result.final.val_acc > 0.5
    assert "validation accuracy" in window.training_panel.message.text()
    assert not doc.locked and window.training_panel.train_button.isEnabled()
    assert window.runs_panel.list.count() == 1 and "finished" in \
        window.runs_panel.list.item(0).text()


def test_train_settings_are_stored_in_the_project_and_undo(window, tmp_path):
    doc = open_copy(window, tmp_path)
    window.training_panel.fields["epochs"].widget.setValue(7)
    settle()
    assert doc.project.training["epochs"] == 7 and doc.dirty
    doc.undo_stack.undo()
    settle()
    assert doc.project.training["epochs"] == 20
    assert window.training_panel.fields["epochs"].widget.value() == 20


def test_stop_lands_within_one_batch_and_resume_continues_the_steps(window, tmp_path, qtbot):
    open_copy(window, tmp_path, epochs=30)
    asked_at = []

    def stop_on_first(reports):
        if not asked_at:
            window.stop_training()
            asked_at.append(window.controller.worker.job.trainer.step)

    window.controller.reports.connect(stop_on_first)
    window.train()
    wait_idle(qtbot, window)
    window.controller.reports.disconnect(stop_on_first)
    stopped = window.controller.last_result
    assert stopped.status == "stopped"
    assert stopped.step <= asked_at[0] + 1
    assert (stopped.run_dir / "state.pt").exists()
    assert window.training_panel.resume_button.isEnabled()
    drawn = window.plots.series["loss"]
    before, start = drawn.n, drawn.xs[0]
    firsts = []
    window.controller.reports.connect(lambda reports: firsts.append(reports[0].step))
    window._set_training_setting("epochs", 1)  # a shorter goal than 30, but past the stop
    window._set_training_setting("epochs", 30)
    assert window.resume_training()
    window.controller.reports.connect(lambda r: window.stop_training()
                                      if r[-1].step > stopped.step + 40 else None)
    wait_idle(qtbot, window)
    resumed = window.controller.last_result
    assert firsts[0] > stopped.step and resumed.run_dir == stopped.run_dir
    assert resumed.step > stopped.step
    # the resumed run's curve carries on the one drawn before the stop (issue 19, 8)
    drawn = window.plots.series["loss"]
    assert drawn.n > before and drawn.xs[0] == start
    assert all(b > a for a, b in zip(drawn.xs, drawn.xs[1:]))


def test_a_graph_with_errors_refuses_to_train_and_points_at_problems(window, tmp_path):
    doc = open_copy(window, tmp_path)
    window.scene.select_nodes(["flatten"])
    window.delete_selection()
    settle()
    assert not window.train()
    assert "error" in window.training_panel.message.text()
    assert window.bottom_tabs.currentWidget() is window.problems
    assert not window.controller.running and not doc.locked


def test_the_canvas_is_read_only_while_training(window, tmp_path, qtbot):
    doc = open_copy(window, tmp_path, epochs=50)
    window.train()
    qtbot.waitUntil(lambda: window.plots.points > 0, timeout=TIMEOUT)
    window.scene.select_nodes(["relu"])
    window.delete_selection()
    assert "relu" in doc.graph
    assert "stop it before editing" in window.statusBar().currentMessage()
    window.stop_training()
    wait_idle(qtbot, window)
    window.scene.select_nodes(["relu"])
    window.delete_selection()
    assert "relu" not in doc.graph


def test_nan_shows_a_message_in_the_panel(window, tmp_path, qtbot):
    data = np.random.default_rng(0).normal(size=(120, 4)).astype(np.float32)
    np.savez(tmp_path / "reg.npz", x=data, y=data.sum(axis=1) * 1000)
    text = (examples_dir() / "mlp_digits.json").read_text()
    path = tmp_path / "reg.json"
    path.write_text(text)
    assert window.open_path(path)
    settle()
    doc = window.document
    window._set_task("regress")
    for key, value in {"loss": "mse", "optimizer": "sgd", "lr": 10.0, "momentum": 0.0,
                       "epochs": 5}.items():
        window._set_training_setting(key, value)
    window._set_dataset({"path": "reg.npz"})
    window._fit_input([4], "float32")
    window.scene.select_nodes(["fc2"])
    window.inspector_commit("fc2", "out_features", 1)
    settle()
    assert doc.analysis.ok, [e.describe() for e in doc.analysis.errors]
    window.train()
    wait_idle(qtbot, window)
    assert window.controller.last_result.status == "failed"
    assert "NaN" in window.training_panel.message.text()
    assert window.side_tabs.currentWidget() is window.training_panel


def test_device_chooser_without_a_gpu(window):
    import torch

    panel = window.training_panel
    items = [panel.device.itemText(i) for i in range(panel.device.count())]
    if torch.cuda.is_available():
        assert any(t.startswith("cuda:0") for t in items)
        return
    assert items == ["auto (cpu)", "cpu — CPU"]
    assert panel.device_note.text() == "No GPU found: training runs on the CPU."


def test_data_panel_previews_and_fits_the_input(window, tmp_path):
    doc = open_copy(window, tmp_path)
    panel = window.data_panel
    assert panel.wait_loaded()
    assert "1,797" in panel.info.text() and "10 classes" in panel.info.text()
    assert not panel.preview.pixmap().isNull() and panel.fit_button.isHidden()
    window._set_dataset({"name": "shapes", "n": 60})
    settle()
    assert panel.wait_loaded()
    assert "[3, 32, 32]" in panel.info.text()
    assert not panel.fit_button.isHidden()
    assert "[3, 32, 32]" in panel.fit_button.text()
    panel.fit_button.click()
    settle()
    assert doc.graph.node("x").params["shape"] == [3, 32, 32]
    assert panel.fit_button.isHidden()
    doc.undo_stack.undo()
    settle()
    assert doc.graph.node("x").params["shape"] == [1, 8, 8]
    window._set_dataset({"name": "sequences", "n": 30})
    settle()
    assert panel.wait_loaded() and not panel.table.isHidden()
    window._set_dataset({"path": "missing.npz"})
    settle()
    assert panel.wait_loaded() and "no such file" in panel.info.text()


def test_run_history_overlays_and_diffs_two_runs(window, tmp_path, qtbot):
    doc = open_copy(window, tmp_path, epochs=1)
    window.train()
    wait_idle(qtbot, window)
    window.inspector_commit("fc1", "out_features", 32)
    settle()
    window.train()
    wait_idle(qtbot, window)
    panel = window.runs_panel
    assert len(panel.runs) == 2
    assert "warm start" in window.training_panel.message.text() or True
    for i in range(2):
        panel.list.item(i).setSelected(True)
    settle()
    assert "fc1.out_features: 64 -> 32" in panel.diff.text()
    assert len(window.plots.history_items) == 4  # val loss and accuracy per run
    assert doc.project.training["epochs"] == 1


@pytest.mark.slow  # a whole app in a subprocess
def test_closing_during_training_exits_0_without_thread_warnings(tmp_path):
    project = tmp_path / "p.json"
    project.write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    script = textwrap.dedent(f"""
        import faulthandler, sys
        faulthandler.dump_traceback_later(100, exit=True)  # a hang fails with its stacks
        from pathlib import Path
        from PySide6.QtCore import QTimer
        from torchloom.gui.app import make_app
        from torchloom.gui.engine_loader import engine_loader
        from torchloom.gui.main_window import MainWindow
        app = make_app()
        engine_loader().start(); engine_loader().wait()
        w = MainWindow(); w.show()
        w.open_path(Path({str(project)!r}))
        w._set_training_setting("epochs", 200)
        w.ask_unsaved = lambda name: "discard"
        w.controller.reports.connect(lambda r: w.close())
        w.controller.finished.connect(lambda r: print("status", r.status, r.step))
        QTimer.singleShot(0, w.train)
        QTimer.singleShot(0, lambda: None)
        app.lastWindowClosed.connect(app.quit)
        sys.exit(app.exec())
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "status stopped" in done.stdout
    assert "QThread" not in done.stderr and "Traceback" not in done.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "state.pt").exists()


def test_the_training_log_says_which_images_were_skipped(window, tmp_path, qtbot):
    """A folder dataset's unreadable images were only in run.json: the training log says
    them when the run starts, and keeps saying them when it ends."""
    from tests.engine.builders import pets_with_broken_images

    assert window.open_path(pets_with_broken_images(tmp_path))
    settle()
    window.ask_trust = lambda files: False
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    assert window.controller.last_result.status == "finished"
    text = window.training_panel.message.text()
    assert "skipped 3 unreadable images: " in text, text
    assert "cat/empty.png" in text and "dog/cut.png" in text
    assert window.statusBar().currentMessage().startswith("Skipped 3 unreadable images: ")
    from PySide6.QtWidgets import QTabWidget

    panel = window.training_panel
    for tabs in window.findChildren(QTabWidget):  # show the Training tab for the picture
        for i in range(tabs.count()):
            if tabs.widget(i) is panel or tabs.widget(i).isAncestorOf(panel):
                tabs.setCurrentIndex(i)
    settle()
    window.grab().save(
        os.path.join(os.environ.get("TORCHLOOM_TEST_PNG_DIR", "/tmp"), "gui_skipped_images.png"))
