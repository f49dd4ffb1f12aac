"""Run history: every run of the project, newest first. Selecting runs overlays their curves
on the plots; selecting two also lists how their graphs differ."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QLabel, QListWidget, QListWidgetItem,
                               QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from torchloom.engine.train.history import RunRecord, graph_diff, list_runs

from ..text import message, plain


class RunsPanel(QWidget):
    #: The runs whose curves should be overlaid.
    selection_changed = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.where = QLabel("")
        self.where.setObjectName("muted")
        self.where.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        layout.addWidget(self.where)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.list = QListWidget()
        self.list.setAccessibleName("Runs")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.diff = QLabel("Select two runs to see how their graphs differ.")
        self.diff.setObjectName("muted")
        self.diff.setWordWrap(True)
        self.diff.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.diff.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        split.addWidget(self.list)
        split.addWidget(self.diff)
        split.setSizes([420, 300])
        layout.addWidget(split, 1)
        self.runs: list[RunRecord] = []
        self.runs_dir: Path | None = None
        self.note = ""
        self.list.itemSelectionChanged.connect(self._selected)

    def refresh(self, runs_dir: Path | None, select: Iterable[Path] = ()) -> None:
        """List the runs in `runs_dir`, newest first, with the runs in `select` selected."""
        if runs_dir != self.runs_dir:
            self.note = ""
        self.runs_dir = runs_dir
        self.runs = list(reversed(list_runs(runs_dir))) if runs_dir else []
        self._show_where()
        chosen = {str(path) for path in select}
        self.list.blockSignals(True)
        self.list.clear()
        for run in self.runs:
            item = QListWidgetItem(plain(run.label()))  # a folder name is anyone's text
            item.setToolTip(message(str(run.path)))
            item.setData(Qt.ItemDataRole.UserRole, str(run.path))
            self.list.addItem(item)
            item.setSelected(str(run.path) in chosen)
        if not self.runs:
            placeholder = QListWidgetItem("No runs yet: press Train.")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(placeholder)
        self.list.blockSignals(False)
        self._selected()

    def set_note(self, text: str) -> None:
        """A sentence under the folder's name (the runs moved here), kept until the panel
        shows another folder."""
        self.note = text
        self._show_where()

    def _show_where(self) -> None:
        where = f"Runs in {self.runs_dir}" if self.runs_dir else ""
        self.where.setText("\n".join(t for t in (where, self.note) if t))
        self.where.setToolTip(self.note)

    def selected_runs(self) -> list[RunRecord]:
        paths = {item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()}
        return [run for run in self.runs if str(run.path) in paths]

    def _selected(self) -> None:
        chosen = self.selected_runs()
        self.selection_changed.emit(chosen)
        if len(chosen) != 2:
            self.diff.setText("Select two runs to see how their graphs differ.")
            return
        older, newer = sorted(chosen, key=lambda r: r.name)
        a, b = older.project(), newer.project()
        if a is None or b is None:
            self.diff.setText("One of these runs has no readable graph.")
            return
        lines: list[str] = []
        for key, graph in a.graphs().items():  # a GAN's two networks, each named
            other = b.graphs().get(key)
            found = graph_diff(graph, other) if other is not None else [f"no {key} in {newer.name}"]
            lines += [f"{key}: {line}" for line in found] if len(a.graphs()) > 1 else found
        config = [f"{k}: {a.training.get(k)} -> {b.training.get(k)}"
                  for k in sorted(set(a.training) | set(b.training))
                  if a.training.get(k) != b.training.get(k)]
        text = f"From {older.name} to {newer.name}:\n"
        text += "\n".join(lines + config) if lines or config else "the same graph and settings"
        self.diff.setText(text)
