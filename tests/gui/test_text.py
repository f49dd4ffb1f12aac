"""Ids, names, paths and messages from someone's file, as the window shows them: control
characters escaped (no fake second line on a node), markup shown as written, never
rendered (an <img> in an id is text in a tooltip, not a picture)."""

from __future__ import annotations

import json
import os

from PySide6.QtGui import Qt
from PySide6.QtWidgets import QMessageBox

from tests.gui.conftest import settle
from torchloom.gui.text import message, plain, rich

NASTY = "fc\x1b[2J\nfake <img src='x'>"
SHOTS = os.environ.get("TORCHLOOM_TEST_PNG_DIR", "/tmp")


def test_the_helpers_escape_what_a_file_may_hold():
    assert plain(NASTY) == "fc\\u001b[2J\\u000afake <img src='x'>"
    assert rich(NASTY) == "fc\\u001b[2J\\u000afake &lt;img src='x'&gt;"
    assert message("line one\nline two") == "line one\nline two"  # plain text stays plain
    # Qt renders a message as HTML when its first line looks like markup: then it is escaped
    shown = message("/tmp/<img src='x'>.json: cannot be read\nsecond \x07line")
    assert Qt.mightBeRichText(shown) and "<img" not in shown and "&lt;img" in shown
    assert "\x07" not in shown and "<br>second" in shown
    later = message(f"cannot read\n/tmp/{NASTY}.json")  # Qt shows this one as plain text
    assert not Qt.mightBeRichText(later) and "\x1b" not in later


def _nasty_project(folder):
    data = {"format": "torchloom-project", "version": 1, "name": "<b>bold</b> name",
            "graph": {"nodes": [
                {"id": "x", "type": "Input", "params": {"shape": [4]}},
                {"id": NASTY, "type": "Linear", "params": {"out_features": 2}}],
                "edges": [{"from": "x", "to": NASTY}]}}
    path = folder / "nasty.json"
    path.write_text(json.dumps(data))
    return path


def test_an_id_is_escaped_on_the_canvas_in_the_inspector_and_in_message_boxes(
        window, tmp_path, monkeypatch):
    assert window.open_path(_nasty_project(tmp_path))
    settle()
    item = window.scene.node_items[NASTY]
    tip = item.toolTip()
    assert "\x1b" not in tip and "<img" not in tip and "&lt;img" in tip
    window.scene.clearSelection()
    item.setSelected(True)
    settle()
    header = window.inspector.header.text()
    assert "\x1b" not in header and "<img" not in header and "\\u001b[2J" in header
    window.grab().save(f"{SHOTS}/gui_escaped_id.png")
    window.scene.clearSelection()
    settle()
    overview = window.inspector.header.text()
    assert "<b>bold</b>" not in overview and "&lt;b&gt;bold" in overview

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "critical",
                        lambda parent, title, text: shown.append(text))
    window.report("Cannot open", f"node <img src='x'> {NASTY}: broken")
    assert shown and "\x1b" not in shown[0] and "<img" not in shown[0], shown


def test_a_project_key_problem_is_listed_under_its_key(window, tmp_path):
    """check's warning about a training setting this version does not know shows in the
    Problems list under the key it names."""
    from torchloom.engine.resources import examples_dir

    data = json.loads((examples_dir() / "mlp_digits.json").read_text())
    data["training"]["epoch"] = 5
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(data))
    assert window.open_path(path)
    settle()
    tree = window.problems.tree
    rows = [(tree.topLevelItem(i).text(1), tree.topLevelItem(i).text(2))
            for i in range(tree.topLevelItemCount())]
    assert ("training.epoch", "is not a training setting (did you mean epochs?); it is kept "
            "in the file but does nothing") in rows, rows
    window.bottom_tabs.setCurrentWidget(window.problems)
    settle()
    window.grab().save(f"{SHOTS}/gui_problem_key.png")
