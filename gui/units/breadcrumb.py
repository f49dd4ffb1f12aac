"""The path above an opened unit: "Model › ResBlock › Bottleneck". Each earlier step is a
link back; the last one is where you are."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from .. import theme


class Breadcrumb(QWidget):
    """`set_path(["Model", "ResBlock"])`; clicking step i calls `on_click(i)`."""

    def __init__(self, on_click: Callable[[int], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breadcrumb")
        self.on_click = on_click
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(10, 4, 10, 4)
        self.layout_.setSpacing(4)
        self.steps: list[QWidget] = []
        self.hint = QLabel("Backspace, Esc or Alt+↑: back")

    def set_path(self, names: list[str]) -> None:
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None and item.widget() is not self.hint:
                item.widget().deleteLater()
        self.steps = []
        colors = theme.current()
        for i, name in enumerate(names):
            if i:
                sep = QLabel("›")
                sep.setStyleSheet(f"color:{colors.node_subtext}; font-size:12pt")
                self.layout_.addWidget(sep)
            last = i == len(names) - 1
            if last:
                step: QWidget = QLabel(name)
                step.setStyleSheet("font-weight:600; font-size:11pt")
            else:
                button = QPushButton(name)
                button.setFlat(True)
                button.setCursor(Qt.CursorShape.PointingHandCursor)
                button.setStyleSheet(f"color:{colors.selected}; font-size:11pt; "
                                     "text-decoration: underline; padding: 2px 4px")
                button.clicked.connect(lambda _=False, index=i: self.on_click(index))
                step = button
            step.setObjectName(f"crumb_{i}")
            self.steps.append(step)
            self.layout_.addWidget(step)
        self.layout_.addStretch(1)
        self.hint.setStyleSheet(f"color:{colors.node_subtext}")
        self.layout_.addWidget(self.hint)

    def texts(self) -> list[str]:
        return [w.text() for w in self.steps]  # type: ignore[attr-defined]
