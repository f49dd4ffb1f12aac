"""The data panel's "which array feeds which Input" table, for models with several Inputs.

An NPZ feeds a model with several Input nodes from the arrays named after their node ids.
The table shows each Input beside the array that feeds it, the shapes on both sides and,
in the error colour, an array that is missing or does not fit, by the rule training applies
(`engine.data.inputs.key_rows`). It reads the archive's headers only, so it says what is
wrong even when the data cannot be loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from .. import theme

COLUMNS = ("Array", "Input node", "Shape")


def input_rows(spec: dict[str, Any] | None, base: Path | None,
               wanted: dict[str, tuple[int, ...]]) -> tuple[list[Any], str | None] | None:
    """(rows, the labels' array name or None) for an NPZ feeding several Inputs; None when
    there is nothing to show (one Input, no file, not an NPZ, a file that cannot be read:
    the loader's own error says why). Runs on the loading thread."""
    if len(wanted) < 2 or not spec or "path" not in spec:
        return None
    from torchloom.engine.data.inputs import key_rows
    from torchloom.engine.data.npz import npz_arrays
    from torchloom.engine.data.sources import dataset_path, guess_format
    from torchloom.engine.errors import DataError

    try:
        path = dataset_path(spec["path"], base)
        if (spec.get("format") or guess_format(path)) != "npz":
            return None
        arrays = npz_arrays(path)
    except (DataError, OSError):
        return None
    y_key = spec.get("y_key", "y")
    return key_rows(arrays, wanted), (y_key if y_key in arrays else None)


def _shape(shape: Any) -> str:
    return "[" + ", ".join(["N", *map(str, shape)]) + "]" if shape is not None else "missing"


class InputsTable(QTableWidget):
    """One row per Input node: the array that feeds it and whether it fits."""

    def __init__(self) -> None:
        super().__init__(0, len(COLUMNS))
        self.setAccessibleName("Arrays and the Inputs they feed")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._problems: list[str] = []
        self.hide()

    def show_rows(self, found: tuple[list[Any], str | None] | None) -> None:
        """Show `input_rows`' answer, or hide the table when it is None."""
        if found is None:
            self.setRowCount(0)
            self.hide()
            return
        rows, labels = found
        error = QColor(theme.current().error)
        self._problems = [row.problem for row in rows if row.problem]
        self.setRowCount(len(rows) + (1 if labels else 0))
        for r, row in enumerate(rows):
            shape = _shape(row.have)
            if row.have is not None and row.problem:
                shape += f" ≠ Input {_shape(row.want)}"
            cells = (f"'{row.key}'" if row.have is not None else f"'{row.key}' (missing)",
                     f"→ {row.node}", shape)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(row.problem or f"feeds the Input node {row.node}")
                if row.problem is not None and c != 1:
                    item.setForeground(error)
                self.setItem(r, c, item)
        if labels:
            for c, text in enumerate((f"'{labels}'", "→ labels (targets)", "")):
                self.setItem(len(rows), c, QTableWidgetItem(text))
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + 2 * self.frameWidth()
                            + sum(self.rowHeight(r) for r in range(self.rowCount())))
        self.show()

    def problems(self) -> list[str]:
        """The problems shown (as tooltips and in the error colour), one per Input that
        cannot be fed."""
        return list(self._problems)
