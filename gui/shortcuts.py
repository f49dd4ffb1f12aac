"""The keyboard shortcuts, listed once: the Help menu shows this table."""

from __future__ import annotations

from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

SHORTCUTS: list[tuple[str, str]] = [
    ("Ctrl+N", "New project"),
    ("Ctrl+O", "Open a project"),
    ("Ctrl+S", "Save"),
    ("Ctrl+Shift+S", "Save as"),
    ("Ctrl+Z", "Undo"),
    ("Ctrl+Shift+Z", "Redo"),
    ("Ctrl+X / Ctrl+C / Ctrl+V", "Cut, copy, paste blocks (with the wires between them)"),
    ("Ctrl+D", "Duplicate the selected blocks"),
    ("Delete", "Delete the selected blocks and wires"),
    ("Ctrl+A", "Select all blocks"),
    ("Ctrl+L", "Auto-layout, left to right"),
    ("Ctrl+G", "Group the selected blocks into a unit"),
    ("Ctrl+Shift+G", "Ungroup the selected unit back into its blocks"),
    ("Double-click a unit", "Open it: edit the blocks inside (every node of that unit follows)"),
    ("Backspace / Esc / Alt+Up", "Back out of an opened unit"),
    ("F", "Fit the graph to the view"),
    ("Tab", "Add a block at the cursor (type to search, Enter to add)"),
    ("Wheel", "Zoom around the cursor"),
    ("Middle drag / Space+drag", "Pan"),
    ("Drag, Ctrl+click", "Select with a rubber band; add or remove one block"),
    ("Drag from a port", "Wire an output to an input (drop on a block: its first free input)"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit"),
]


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 560)
        layout = QVBoxLayout(self)
        table = QTableWidget(len(SHORTCUTS), 2, self)
        table.setHorizontalHeaderLabels(["Keys", "Does"])
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for row, (keys, what) in enumerate(SHORTCUTS):
            table.setItem(row, 0, QTableWidgetItem(keys))
            table.setItem(row, 1, QTableWidgetItem(what))
        table.resizeColumnToContents(0)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
