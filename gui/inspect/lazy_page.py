"""A page of a stacked or tabbed view that builds its widget the first time it is shown or
used.

Inspect's pyqtgraph views (feature maps, attention heads, histograms) cost most of the main
window's construction, and many sessions never open them; a placeholder in the stack keeps
the window quick to open and the views the same once they are needed.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


class LazyPage(QWidget, Generic[W]):
    def __init__(self, make: Callable[[], W], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._make = make
        self._view: W | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._view is not None

    def view(self) -> W:
        if self._view is None:
            self._view = self._make()
            self.layout().addWidget(self._view)
        return self._view

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.view()
        super().showEvent(event)
