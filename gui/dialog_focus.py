"""Keyboard focus goes back to the canvas when a dialog of the window closes.

After Export, Import, a message, a file chooser, the shortcuts list or the Tab quick-add
popup, a person expects the keys to act on the canvas again (Delete, arrows, Tab). Qt instead
gives focus back to whatever had it before: often a field of the inspector or nothing, when the
dialog came from a menu. Rather than a line after every `exec()` (and none possible after the
static QMessageBox / QFileDialog / QInputDialog helpers), the window watches which window has
the keyboard: when one of its dialogs (or the quick-add popup) had it and closes, and no other
dialog takes over, the main window gets it back with the canvas focused. Menus, combo-box
lists and tooltips are windows too; closing them leaves focus where it was, and so does
coming back from another application (the dialog is still open then).
"""

from __future__ import annotations

from typing import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QGuiApplication, QWindow
from PySide6.QtWidgets import QApplication, QDialog, QWidget

from .canvas.quick_add import QuickAdd


def returns_focus(widget: QWidget | None) -> bool:
    """Whether closing this window should put the keyboard back on the canvas."""
    return isinstance(widget, (QDialog, QuickAdd))


def widget_of(window: QWindow | None) -> QWidget | None:
    if window is None:
        return None
    for widget in QApplication.topLevelWidgets():
        # PySide can hand back a stale wrapper of another type at a reused address (seen
        # as a QWidgetItem while a window was being built): skip what is not a widget
        if isinstance(widget, QWidget) and widget.windowHandle() is window:
            return widget
    return None


class FocusReturn(QObject):
    """Puts focus on `canvas()` whenever one of the application's dialogs closes and the
    keyboard goes back to `window`."""

    def __init__(self, window: QWidget, canvas: Callable[[], QWidget | None]) -> None:
        super().__init__(window)
        self.window = window
        self.canvas = canvas
        #: the dialog (or quick-add popup) that has the keyboard now, None when none has
        self.dialog: QWidget | None = None
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        app.focusWindowChanged.connect(self._focus_window_changed)

    def _focus_window_changed(self, window: QWindow | None) -> None:
        left = self.dialog
        widget = widget_of(window)
        self.dialog = widget if returns_focus(widget) else None
        if self.dialog is not None and self.dialog is not left:
            self.dialog.installEventFilter(self)  # to hear when it closes
        if left is not None and self.dialog is None and window is not None \
                and window is self.window.windowHandle():
            self.return_focus()  # the platform gave the window the keyboard back

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """A watched dialog hid: once Qt and the platform have settled who has the keyboard
        (the offscreen platform, for one, gives it to no window), see whether it is ours."""
        if event.type() == QEvent.Type.Hide and isinstance(watched, QWidget):
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._after_close)
        return False

    def _after_close(self) -> None:
        """Give the keyboard back to the window, unless another dialog or popup is up (a
        nested chooser closed: its dialog keeps the keys) or another of our windows has it."""
        if QApplication.activeModalWidget() is not None or QApplication.activePopupWidget():
            return
        if not shiboken6.isValid(self.window) or not self.window.isVisible():
            return
        focus = widget_of(QGuiApplication.focusWindow())
        if focus is not None and focus is not self.window and focus.isVisible():
            return
        if not self.window.isActiveWindow():
            self.window.activateWindow()
        self.return_focus()

    def return_focus(self) -> None:
        """Focus the canvas (if the window is not active yet, it gets it on activation)."""
        canvas = self.canvas()
        if canvas is not None and shiboken6.isValid(canvas) and canvas.isVisible():
            canvas.setFocus()
