"""Tab on the canvas: a search box over the block catalogue; Enter adds the best match
(ranked by `engine.block_search`, as the palette's search is)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, \
    QWidget

from torchloom.engine.block_search import rank_blocks
from torchloom.engine.blocks import by_category

class QuickAdd(QFrame):
    """Tab on the canvas: type a few letters, Enter adds the highlighted block (the best
    match) at the cursor; Up and Down move the highlight."""

    def __init__(self, parent: QWidget, on_choose: Callable[[str], None]) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("popup")
        self.on_choose = on_choose
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add block…")
        self.list = QListWidget(self)
        self.list.setMinimumSize(260, 280)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.blocks = [(block.type_name, category)
                       for category, blocks in by_category().items() for block in blocks]
        self.docs = {block.type_name: block.doc
                     for blocks in by_category().values() for block in blocks}
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self.choose)
        self.list.itemActivated.connect(lambda _item: self.choose())
        self.filter("")

    def filter(self, text: str) -> None:
        """List the matches best first and highlight the best one."""
        self.list.clear()
        for name, category in rank_blocks(text, self.blocks):
            item = QListWidgetItem(f"{name}    {category}")
            item.setData(Qt.ItemDataRole.UserRole, name)
            item.setToolTip(self.docs[name])
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def shown_names(self) -> list[str]:
        """The block names listed, top to bottom."""
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.list.count())]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self.list.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    def choose(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.close()
            self.on_choose(item.data(Qt.ItemDataRole.UserRole))
