"""The data panel of a two-input project: a table says which array feeds which Input, with
the shapes, and shows a missing array as the problem it is."""

from __future__ import annotations

import os

from ...engine.data.two_inputs import two_input_project, write_two_inputs
from ..conftest import settle

PNG = os.environ.get("TORCHLOOM_DATA_INPUTS_PNG", "")


def open_panel(window, tmp_path):
    assert window.open_path(tmp_path / "two.json")
    settle()
    panel = window.data_panel
    window.side_tabs.setCurrentWidget(panel)
    assert panel.wait_loaded()
    settle()
    return panel


def cells(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def test_the_table_shows_which_array_feeds_which_input(window, tmp_path):
    write_two_inputs(tmp_path, n=40)
    two_input_project(tmp_path)
    panel = open_panel(window, tmp_path)
    table = panel.inputs_table
    assert table.isVisible()
    assert cells(table) == [
        ["'img'", "→ img", "[N, 1, 8, 8]"],
        ["'meta'", "→ meta", "[N, 3]"],
        ["'y'", "→ labels (targets)", ""]]
    assert table.problems() == []
    assert "40" in panel.info.text() and "meta" in panel.info.text()
    if PNG:
        panel.grab().save(PNG.replace(".png", "_ok.png"))


def test_a_missing_array_is_shown_against_its_input(window, tmp_path):
    write_two_inputs(tmp_path, drop=("meta",), n=40)
    two_input_project(tmp_path)
    panel = open_panel(window, tmp_path)
    table = panel.inputs_table
    assert table.problems() == ["the file has no array 'meta' (it holds: img, y)"]
    assert cells(table)[1] == ["'meta' (missing)", "→ meta", "missing"]
    assert "Input node meta" in panel.info.text()  # the loader's own message, too
    if PNG:
        panel.grab().save(PNG.replace(".png", "_missing.png"))
