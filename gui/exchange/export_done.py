"""What the window says after an export: which files it wrote and what it verified, whole.

A QMessageBox caps its width and wraps only at spaces, so a long path (a temp folder, a
file name without spaces) was cut off at the box's edge. Here the message is read-only text
that wraps at spaces and, where one word is wider than the line, anywhere in it (a path
breaks between characters instead of running off), and the text grows to its own height,
so there is nothing to scroll and nothing hidden; it can still be selected and copied.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF, QGuiApplication, QResizeEvent, QTextOption
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFrame, QTextEdit,
                               QVBoxLayout, QWidget)

from ..text import plain_lines

#: The width the dialog starts at when its longest line is short, and the share of the
#: screen it may take when the longest line is long (beyond that, lines wrap).
MIN_WIDTH = 460
#: How narrow a person may make it: narrower, a path would be a column of fragments.
NARROWEST = 320
SCREEN_SHARE = 0.8


def export_message(files: list[str], checks: str, notes: list[str]) -> str:
    """The text after a successful export (plain text, one file a line)."""
    wrote = "\n".join(f"  {f}" for f in files)
    text = f"Wrote:\n{wrote}\n\nVerified: {checks or 'yes'}"
    return text + ("\n\n" + "\n".join(notes) if notes else "")


class GrowingText(QTextEdit):
    """Read-only text as tall as its wrapped lines: a label that wraps inside long words."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setPlainText(plain_lines(text))  # paths and notes name anyone's files
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)  # the dialog's own background
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no caret; Enter and Esc go to the button

    def ideal_width(self) -> int:
        """The width at which no line needs to wrap."""
        metrics = QFontMetricsF(self.font())
        widest = max((metrics.horizontalAdvance(line)
                      for line in self.toPlainText().splitlines()), default=0.0)
        margins = 2 * self.document().documentMargin() + 2 * self.frameWidth() + 4
        return int(widest + margins + 1)

    def height_for(self, width: int) -> int:
        """The height the wrapped text needs when the widget is `width` wide."""
        document = self.document().clone(self)  # measuring must not relayout the shown one
        document.setTextWidth(width - 2 * self.frameWidth())
        needed = int(document.size().height() + 2 * self.frameWidth() + 1)
        document.deleteLater()
        return needed

    def fit_height(self, width: int) -> None:
        """Take the height the wrapped text needs at `width`."""
        needed = self.height_for(width)
        if self.minimumHeight() != needed or self.maximumHeight() != needed:
            self.setFixedHeight(needed)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """Follow a new width with the height the text needs at it (measured on a copy of
        the document: setting the shown one's width by hand left its scroll range stale)."""
        super().resizeEvent(event)
        self.fit_height(event.size().width())


class ExportDoneDialog(QDialog):
    """The export's result: the files written and what was verified, nothing cut off."""

    def __init__(self, message: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export finished")
        self.message = message
        layout = QVBoxLayout(self)
        self.text = GrowingText(message)
        self.text.setObjectName("export_message")
        self.text.setAccessibleName("What the export wrote and verified")
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setDefault(True)
        layout.addWidget(buttons)
        screen = (parent.screen() if parent is not None else QGuiApplication.primaryScreen())
        room = int(screen.availableGeometry().width() * SCREEN_SHARE)
        margins = layout.contentsMargins()
        side = margins.left() + margins.right()
        width = max(MIN_WIDTH, min(room, self.text.ideal_width() + side))
        self.text.fit_height(width - side)  # the height is known before the first show
        self.setMinimumWidth(NARROWEST)
        self.setMaximumWidth(max(MIN_WIDTH, room))
        self.resize(width, self.sizeHint().height())
