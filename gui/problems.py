"""The problems panel: every error and warning of the graph, with a one-click fix where the
engine offers one."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QHBoxLayout, QPushButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from . import theme
from .text import message, plain

_FIX_WORDS = {"insert": "Insert {block}", "append": "Add {block} after",
              "remove": "Remove {node}", "set_param": "Set {param} = {value}",
              "add_heads": "Give each output a head"}


def fix_label(fix) -> str:  # type: ignore[no-untyped-def]
    if fix.action == "rewire":  # to one output of several, or to the one output
        return (f"Wire from {fix.source}'s {fix.value}" if fix.value is not None
                else f"Wire from {fix.source}")
    return _FIX_WORDS.get(fix.action, fix.action).format(**fix.__dict__)


#: Item data role holding the graph a problem belongs to (a GAN's two graphs).
GRAPH_ROLE = Qt.ItemDataRole.UserRole + 1
#: Item data role holding the problem's index in `ProblemsPanel.problems`.
INDEX_ROLE = Qt.ItemDataRole.UserRole + 2


def inside_unit(problem) -> bool:  # type: ignore[no-untyped-def]
    """A problem found inside a unit (engine.units `UnitInnerError`), shown on the unit node."""
    return bool(getattr(problem, "unit", None)) and hasattr(problem, "inner_node")


def unit_path(problem) -> str:  # type: ignore[no-untyped-def]
    """``block1 › conv1 (Conv2d)``: the unit node, the nodes inside down to the problem's."""
    steps = [problem.node]
    while inside_unit(problem) and problem.inner_node:
        steps.append(problem.inner_node)
        inner = getattr(problem, "inner", None)
        if inner is None:
            return " › ".join(steps)
        problem = inner  # a unit inside the unit: its inner_node is the next step
    kind = getattr(problem, "block_type", None)
    return " › ".join(steps) + (f" ({kind})" if kind else "")


def inner_fix(problem):  # type: ignore[no-untyped-def]
    """The fix of the innermost problem of a unit problem (it applies inside the unit)."""
    while inside_unit(problem) and getattr(problem, "inner", None) is not None:
        problem = problem.inner
    return getattr(problem, "fix", None)


class ProblemsPanel(QWidget):
    node_activated = Signal(str)
    fix_requested = Signal(object)
    #: A problem of another graph than the one on show was picked (its key, before the
    #: node or the fix), so the window shows that graph first.
    graph_activated = Signal(str)
    #: A problem inside a unit was picked (the `UnitInnerError`): the window opens the
    #: unit and selects the inner block, before a fix (which applies inside) is requested.
    unit_problem_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Problems")
        self.tree.setToolTip("The graph's errors and warnings; click one to show its "
                             "block")
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Block", "Problem", ""])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setColumnWidth(0, 26)
        self.tree.setColumnWidth(1, 150)
        self.tree.setWordWrap(True)
        layout.addWidget(self.tree)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemClicked.connect(self._activated)
        self.problems: list = []

    def show_problems(self, problems: list) -> None:  # type: ignore[type-arg]
        self.problems = list(problems)
        self.tree.clear()
        colors = theme.current()
        for index, problem in enumerate(self.problems):
            error = problem.severity == "error"
            # a key of the project file (training.epoch) says itself, not "graph"
            who = problem.node or getattr(problem, "key", None) or "graph"
            if problem.block_type and problem.node:
                who = f"{problem.node} ({problem.block_type})"
            if inside_unit(problem):  # "block1 › conv1 (Conv2d)": where inside the unit
                who = unit_path(problem)
            graph = getattr(problem, "graph", None)
            if graph:  # a GAN's problems say which network they are in
                who = f"{graph.capitalize()} › {who}"
            item = QTreeWidgetItem(["●", plain(who), plain(problem.message)])
            item.setForeground(0, QBrush(QColor(colors.error if error else colors.warning)))
            item.setToolTip(2, message(problem.message))
            if inside_unit(problem):
                item.setToolTip(1, message(f"Inside the unit {problem.unit}: click to open it "
                                           "there"))
            item.setData(0, Qt.ItemDataRole.UserRole, problem.node or
                         (problem.nodes[0] if problem.nodes else None))
            item.setData(0, GRAPH_ROLE, graph)
            item.setData(0, INDEX_ROLE, index)
            self.tree.addTopLevelItem(item)
            fix = problem.fix if problem.fix is not None or not inside_unit(problem) \
                else inner_fix(problem)
            if fix is not None:
                button = QPushButton(fix_label(fix))
                button.setProperty("primary", True)
                button.setStyleSheet("padding: 2px 12px;")
                button.setCursor(Qt.CursorShape.PointingHandCursor)
                button.setToolTip("Apply this fix (undoable)")
                button.clicked.connect(
                    lambda _=False, f=fix, g=graph, p=problem: self._fix(f, g, p))
                holder = QWidget()
                row = QHBoxLayout(holder)
                row.setContentsMargins(4, 1, 8, 1)
                row.addWidget(button)
                row.addStretch(1)
                item.setSizeHint(3, QSize(button.sizeHint().width() + 12, 30))
                self.tree.setItemWidget(item, 3, holder)
        if not self.problems:
            item = QTreeWidgetItem(["✓", "", "No problems: every block fits its input."])
            item.setForeground(0, QBrush(QColor("#3fa37a")))
            item.setForeground(2, QBrush(QColor(colors.node_subtext)))
            self.tree.addTopLevelItem(item)
        self.tree.resizeColumnToContents(1)
        self.tree.resizeColumnToContents(2)

    def fix_buttons(self) -> list[QPushButton]:
        return self.tree.findChildren(QPushButton)

    def _fix(self, fix, graph: str | None, problem=None) -> None:  # type: ignore[no-untyped-def]
        if graph:
            self.graph_activated.emit(graph)
        if problem is not None and inside_unit(problem) and fix is not problem.fix:
            self.unit_problem_activated.emit(problem)  # the fix applies inside the unit
        self.fix_requested.emit(fix)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        graph = item.data(0, GRAPH_ROLE)
        node = item.data(0, Qt.ItemDataRole.UserRole)  # read first: showing the graph
        index = item.data(0, INDEX_ROLE)               # rebuilds this list
        problem = self.problems[index] if index is not None and \
            0 <= index < len(self.problems) else None
        if graph:
            self.graph_activated.emit(graph)
        if problem is not None and inside_unit(problem):
            self.unit_problem_activated.emit(problem)
        elif node:
            self.node_activated.emit(node)
