"""Every widget a person operates has a name a screen reader says, and the buttons of the
window's actions show their shortcut (issue 19, "Accessible names"). UI tests can find
widgets by these names instead of by position."""

from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QAbstractSpinBox, QComboBox,
                               QGraphicsView, QHeaderView, QLineEdit, QPlainTextEdit, QSlider,
                               QTabBar, QTextEdit, QToolButton, QWidget)

OPERATED = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QTabBar, QAbstractItemView,
            QGraphicsView, QSlider, QPlainTextEdit, QTextEdit)


def _part_of_another_widget(widget: QWidget) -> bool:
    """Parts of pyqtgraph's composite widgets (an ImageView's own buttons) and Qt's own
    helpers (a line edit's clear button, a combo box's popup list) are named by their
    owners, not by us."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QComboBox, QLineEdit, QAbstractSpinBox)) or (
                type(parent).__module__.startswith("pyqtgraph")
                and not isinstance(parent, QGraphicsView)):
            return True
        parent = parent.parentWidget()
    return False


def spoken_name(widget: QWidget) -> str:
    face = QAccessible.queryAccessibleInterface(widget)
    return face.text(QAccessible.Text.Name) if face is not None else ""


def unnamed(root: QWidget) -> list[str]:
    """Every widget of every panel and tab, shown or not, that a screen reader cannot name."""
    found = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, OPERATED) or isinstance(widget, QHeaderView) \
                or widget.objectName().startswith("qt_") or _part_of_another_widget(widget):
            continue
        if not spoken_name(widget).strip():
            found.append(f"{type(widget).__name__} in {type(widget.parentWidget()).__name__}")
    return found


def test_every_operated_widget_of_the_window_has_a_spoken_name(window, example):
    example()
    walked = [w for w in window.findChildren(QWidget) if isinstance(w, OPERATED)]
    assert len(walked) > 60  # the panels behind other tabs are walked too
    assert unnamed(window) == []


def test_the_train_buttons_are_named_without_their_glyph_and_show_the_shortcut(window):
    buttons = {spoken_name(b): b for b in window.findChildren(QAbstractButton)}
    assert {"Train", "Stop", "Resume", "Reset weights"} <= set(buttons)
    assert buttons["Train"].toolTip().startswith("Compile the graph and train a new run (")


def test_toolbar_buttons_show_what_they_do_and_their_shortcut(window):
    tips = {b.defaultAction().text(): b.toolTip()
            for b in window.findChildren(QToolButton) if b.defaultAction()}
    train = next(tip for text, tip in tips.items() if "Train" in text)
    assert train.startswith("Compile the graph and train a new run (") and \
        train.endswith(")"), tips
