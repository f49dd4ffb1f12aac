"""Autosave and recovery after a crash."""

from __future__ import annotations

import json
import subprocess
import sys

from torchloom.gui.autosave import Autosaver, leftovers

from .conftest import settle


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def crashed_autosave(doc) -> Autosaver:
    """An autosave as a session that then died would have left it."""
    crashed = Autosaver(lambda: doc)
    crashed.timer.stop()
    crashed.save_now()
    meta = json.loads(crashed.meta_file.read_text())
    meta["pid"] = dead_pid()
    crashed.meta_file.write_text(json.dumps(meta))
    return crashed


def test_autosave_writes_only_when_there_are_unsaved_changes(window, example, tmp_path):
    example(tmp=tmp_path)
    saver = window.autosaver
    assert not saver.save_now() and not saver.project_file.exists()
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    assert saver.save_now()
    meta = json.loads(saver.meta_file.read_text())
    assert meta["original"] == str(tmp_path / "mnist_cnn.json")
    assert '"drop"' not in saver.project_file.read_text()
    window.save()
    assert not saver.project_file.exists()  # a save clears it


def test_a_crashed_session_is_recovered(window, example, tmp_path, qtbot):
    doc = example(tmp=tmp_path)
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    crashed_autosave(doc)
    (found,) = leftovers()
    assert "mnist_cnn.json" in found.describe()
    window.set_document(None)
    asked = []
    window.ask_recover = lambda text: asked.append(text) or True
    window.recover_leftovers()
    settle()
    assert asked and "drop" not in window.document.graph
    assert window.document.path == tmp_path / "mnist_cnn.json"
    assert window.windowTitle().startswith("mnist_cnn.json*")
    assert leftovers() == []  # handed over to this session's own autosave
    assert window.autosaver.project_file.exists()


def test_declined_recovery_discards_the_leftover(window, example, tmp_path):
    doc = example(tmp=tmp_path)
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    crashed = crashed_autosave(doc)
    window.ask_recover = lambda text: False
    window.recover_leftovers()
    assert leftovers() == [] and not crashed.project_file.exists()
