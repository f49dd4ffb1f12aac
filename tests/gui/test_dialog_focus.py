"""After a dialog of the window closes (accepted or cancelled, by key or by button), the
keyboard is on the canvas again, whatever had it before the dialog opened."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from .conftest import HANG_GUARD_MS, activate, settle


def press_in_next_dialog(key: Qt.Key, seen: list) -> None:
    """Once a dialog or popup is up and has the keyboard (inside its own event loop), press
    `key` in it, as a person would; `seen` gets (the window the key went to, its title)."""
    def press() -> None:
        window = QApplication.activeModalWidget() or QApplication.activePopupWidget()
        if window is None or QGuiApplication.focusWindow() is not window.windowHandle():
            QTimer.singleShot(10, press)
            return
        seen.append((window, window.windowTitle()))
        QTest.keyClick(window.focusWidget() or window, key)
    QTimer.singleShot(0, press)


@pytest.fixture
def elsewhere(window, example, qtbot):
    """The example open, the window active, and the keyboard in the palette's search field
    (where Qt alone would put it back): a dialog opened from the menu then."""
    example()
    activate(window, qtbot)
    field = window.palette.search
    field.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is field, timeout=HANG_GUARD_MS)
    return field


def assert_on_canvas(window, qtbot) -> None:
    qtbot.waitUntil(lambda: QApplication.focusWidget() is window.view,
                    timeout=HANG_GUARD_MS)
    settle()
    assert QApplication.focusWidget() is window.view


@pytest.mark.parametrize("key", [Qt.Key.Key_Escape, Qt.Key.Key_Return])
def test_the_shortcuts_list_gives_the_keys_back_to_the_canvas(window, elsewhere, qtbot, key):
    seen: list = []
    press_in_next_dialog(key, seen)
    window.act_shortcuts.trigger()
    assert seen and seen[0][1] == "Keyboard shortcuts" and not seen[0][0].isVisible()
    assert_on_canvas(window, qtbot)


def test_cancelling_export_and_import_returns_to_the_canvas(window, elsewhere, qtbot):
    seen: list = []
    press_in_next_dialog(Qt.Key.Key_Escape, seen)
    window.act_export.trigger()
    assert seen[-1][0] is window._export_dialog
    assert_on_canvas(window, qtbot)
    elsewhere.setFocus()
    press_in_next_dialog(Qt.Key.Key_Escape, seen)
    window.act_import.trigger()
    assert seen[-1][0] is window._import_dialog
    assert_on_canvas(window, qtbot)


def test_a_message_box_answered_with_enter_returns_to_the_canvas(window, elsewhere, qtbot):
    seen: list = []
    press_in_next_dialog(Qt.Key.Key_Return, seen)
    window.report("Cannot export", "The graph has errors.")
    assert [title for _, title in seen] == ["Cannot export"]
    assert_on_canvas(window, qtbot)


@pytest.mark.parametrize("key", [Qt.Key.Key_Escape, Qt.Key.Key_Return])
def test_the_quick_add_popup_from_the_menu_returns_to_the_canvas(window, elsewhere, qtbot,
                                                                  key):
    blocks = len(window.document.graph)
    window.act_add.trigger()
    popup = window.view._popup
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is popup.windowHandle(),
                    timeout=HANG_GUARD_MS)
    assert QApplication.focusWidget() is popup.search
    qtbot.keyClicks(popup.search, "relu")
    qtbot.keyClick(popup.search, key)
    assert not popup.isVisible()
    assert len(window.document.graph) == blocks + (key == Qt.Key.Key_Return)
    assert_on_canvas(window, qtbot)


def test_focus_inside_a_dialog_stays_where_it_was_put_until_the_window_has_it(window,
                                                                            elsewhere, qtbot):
    """Only coming back to the window moves the keyboard: a dialog still open keeps it."""
    seen: list = []

    def check_then_close() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None or QGuiApplication.focusWindow() is not dialog.windowHandle():
            QTimer.singleShot(10, check_then_close)
            return
        seen.append(QApplication.focusWidget() is not window.view)
        dialog.reject()
    QTimer.singleShot(0, check_then_close)
    window.act_shortcuts.trigger()
    assert seen == [True]
    assert_on_canvas(window, qtbot)
