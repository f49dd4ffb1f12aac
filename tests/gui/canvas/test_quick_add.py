"""Tab search: typing a name highlights that block, and Enter adds it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from torchloom.gui.canvas.quick_add import QuickAdd

from ..conftest import settle


def test_typing_relu_highlights_relu_and_enter_chooses_it(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    chosen: list[str] = []
    popup = QuickAdd(host, chosen.append)
    popup.show()
    popup.search.setFocus()
    qtbot.keyClicks(popup.search, "ReLU")
    assert popup.shown_names()[:3] == ["ReLU", "ReLU6", "LeakyReLU"]  # exact, prefix, inside
    assert popup.list.currentItem().text().startswith("ReLU ")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert chosen == ["ReLU"] and not popup.isVisible()


def test_down_moves_the_highlight_to_the_next_match(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    chosen: list[str] = []
    popup = QuickAdd(host, chosen.append)
    popup.show()
    popup.search.setFocus()
    qtbot.keyClicks(popup.search, "relu")
    qtbot.keyClick(popup.search, Qt.Key.Key_Down)
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    assert chosen == ["ReLU6"]  # after ReLU, the one name that starts with "relu"


def test_tab_relu_enter_on_the_canvas_adds_relu(window, qtbot):
    window.new_project()
    settle()
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_Tab)
    popup = window.view._popup
    assert popup is not None and popup.isVisible()
    qtbot.keyClicks(popup.search, "ReLU")
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    settle()
    assert sorted(n.type for n in window.document.graph.nodes) == ["Input", "ReLU"]
    assert window.act_undo.text() == "&Undo Add ReLU"
