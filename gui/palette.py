"""The block palette: every catalogue block, grouped by category, searchable, draggable.

With some eighty blocks it has to stay short: a category collapses with a click on its
name (and stays collapsed next time), each category lists its most used blocks first, and
a search lists the matches best first (the block named exactly what was typed on top),
with the best one highlighted so that Enter adds it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, QObject, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeyEvent, QPainter, QPixmap
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from torchloom.engine.block_search import match_rank
from torchloom.engine.blocks import by_category

from . import theme
from .canvas.view import BLOCK_MIME
from .paths import settings

#: The settings key holding the names of the categories the person collapsed.
COLLAPSED_KEY = "palette/collapsed"


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
        self.tree.setRootIsDecorated(True)
        self.tree.setExpandsOnDoubleClick(False)  # one click toggles a category
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        #: The catalogue's categories in palette order, each with its blocks in order; a
        #: search reorders the tree and clearing it restores this.
        self.groups: list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]] = []
        self.collapsed: set[str] = set(_saved_collapsed())
        #: True while the palette itself opens or closes categories (a search, a reset)
        self._arranging = False
        for category, blocks in by_category().items():
            group = _group_item(category, category_icon(category))
            self.tree.addTopLevelItem(group)
            children: list[QTreeWidgetItem] = []
            self.groups.append((group, children))
            for block in blocks:
                item = QTreeWidgetItem([block.type_name])
                item.setData(0, Qt.ItemDataRole.UserRole, block.type_name)
                item.setToolTip(0, block.doc)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                group.addChild(item)
                children.append(item)
                self.items[block.type_name] = item
            self._expand(group, category not in self.collapsed)
        self.library_group: QTreeWidgetItem | None = None
        self.units_group: QTreeWidgetItem | None = None
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._library_menu)
        self.search.textChanged.connect(self.filter)
        self.search.returnPressed.connect(self._add_best)
        self.search.installEventFilter(self)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.itemExpanded.connect(lambda item: self._remember(item, expanded=True))
        self.tree.itemCollapsed.connect(lambda item: self._remember(item, expanded=False))

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
        group = self.library_group = _group_item(MY_BLOCKS, category_icon(MY_BLOCKS))
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
        self._expand(group, group.text(0) not in self.collapsed)
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
        group = self.units_group = _group_item("Units in this project", category_icon("Units"))
        self.tree.insertTopLevelItem(1 if self.library_group is not None else 0, group)
        for name in names:
            item = QTreeWidgetItem([name])
            item.setData(0, Qt.ItemDataRole.UserRole, "unit:" + name)
            item.setToolTip(0, f"Another node of this project's unit {name}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            group.addChild(item)
            self.items["unit:" + name] = item
        self._expand(group, group.text(0) not in self.collapsed)
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
        """Show only the blocks matching `text`, best first, the best one highlighted; an
        empty text shows the whole catalogue again, categories as the person left them."""
        needle = text.strip()
        groups = self._all_groups()
        if not needle:
            self._arrange(groups)
            for group, children in groups:
                group.setHidden(False)
                for child in children:
                    child.setHidden(False)
                self._expand(group, group.text(0) not in self.collapsed)
            return
        ranked: list[tuple[tuple[int, int], QTreeWidgetItem, list[QTreeWidgetItem]]] = []
        for g, (group, children) in enumerate(groups):
            scored = []
            for c, child in enumerate(children):
                rank = match_rank(needle, child.text(0), group.text(0))
                child.setHidden(rank is None)
                if rank is not None:
                    scored.append(((rank, c), child))
            scored.sort(key=lambda pair: pair[0])
            group.setHidden(not scored)
            best = (scored[0][0][0], g) if scored else (len(groups) + 99, g)
            ranked.append((best, group, [child for _, child in scored] +
                           [child for child in children if child.isHidden()]))
        ranked.sort(key=lambda entry: entry[0])
        self._arrange([(group, children) for _, group, children in ranked])
        for _, group, _children in ranked:
            self._expand(group, True)
        best = self.best_match()
        if best is not None:
            self.tree.setCurrentItem(best)
            self.tree.scrollToItem(best)

    def best_match(self) -> QTreeWidgetItem | None:
        """The first block shown: the one Enter in the search field adds."""
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group.isHidden():
                continue
            for j in range(group.childCount()):
                if not group.child(j).isHidden():
                    return group.child(j)
        return None

    def shown_names(self) -> list[str]:
        """The block names shown, top to bottom (collapsed categories' blocks left out)."""
        names = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            if group.isHidden() or not group.isExpanded():
                continue
            names += [group.child(j).text(0) for j in range(group.childCount())
                      if not group.child(j).isHidden()]
        return names

    def eventFilter(self, watched: QObject, event: Any) -> bool:  # noqa: N802 - Qt's name
        """Down in the search field moves into the list, at the highlighted block."""
        if watched is self.search and isinstance(event, QKeyEvent) \
                and event.type() == QKeyEvent.Type.KeyPress \
                and event.key() == Qt.Key.Key_Down:
            current = self.tree.currentItem() or self.best_match()
            if current is not None:
                self.tree.setCurrentItem(current)
            self.tree.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return super().eventFilter(watched, event)

    def _add_best(self) -> None:
        current = self.tree.currentItem()
        item = current if current is not None and not current.isHidden() \
            and current.parent() is not None else self.best_match()
        if item is not None:
            self._double_clicked(item, 0)

    def _all_groups(self) -> list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]:
        """Every category in its resting order: My blocks, this project's units, then the
        catalogue's."""
        extra = [g for g in (self.library_group, self.units_group) if g is not None]
        own = [(g, [g.child(j) for j in range(g.childCount())]) for g in extra]
        return own + self.groups

    def _arrange(self, order: list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]) -> None:
        """Put the categories and their blocks in `order`, moving only what is out of
        place (a drag or an open editor holds on to items that stay put)."""
        for i, (group, children) in enumerate(order):
            if self.tree.topLevelItem(i) is not group:
                expanded = group.isExpanded()
                self.tree.takeTopLevelItem(self.tree.indexOfTopLevelItem(group))
                self.tree.insertTopLevelItem(i, group)
                self._expand(group, expanded)
            if [group.child(j) for j in range(group.childCount())] != children:
                group.takeChildren()
                group.addChildren(children)

    def _expand(self, group: QTreeWidgetItem, expanded: bool) -> None:
        """Expand or collapse without counting it as the person's choice."""
        self._arranging = True
        try:
            group.setExpanded(expanded)
        finally:
            self._arranging = False

    def _clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.parent() is None:  # a category's name: open or close it
            item.setExpanded(not item.isExpanded())

    def _remember(self, group: QTreeWidgetItem, expanded: bool) -> None:
        """A category the person opened or closed (not while a search shows matches)."""
        if self._arranging or self.search.text().strip():
            return
        name = group.text(0)
        if expanded:
            self.collapsed.discard(name)
        else:
            self.collapsed.add(name)
        settings().setValue(COLLAPSED_KEY, sorted(self.collapsed))

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, Qt.ItemDataRole.UserRole)
        if type_name:
            self.add_requested.emit(type_name)


def _group_item(name: str, icon: QIcon) -> QTreeWidgetItem:
    group = QTreeWidgetItem([name])
    group.setFlags(Qt.ItemFlag.ItemIsEnabled)
    group.setIcon(0, icon)
    group.setToolTip(0, f"Click to open or close {name}")
    font = group.font(0)
    font.setBold(True)
    group.setFont(0, font)
    return group


def _saved_collapsed() -> list[str]:
    value = settings().value(COLLAPSED_KEY, [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in (value or []) if v]
