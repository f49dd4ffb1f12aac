"""Undo commands: a thin wrapper that applies engine `Op`s and keeps their inverses."""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from torchloom.engine.edits import Op, apply_all
from torchloom.engine.graph import Graph

_MERGE_ID = 7301


class OpsCommand(QUndoCommand):
    """One undo step made of engine ops.

    The document applies the ops before pushing (so a refused edit never reaches the
    stack); the first `redo` Qt calls on push is therefore skipped. Commands with the same
    `merge_key` pushed in a row merge into one step (typing a value digit by digit).
    """

    def __init__(self, graph: Graph, ops: list[Op], inverses: list[Op], text: str,
                 merge_key: str | None = None) -> None:
        super().__init__(text)
        self.graph = graph
        self.ops = list(ops)
        self.inverses = list(inverses)
        self.merge_key = merge_key
        self._applied = True

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        self.inverses = apply_all(self.graph, self.ops)

    def undo(self) -> None:
        apply_all(self.graph, self.inverses)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, OpsCommand) or other.merge_key != self.merge_key:
            return False
        self.ops += other.ops
        self.inverses = other.inverses + self.inverses
        return True


class ProjectSettingCommand(QUndoCommand):
    """Change the dataset choice (`key` None) or one training setting, undoably."""

    def __init__(self, document: Any, key: str | None, value: Any, text: str) -> None:
        super().__init__(text)
        self.document, self.key = document, key
        self.new = copy.deepcopy(value)
        project = document.project
        self.had = key is None or key in project.training
        self.old = copy.deepcopy(project.dataset if key is None else project.training.get(key))

    def _set(self, value: Any, present: bool) -> None:
        project = self.document.project
        if self.key is None:
            project.dataset = copy.deepcopy(value)
        elif present:
            project.training[self.key] = copy.deepcopy(value)
        else:
            project.training.pop(self.key, None)
        self.document.settings_changed.emit()

    def redo(self) -> None:
        self._set(self.new, True)

    def undo(self) -> None:
        self._set(self.old, self.had)
