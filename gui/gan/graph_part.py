"""One graph of a multi-graph document, with the interface a canvas scene expects.

A `CanvasScene` talks to "its document": `graph`, `analysis`, `edit`, `graph_event`... A GAN
document has two graphs, so each canvas tab gets a `GraphPart` that forwards to the document
for its own graph only. The document stays the one owner of the project, the undo stack and
the analysis; a part holds no state of its own.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from torchloom.engine.edits import Op
from torchloom.engine.graph import Graph

from ..document import GRAPH_LABELS, Document


class GraphPart(QObject):
    graph_event = Signal(object)
    analysis_changed = Signal()
    settings_changed = Signal()

    def __init__(self, document: Document, key: str) -> None:
        super().__init__(document)
        self.document, self.key = document, key
        self.message = document.message
        document.keyed_event.connect(self._on_event)
        document.analysis_changed.connect(self.analysis_changed)
        document.settings_changed.connect(self.settings_changed)

    def _on_event(self, key: str, event: Any) -> None:
        if key == self.key:
            self.graph_event.emit(event)

    @property
    def label(self) -> str:
        return GRAPH_LABELS.get(self.key, self.key)

    @property
    def graph(self) -> Graph:
        return self.document.graphs()[self.key]

    @property
    def analysis(self) -> Any:
        return self.document.analyses.get(self.key)

    @property
    def project(self) -> Any:
        return self.document.project

    @property
    def locked(self) -> str | None:
        return self.document.locked

    @property
    def undo_stack(self) -> Any:
        return self.document.undo_stack

    def edit(self, ops: list[Op], text: str, merge_key: str | None = None) -> bool:
        return self.document.edit(ops, text, merge_key, key=self.key)

    def plan_and_edit(self, plan: Callable[[], list[Op]], text: str,
                      merge_key: str | None = None) -> bool:
        return self.document.plan_and_edit(plan, text, merge_key,
                                           key=self.key)
