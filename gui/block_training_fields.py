"""The inspector's Training section: whether the selected block trains, and at what share
of the run's learning rate.

The fields are generated from `engine.block_training.NODE_TRAINING`, as the parameter form
is from a block's declarations, and every change is one undoable engine edit (a click on
Trainable is one step; clicks are never merged, so each undo puts back one click).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from torchloom.engine.block_training import NODE_TRAINING
from torchloom.engine.edits import plan_set_training
from torchloom.engine.errors import TorchloomError

from .inspector_fields import ParamField

#: What the form calls each setting.
LABELS = {"trainable": "Trainable", "lr_scale": "lr scale"}


class BlockTrainingFields:
    """The section's title and form, for one node of `document`."""

    def __init__(self, document: Any, node_id: str, parent: QWidget) -> None:
        self.document, self.node_id = document, node_id
        self.title = QLabel("Training", parent)
        self.title.setObjectName("section")
        self.form = QFormLayout()
        self.fields: dict[str, ParamField] = {}
        for key, decl in NODE_TRAINING.items():
            field = ParamField(key, decl, self._commit)
            field.widget.setObjectName(f"training_{key}")
            label = QLabel(LABELS.get(key, key))
            label.setToolTip(decl.doc)
            label.setBuddy(field.widget)
            self.form.addRow(label, field.widget)
            self.form.addRow("", field.error)
            self.fields[key] = field
        self.sync()

    def sync(self) -> None:
        """Show the node's values (after an undo, a redo, or another view's edit)."""
        graph = self.document.graph
        if self.node_id not in graph:
            return
        node = graph.node(self.node_id)
        for key, field in self.fields.items():
            field.set_value(getattr(node, key))

    def _commit(self, key: str, value: Any) -> str | None:
        graph = self.document.graph
        if self.node_id not in graph:
            return None
        if value is None:  # an emptied field: back to the default
            value = NODE_TRAINING[key].default
        if getattr(graph.node(self.node_id), key) == value:
            return None
        try:
            ops = plan_set_training(graph, self.node_id, key, value)
        except TorchloomError as exc:
            return exc.message
        if key == "trainable":
            text = f"{'Unfreeze' if value else 'Freeze'} {self.node_id}"
        else:
            text = f"Set {self.node_id} lr scale to {value:g}"
        self.document.edit(ops, text)
        return None
