"""Files, titles, the start page and the screenshot mode: what a person sees around the
canvas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
import pytest

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from torchloom.engine.project import graph_to_dict, load_project
from torchloom.engine.resources import examples_dir

from .conftest import settle


def test_title_marks_unsaved_changes_and_save_reopens_identically(window, example, tmp_path):
    doc = example(tmp=tmp_path)
    assert window.windowTitle() == "mnist_cnn.json — Torchloom"
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    settle()
    assert window.windowTitle() == "mnist_cnn.json* — Torchloom"
    assert window.save()
    assert window.windowTitle() == "mnist_cnn.json — Torchloom"
    saved = graph_to_dict(doc.graph)
    totals = (doc.analysis.total_params, [e.describe() for e in doc.analysis.problems])
    reopened = load_project(tmp_path / "mnist_cnn.json")
    assert graph_to_dict(reopened.graph) == saved
    assert window.open_path(tmp_path / "mnist_cnn.json")
    settle()
    assert graph_to_dict(window.document.graph) == saved
    analysis = window.document.analysis
    assert (analysis.total_params, [e.describe() for e in analysis.problems]) == totals


def test_shapes_match_the_command_line_summary(canvas, capsys):
    """What the canvas shows: a canvas alone opens each example (the window's part in
    opening a file is tested above)."""
    from torchloom.engine.cli import main

    for name in sorted(p.name for p in examples_dir().glob("*.json")):
        if '"task": "gan"' in (examples_dir() / name).read_text(encoding="utf-8"):
            continue  # two graphs, two canvases: tests/gui/gan compares those
        doc = canvas.open_example(name)
        main(["summary", str(examples_dir() / name), "--json"])
        summary = json.loads(capsys.readouterr().out)
        shown = {node_id: item.shape_text for node_id, item in canvas.scene.node_items.items()}
        for row in summary["nodes"]:
            expected = "×".join(str(d) for d in row["output_shape"])
            assert shown[row["id"]].split("  ")[0] == expected, (name, row["id"])
        assert doc.analysis.total_params == summary["total_params"]


def test_a_corrupt_file_gives_a_dialog_and_the_app_keeps_running(window, tmp_path,
                                                                  monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(args[1:3]))
    bad = tmp_path / "broken.json"
    bad.write_text('{"format": "torchloom-project", "version": 1, "graph": {"nodes": [')
    assert not window.open_path(bad)
    assert shown and shown[0][0] == "Cannot open project"
    assert str(bad) in shown[0][1] and "ends too early" in shown[0][1]
    assert window.isVisible() and window.stack.currentWidget() is window.start_scroll


def test_quitting_with_unsaved_changes_asks_first(window, example, tmp_path):
    example(tmp=tmp_path)
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    asked = []
    window.ask_unsaved = lambda name: asked.append(name) or "cancel"
    assert not window.close()
    assert asked == ["mnist_cnn.json"] and window.isVisible()
    window.ask_unsaved = lambda name: "save"
    assert window.close()
    assert "drop" not in load_project(tmp_path / "mnist_cnn.json").graph


def test_save_as_for_a_new_project(window, tmp_path):
    window.new_project()
    window.ask_save_path = lambda doc: str(tmp_path / "mine.json")
    assert window.save()
    assert (tmp_path / "mine.json").exists() and window.windowTitle() == "mine.json — Torchloom"
    # a project nobody named takes the file's name (it read "Untitled" when reopened)
    assert load_project(tmp_path / "mine.json").name == "mine"
    assert "<h3>mine</h3>" in window.inspector.header.text()


def test_a_first_save_keeps_a_name_the_project_has(window, tmp_path):
    window.open_example(examples_dir() / "mlp_digits.json")  # an untitled copy, named
    settle()
    window.ask_save_path = lambda doc: str(tmp_path / "copy.json")
    assert window.save()
    assert load_project(tmp_path / "copy.json").name == "MLP on digits"


def test_start_page_opens_examples_as_untitled_copies_and_lists_recent(window, tmp_path):
    assert window.stack.currentWidget() is window.start_scroll
    cards = {card.path.name: card for card in window.start_page.cards}
    assert "mnist_cnn.json" in cards
    cards["mnist_cnn.json"].clicked.emit(cards["mnist_cnn.json"].path)
    settle()
    assert window.document.path is None and "unsaved" in window.windowTitle()
    path = tmp_path / "x.json"
    path.write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    window.open_path(path)
    window.set_document(None)
    texts = [b.text() for b in window.start_page.findChildren(type(window.act_new.parent()))]
    assert texts is not None
    from torchloom.gui.paths import recent_files

    assert recent_files()[0] == str(path.resolve())


def test_undo_action_says_what_it_undoes(window, example, qtbot):
    doc = example()
    window.scene.select_nodes(["relu3"])
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Delete)
    assert window.act_undo.text() == "&Undo Delete relu3"
    assert doc.undo_stack.canUndo()


def test_theme_switch_repaints_in_light(window, example):
    example()
    window.set_theme("light")
    from torchloom.gui import theme

    assert theme.current_name() == "light"
    image = window.view.grab().toImage()
    corner = image.pixelColor(5, 5)
    assert corner.lightness() > 200
    window.set_theme("dark")


@pytest.mark.slow  # a whole app in a subprocess
def test_screenshot_mode_writes_a_png_and_exits_0(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "torchloom.gui.cli", "gui",
                           str(examples_dir() / "mnist_cnn.json"), "--screenshot", str(out)],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(out))
    assert (image.width(), image.height()) == (1600, 1000)


@pytest.mark.slow  # a whole app in a subprocess
def test_screenshot_of_a_broken_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "torchloom.gui.cli", "gui", str(bad),
                           "--screenshot", str(tmp_path / "x.png")], capture_output=True,
                          text=True, env=env, timeout=180)
    assert done.returncode == 2 and not Path(tmp_path / "x.png").exists()


@pytest.mark.slow  # a whole app in a subprocess
def test_a_screenshot_that_cannot_be_written_exits_2_without_a_traceback(tmp_path):
    """Its folder is a file: a place that cannot be written, the code of every path that
    cannot be used (it was a traceback when the folder could not be made)."""
    (tmp_path / "taken").write_text("a file, not a folder")
    out = tmp_path / "taken" / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "torchloom.gui.cli", "gui",
                           str(examples_dir() / "mlp_digits.json"), "--screenshot", str(out)],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 2, done.stderr
    assert "screenshot could not be written" in done.stderr and str(out) in done.stderr
    assert "Traceback" not in done.stderr
