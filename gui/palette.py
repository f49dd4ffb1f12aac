"""The block palette: every catalogue block, grouped by category, searchable, draggable."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from torchloom.engine.blocks import by_category

from . import theme
from .canvas.view import BLOCK_MIME


def category_icon(category: str, size: int = 12) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor(0, 0, 0, 0))
    painter.setBrush(theme.category_color(category))
    painter.drawRoundedRect(1, 1, size - 2, size - 2, 3, 3)
    painter.end()
    return QIcon(pixmap)


class BlockTree(QTreeWidget):
    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:  # type: ignore[override]
        data = QMimeData()
        type_name = items[0].data(0, Qt.ItemDataRole.UserRole) if items else None
        if type_name:
            data.setData(BLOCK_MIME, type_name.encode())
            data.setText(type_name)
        return data

    def mimeTypes(self) -> list[str]:
        return [BLOCK_MIME]


class Palette(QWidget):
    """Drag a block onto the canvas, or double-click it to add it after the one selected
    block, wired from it (else in the middle of the view); the window places it."""

    add_requested = Signal(str)
    #: Right-click → Remove from My blocks on a library unit (its name).
    library_remove_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search blocks")
        self.search.setAccessibleName("Search blocks")
        self.search.setToolTip("Show only the blocks whose name or category holds this text")
        self.search.setClearButtonEnabled(True)
        self.tree = BlockTree(self)
        self.tree.setAccessibleName("Blocks")
        self.tree.setToolTip("Drag a block onto the canvas, or double-click it to add it "
                             "after the selected block")
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setIndentation(12)
        self.tree.setRootIsDecorated(False)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        for category, blocks in by_category().items():
            group = QTreeWidgetItem([category])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setIcon(0, category_icon(category))
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.tree.addTopLevelItem(group)
            for block in blocks:
                item = QTreeWidgetItem([block.type_name])
                item.setData(0, Qt.ItemDataRole.UserRole, block.type_name)
                item.setToolTip(0, block.doc)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                group.addChild(item)
                self.items[block.type_name] = item
            group.setExpanded(True)
        self.library_group: QTreeWidgetItem | None = None
        self.units_group: QTreeWidgetItem | None = None
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._library_menu)
        self.search.textChanged.connect(self.filter)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

    def set_library(self, entries: list[Any]) -> None:
        """The "My blocks" category: the units saved to the personal library (gui.units).
        Each drags as ``library:<Name>``; dropping it imports the unit into the project."""
        from .units.library import LIBRARY_PREFIX, MY_BLOCKS

        if self.library_group is not None:
            for i in range(self.library_group.childCount()):
                self.items.pop(LIBRARY_PREFIX + self.library_group.child(i).text(0), None)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(self.library_group))
            self.library_group = None
        if not entries:
            return
        group = self.library_group = QTreeWidgetItem([MY_BLOCKS])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        group.setIcon(0, category_icon(MY_BLOCKS))
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        self.tree.insertTopLevelItem(0, group)
        for entry in entries:
            item = QTreeWidgetItem([entry.name])
            item.setData(0, Qt.ItemDataRole.UserRole, LIBRARY_PREFIX + entry.name)
            ports = ", ".join(entry.inputs) or "no inputs"
            params = ", ".join(["repeat", *entry.params])
            item.setToolTip(0, (entry.doc or f"Your unit {entry.name}") +
                            f"\nInputs: {ports}. Parameters: {params}.\n{entry.path}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            group.addChild(item)
            self.items[LIBRARY_PREFIX + entry.name] = item
        group.setExpanded(True)
        self.filter(self.search.text())

    def set_project_units(self, names: list[str]) -> None:
        """The "Units" category: this project's units, to place another node of one (its
        definition is shared, so every node of it changes together)."""
        group = self.units_group
        if group is not None:
            for i in range(group.childCount()):
                self.items.pop("unit:" + group.child(i).text(0), None)
            self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(group))
            self.units_group = None
        if not names:
            return
        group = self.units_group = QTreeWidgetItem(["Units in this project"])
        group.setFlags(Qt.ItemFlag.ItemIsEnabled)
        group.setIcon(0, category_icon("Units"))
        font = group.font(0)
        font.setBold(True)
        group.setFont(0, font)
        self.tree.insertTopLevelItem(1 if self.library_group is not None else 0, group)
        for name in names:
            item = QTreeWidgetItem([name])
            item.setData(0, Qt.ItemDataRole.UserRole, "unit:" + name)
            item.setToolTip(0, f"Another node of this project's unit {name}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            group.addChild(item)
            self.items["unit:" + name] = item
        group.setExpanded(True)
        self.filter(self.search.text())

    def _library_menu(self, pos: Any) -> None:
        from PySide6.QtWidgets import QMenu

        from .units.library import LIBRARY_PREFIX

        item = self.tree.itemAt(pos)
        data = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not (isinstance(data, str) and data.startswith(LIBRARY_PREFIX)):
            return
        menu = QMenu(self)
        remove = menu.addAction(f"Remove {item.text(0)} from My blocks")
        remove.triggered.connect(lambda: self.library_remove_requested.emit(
            data[len(LIBRARY_PREFIX):]))
        menu.popup(self.tree.viewport().mapToGlobal(pos))

    def filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            visible = 0
            for j in range(group.childCount()):
                child = group.child(j)
                hide = bool(needle) and needle not in child.text(0).lower() \
                    and needle not in group.text(0).lower()
                child.setHidden(hide)
                visible += not hide
            group.setHidden(visible == 0)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, Qt.ItemDataRole.UserRole)
        if type_name:
            self.add_requested.emit(type_name)
