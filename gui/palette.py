"""The block palette: every catalogue block, grouped by category, searchable, draggable."""

from __future__ import annotations

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
    """Drag a block onto the canvas, or double-click it to add it at the view's centre."""

    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search blocks")
        self.search.setClearButtonEnabled(True)
        self.tree = BlockTree(self)
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
        self.search.textChanged.connect(self.filter)
        self.tree.itemDoubleClicked.connect(self._double_clicked)

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
