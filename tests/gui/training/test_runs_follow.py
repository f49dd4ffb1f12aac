"""An unsaved project's runs follow it on its first save: the Runs tab, Export, Inspect,
Evaluate and Resume find them next to the file, and the window says what happened."""

from __future__ import annotations

import errno
import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from torchloom.engine import run_move
from torchloom.engine.resources import examples_dir
from torchloom.gui.exchange.export_dialog import ExportDialog
from torchloom.gui.training.runs_follow import WAIT_TEXT, unsaved_runs_dir

from ..conftest import activate, settle

TIMEOUT = 60_000


def untitled_digits(window, epochs: int):
    window.open_example(examples_dir() / "mlp_digits.json")  # an untitled copy
    settle()
    window._set_training_setting("epochs", epochs)
    settle()
    assert window.document.path is None
    return window.document


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
    settle()


def train_and_stop_at_once(window, qtbot):
    def stop(_reports):
        window.stop_training()

    window.controller.reports.connect(stop)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    window.controller.reports.disconnect(stop)
    return window.controller.last_result


def press_ctrl_s(window, qtbot, path) -> None:
    window.ask_save_path = lambda doc: str(path)
    activate(window, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    settle()


def export_weights_offered(window, qtbot, monkeypatch) -> list[str]:
    monkeypatch.setattr(ExportDialog, "exec", lambda self: 0)  # look, then Cancel
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    combo = window._export_dialog.weights
    return [combo.itemText(i) for i in range(combo.count())]


def test_first_save_moves_the_runs_and_everything_finds_them(window, qtbot, tmp_path,
                                                            data_dir, monkeypatch):
    doc = untitled_digits(window, epochs=50)  # a stop lands before the end
    stopped = train_and_stop_at_once(window, qtbot)
    old = stopped.run_dir
    assert stopped.status == "stopped" and old.parent == unsaved_runs_dir(doc.project)
    assert old.is_relative_to(data_dir) and window.runs_panel.list.count() == 1
    taken = tmp_path / "runs" / old.name  # another project's run of the same second
    taken.mkdir(parents=True)
    (taken / "keep.txt").write_text("not mine")

    window.runs_panel.list.item(0).setSelected(True)  # its curves on the plots
    press_ctrl_s(window, qtbot, tmp_path / "digits.json")
    new = tmp_path / "runs" / f"{old.name}-2"
    assert (tmp_path / "digits.json").exists() and new.is_dir() and not old.exists()
    assert (taken / "keep.txt").read_text() == "not mine"
    assert not unsaved_runs_dir(doc.project).exists()  # nothing left in the app's folder
    assert window.controller.last_run_dir == new and window.weights_from == new
    panel = window.runs_panel
    assert panel.runs_dir == tmp_path / "runs"
    assert [run.path for run in panel.runs] == [new]
    assert "stopped" in panel.list.item(0).text() and panel.list.item(0).isSelected()
    assert [run.path for run in panel.selected_runs()] == [new]
    assert "1 run moved here from" in panel.where.text() and f"is now {new.name}" in \
        panel.where.text()
    assert str(old) not in window.training_panel.message.text()
    assert str(new) in window.training_panel.message.text()
    assert window._inspected_run == new
    offered = export_weights_offered(window, qtbot, monkeypatch)
    assert offered[0].startswith(f"Trained: {new.name}"), offered

    assert window.training_panel.resume_button.isEnabled()
    qtbot.mouseClick(window.training_panel.resume_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    resumed = window.controller.last_result
    assert resumed.status == "finished" and resumed.run_dir == new
    assert json.loads((new / "run.json").read_text())["status"] == "finished"
    assert not old.exists() and not unsaved_runs_dir(doc.project).exists()
    qtbot.waitUntil(lambda: window.inspect_panel.trained is not None, timeout=TIMEOUT)
    assert window.inspect_panel.trained.run_dir == new

    assert window.open_path(tmp_path / "digits.json")  # reopened: the run is its run
    settle()
    assert [run.path for run in window.runs_panel.runs] == [new]
    assert export_weights_offered(window, qtbot, monkeypatch)[0].startswith("Trained:")
    # ...and Inspect and Evaluate show it without a pick in Runs
    qtbot.waitUntil(lambda: window.inspect_panel.trained is not None, timeout=TIMEOUT)
    assert window.inspect_panel.trained.run_dir == new
    qtbot.mouseClick(window.bottom_tabs.tabBar(), Qt.MouseButton.LeftButton,
                     pos=window.bottom_tabs.tabBar().tabRect(
                         window.bottom_tabs.indexOf(window.evaluate_panel)).center())
    qtbot.waitUntil(lambda: window.evaluate_panel.preds is not None, timeout=TIMEOUT)
    assert window.evaluate_panel.weights_used.text().startswith(new.name)


def test_a_reopened_project_whose_graph_changed_since_its_run_shows_no_stale_run(
        window, qtbot, tmp_path):
    doc = untitled_digits(window, epochs=1)
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    press_ctrl_s(window, qtbot, tmp_path / "digits.json")
    data = json.loads((tmp_path / "digits.json").read_text())
    data["graph"]["nodes"][2]["params"]["out_features"] = 32  # edited outside, after the run
    (tmp_path / "digits.json").write_text(json.dumps(data))
    assert doc is not None and window.open_path(tmp_path / "digits.json")
    settle()
    assert len(window.runs_panel.runs) == 1  # listed, to pick by hand
    assert window.inspect_panel.trained is None and window._inspected_run is None


def test_a_first_save_while_training_moves_the_runs_when_the_run_ends(window, qtbot,
                                                                     tmp_path):
    untitled_digits(window, epochs=50)
    saved_at: list[bool] = []

    def save_while_training(_reports):
        if not saved_at:
            saved_at.append(True)
            press_ctrl_s(window, qtbot, tmp_path / "digits.json")
            run = window.controller.worker.job.run_dir
            saved_at.append(run.exists() and not (tmp_path / "runs").exists())
            saved_at.append(WAIT_TEXT in window.runs_panel.where.text())
            window.stop_training()

    window.controller.reports.connect(save_while_training)
    window.train()
    wait_idle(qtbot, window)
    assert saved_at == [True, True, True]  # saved at once; the runs wait for the end
    assert (tmp_path / "digits.json").exists()
    result = window.controller.last_result
    moved = tmp_path / "runs" / result.run_dir.name
    assert result.status == "stopped" and result.run_dir == moved and moved.is_dir()
    assert window.controller.last_run_dir == moved
    assert [run.path for run in window.runs_panel.runs] == [moved]
    assert "moved here" in window.runs_panel.where.text()
    assert WAIT_TEXT not in window.runs_panel.where.text()


def fake_run(folder, name: str):
    """A run folder as a finished run leaves it (what the Runs tab reads)."""
    run = folder / name
    run.mkdir(parents=True)
    (run / "project.json").write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    (run / "run.json").write_text(json.dumps({"status": "finished"}))
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n")
    return run


def test_runs_on_another_filesystem_are_copied_then_deleted(window, qtbot, tmp_path,
                                                           monkeypatch):
    doc = untitled_digits(window, epochs=1)
    run = fake_run(unsaved_runs_dir(doc.project), "20240101-120000")
    doc.unsaved_runs.append(run)
    real_rename = run_move.os.rename

    def other_device(src, dst):
        if str(src) == str(run):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)

    monkeypatch.setattr(run_move.os, "rename", other_device)
    press_ctrl_s(window, qtbot, tmp_path / "digits.json")
    moved = tmp_path / "runs" / run.name
    assert moved.is_dir() and not run.exists()
    assert [r.path for r in window.runs_panel.runs] == [moved]


def test_a_run_that_cannot_move_stays_and_the_window_says_so(window, qtbot, tmp_path,
                                                            monkeypatch):
    doc = untitled_digits(window, epochs=1)
    run = fake_run(unsaved_runs_dir(doc.project), "20240101-120000")
    doc.unsaved_runs.append(run)
    warned: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: warned.append(
        (title, text)))
    monkeypatch.setattr(run_move.os, "rename", lambda src, dst: (_ for _ in ()).throw(
        OSError(errno.EXDEV, "Invalid cross-device link")))

    def disk_full(src, dst, symlinks=False):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_move.shutil, "copytree", disk_full)
    press_ctrl_s(window, qtbot, tmp_path / "digits.json")
    assert (tmp_path / "digits.json").exists()  # the project itself is saved
    assert run.is_dir() and (run / "project.json").exists()  # the run is where it was
    (title, text), = warned
    assert title == "Some runs did not move"
    assert str(run) in text and "No space left on device" in text and "stays" in text
