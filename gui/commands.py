"""Undo commands: a thin wrapper that applies engine `Op`s and keeps their inverses."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtGui import QUndoCommand

from torchloom.engine.edits import Op, apply_all
from torchloom.engine.graph import Graph

_MERGE_ID = 7301
_SETTING_MERGE_ID = 7302


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


def setting_text(key: str | None, value: Any) -> str:
    """What Edit → Undo calls a change of the dataset (`key` None) or of one training
    setting: the setting as the Training panel names it, and its new value."""
    if key is None:
        spec = value if isinstance(value, dict) else {}
        name = spec.get("name") or Path(str(spec.get("path", "data"))).name
        return f"Use dataset {name}"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(map(str, value))
    elif isinstance(value, bool):
        shown = "on" if value else "off"
    else:
        shown = str(value)
    return f"Set {key} to {shown if len(shown) <= 40 else shown[:37] + '...'}"


class ProjectSettingCommand(QUndoCommand):
    """Change the dataset choice (`key` None) or one training setting, undoably.

    Changes of one setting pushed in a row merge into one step (spin-box clicks, a value
    typed again), named after the latest value; a run of changes that ends where it began
    leaves no step at all.
    """

    def __init__(self, document: Any, key: str | None, value: Any,
                 text: str | None = None, merge: str | None = None) -> None:
        super().__init__(text or setting_text(key, value))
        self.document, self.key = document, key
        #: what a run of merged changes is about beyond the key (one augmentation's
        #: parameter, say): changes about different things stay separate steps
        self.merge = merge
        self.new = copy.deepcopy(value)
        project = document.project
        self.had = key is None or key in project.training
        self.old = copy.deepcopy(project.dataset if key is None else project.training.get(key))
        #: what the setting was in effect (its default when the file does not name it)
        self.began = plain_value(self.old if key is None else project.training_config().get(key))

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

    def id(self) -> int:
        return _SETTING_MERGE_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ProjectSettingCommand) or other.key != self.key \
                or other.document is not self.document or other.merge != self.merge:
            return False
        self.new = copy.deepcopy(other.new)
        self.setText(other.text())
        if plain_value(self.new) == self.began:  # back where it began: no step, file as it was
            self._set(self.old, self.had)
            self.setObsolete(True)
        return True


def plain_value(value: Any) -> Any:
    """Tuples as lists, so a value compares equal however it was spelt."""
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    return value


class HeadsCommand(QUndoCommand):
    """Give the outputs without a head one each (`engine.heads.default_heads`: each
    classifies, with targets under its node id), undoably: the fix for several outputs."""

    def __init__(self, document: Any, outputs: list[str]) -> None:
        from torchloom.engine.heads import default_heads

        super().__init__("Give each output a head")
        self.document = document
        self.old = dict(document.project.heads)
        self.new = {**self.old, **default_heads([o for o in outputs if o not in self.old])}

    def _set(self, heads: dict[str, Any]) -> None:
        self.document.project.set_heads(heads)
        self.document.settings_changed.emit()

    def redo(self) -> None:
        self._set(self.new)

    def undo(self) -> None:
        self._set(self.old)


class ProjectTaskCommand(QUndoCommand):
    """Change what kind of model the project is (among tasks with the same graphs: a
    classifier becomes a regression), undoably. A loss the new task does not take is
    dropped, so the task's own default applies; undo puts it back."""

    def __init__(self, document: Any, task: str, title: str) -> None:
        super().__init__(f"Make it a {title.lower()}")
        self.document = document
        self.old, self.new = document.project.task, task
        self.training = copy.deepcopy(document.project.training)

    def _set(self, task: str, training: dict[str, Any]) -> None:
        project = self.document.project
        project.task = task
        project.training = copy.deepcopy(training)
        self.document.settings_changed.emit()

    def redo(self) -> None:
        from torchloom.engine.project import TASKS

        training = copy.deepcopy(self.training)
        if training.get("loss") not in TASKS[self.new].losses:
            training.pop("loss", None)
        self._set(self.new, training)

    def undo(self) -> None:
        self._set(self.old, self.training)
