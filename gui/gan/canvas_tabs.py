"""A GAN project's canvas: one tab per graph (Generator, Discriminator), each a full canvas.

Each tab is the ordinary `CanvasView` over a `CanvasScene` of one `GraphPart`, so dropping,
wiring, shapes on edges and Tab-to-add work exactly as on a classifier's canvas. The tab on
show is the document's active graph, both ways: a click on a tab activates its graph, and
an undo that changes the other graph brings its tab forward.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from ..canvas.scene import CanvasScene
from ..canvas.view import CanvasView
from ..document import Document
from .graph_part import GraphPart


class GanCanvas(QTabWidget):
    #: The graph on show changed (its key).
    graph_shown = Signal(str)

    def __init__(self, document: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ganCanvas")
        self.setDocumentMode(True)
        self.setTabPosition(QTabWidget.TabPosition.North)
        self.document = document
        self.keys: list[str] = []
        self.parts: dict[str, GraphPart] = {}
        self.scenes: dict[str, CanvasScene] = {}
        self.views: dict[str, CanvasView] = {}
        #: The cost strips of the two canvases (the window attaches them).
        self.cost_overlays: list[Any] = []
        for key in document.graphs():
            part = GraphPart(document, key)
            scene = CanvasScene(part)  # type: ignore[arg-type]
            view = CanvasView(scene, self)
            self.keys.append(key)
            self.parts[key], self.scenes[key], self.views[key] = part, scene, view
            self.addTab(view, part.label)
        #: Tabs fitted to their blocks: a hidden view has no size yet, so each is fitted
        #: the first time it is shown.
        self.fitted: set[str] = {document.active}
        self.setCurrentIndex(self.keys.index(document.active))
        self.currentChanged.connect(self._changed)
        document.active_changed.connect(self.show_graph)
        document.analysis_changed.connect(self._mark_errors)
        self._mark_errors()

    @property
    def key(self) -> str:
        return self.keys[self.currentIndex()]

    def show_graph(self, key: str) -> None:
        if key in self.keys and key != self.key:
            self.setCurrentIndex(self.keys.index(key))

    def _changed(self, index: int) -> None:
        key = self.keys[index]
        self.document.set_active(key)
        if key not in self.fitted:
            self.fitted.add(key)
            self.views[key].fit()
        self.graph_shown.emit(key)

    def _mark_errors(self) -> None:
        """A tab whose graph has errors says how many, so a hidden one is not missed."""
        counts: dict[str, int] = {}
        for problem in self.document.errors:
            where = getattr(problem, "graph", None)
            if where:
                counts[where] = counts.get(where, 0) + 1
        for i, key in enumerate(self.keys):
            label = self.parts[key].label
            n = counts.get(key, 0)
            self.setTabText(i, f"{label}  ·  {n} error{'s' * (n > 1)}" if n else label)
            self.setTabToolTip(i, f"The {label.lower()} network: "
                               + ("noise in, a sample out" if key == "generator"
                                  else "a sample in, one real-or-fake logit out"))
