"""The inspector's block id field: rename a block where its parameters are edited.

An id names the layer in the model (``self.<id>``) and in the exported code, so a person
renames a block to give the model readable names. The engine decides what an id may be and
keeps the block's trained weights with it (`engine.rename`); this field only types it and
shows the reason when an id is refused.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtWidgets import QLabel, QLineEdit

from torchloom.engine.errors import TorchloomError
from torchloom.engine.rename import INNER_NOTE, KEEPS_NOTE, plan_rename

from . import theme


class IdField:
    """A line edit holding the block's id, its error label and a note on weights."""

    def __init__(self, doc: Any, node_id: str, inside_unit: bool,
                 renamed: Callable[[str], None]) -> None:
        self.doc, self.node_id, self.renamed = doc, node_id, renamed
        self.widget = QLineEdit(node_id)
        self.widget.setObjectName("block_id")
        self.widget.setAccessibleName("Block id")
        self.widget.setToolTip("The block's name in the model and in exported code "
                               "(self.<id>). Type a new one and press Enter to rename.")
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        self.note = QLabel(INNER_NOTE if inside_unit else KEEPS_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {theme.current().node_subtext}")
        self._typed = False
        self.widget.textEdited.connect(self._on_typed)
        self.widget.editingFinished.connect(self._commit)

    def _on_typed(self, _text: str) -> None:
        self._typed = True

    def _commit(self) -> None:
        """Enter or focus leaving after typing (not the focus-out after the form filled)."""
        if not self._typed:
            return
        self._typed = False
        new = self.widget.text()
        try:
            ops = plan_rename(self.doc.graph, self.node_id, new)
        except TorchloomError as exc:
            self._show_problem(exc.message)
            return
        self._show_problem(None)
        if not ops:
            self.widget.setText(self.node_id)
            return
        old, new = self.node_id, new.strip()
        self.doc.edit(ops, f"Rename {old} to {new}")
        self.renamed(new)

    def _show_problem(self, problem: str | None) -> None:
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.widget.setProperty("invalid", bool(problem))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)
