"""The far view of a big graph: one item draws every block and wire.

Fitted in a window, a graph of thousands of blocks is a few pixels per block, and drawing it
item by item costs several Python calls per block and per wire: about 1.5 s a frame for
10,000 blocks. Below `OVERVIEW_ZOOM`, on a graph of at least `OVERVIEW_NODES` blocks, the
scene makes its items fully transparent (Qt then skips them without a call into Python),
and `Overview` draws what they would show from arrays it keeps: the wires as paths (sound,
broken, selected), the blocks as rectangles grouped by colour, each group one call. The
items keep their places and their selection. Qt does not hit-test transparent items, so
the overview answers clicks (select a block, Ctrl toggles) and the view's rubber band
(`select_in`) from the same arrays. Any change the scene reports while the overview shows
schedules one rebuild of the arrays for when the event loop is next idle. A block is
dragged or wired once zoomed in, where it is big enough to aim at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsSceneMouseEvent,
                               QStyleOptionGraphicsItem, QWidget)

from .. import theme
from .node_item import HEADER

if TYPE_CHECKING:
    from .scene import CanvasScene

#: Below this zoom a block is at most about 20 pixels wide: its text and ports are gone
#: anyway, and the silhouette is all a person can see.
OVERVIEW_ZOOM = 0.11
#: Smaller graphs paint fast enough item by item, with every detail.
OVERVIEW_NODES = 1500


def wants_overview(zoom: float, nodes: int) -> bool:
    return zoom < OVERVIEW_ZOOM and nodes >= OVERVIEW_NODES


class Overview(QGraphicsItem):
    """Draws the scene's blocks and wires far out (see the module doc)."""

    def __init__(self, scene: "CanvasScene") -> None:
        super().__init__()
        self.canvas = scene
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setAcceptHoverEvents(False)
        self.setVisible(False)
        self._pending = False
        self._bounds = QRectF()
        self._ids: list[str] = []
        self._bodies: list[QRectF] = []
        self._headers: dict[str, list[QRectF]] = {}
        self._selected: list[QRectF] = []
        self._errors: list[QRectF] = []
        self._wires = QPainterPath()
        self._broken = QPainterPath()
        self._selected_wires = QPainterPath()

    def show_overview(self, on: bool) -> None:
        if on:
            self.rebuild()
        self.setVisible(on)

    def mark_stale(self) -> None:
        """Something in the scene changed: rebuild once the event loop is idle (a drag or
        a layout reports many changes in a row)."""
        if self.isVisible() and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._rebuild_later)

    def _rebuild_later(self) -> None:
        self._pending = False
        if self.isVisible() and self.scene() is not None:
            self.rebuild()

    def boundingRect(self) -> QRectF:
        return self._bounds if self.isVisible() else QRectF()

    def rebuild(self) -> None:
        ids: list[str] = []
        bodies: list[QRectF] = []
        headers: dict[str, list[QRectF]] = {}
        selected: list[QRectF] = []
        errors: list[QRectF] = []
        for node_id, item in self.canvas.node_items.items():
            body = item.body_rect()
            ids.append(node_id)
            bodies.append(body)
            colour = theme.category_color(item.category).name()
            headers.setdefault(colour, []).append(QRectF(body.x(), body.y(), body.width(),
                                                         HEADER))
            if item.isSelected():
                selected.append(body)
            elif item.severity == "error":
                errors.append(body)
        wires, broken, chosen = QPainterPath(), QPainterPath(), QPainterPath()
        for edge in self.canvas.edge_items.values():
            path = edge.sceneTransform().map(edge.path())
            (chosen if edge.isSelected() else broken if edge.broken else wires).addPath(path)
        bounds = QRectF()
        for rect in bodies:
            bounds = bounds.united(rect)
        for path in (wires, broken, chosen):
            if not path.isEmpty():
                bounds = bounds.united(path.boundingRect())
        self.prepareGeometryChange()
        self._bounds = bounds
        self._ids, self._bodies, self._headers = ids, bodies, headers
        self._selected, self._errors = selected, errors
        self._wires, self._broken, self._selected_wires = wires, broken, chosen
        self.update()

    # ---- what Qt cannot hit-test on transparent items ------------------------------------

    def node_at(self, pos: QPointF) -> str | None:
        for node_id, body in zip(reversed(self._ids), reversed(self._bodies)):
            if body.contains(pos):
                return node_id
        return None

    def select_in(self, area: QRectF, add: bool = False) -> None:
        """The rubber band's choice: every block its rectangle touches."""
        chosen = [i for i, body in zip(self._ids, self._bodies) if body.intersects(area)]
        self.canvas.select_nodes(([*self.canvas.selected_node_ids()] if add else []) + chosen)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        node_id = self.node_at(event.scenePos())
        if node_id is None:
            event.ignore()  # empty canvas: the view's rubber band starts
            return
        chosen = self.canvas.selected_node_ids()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            chosen = [i for i in chosen if i != node_id] if node_id in chosen \
                else [*chosen, node_id]
        else:
            chosen = [node_id]
        self.canvas.select_nodes(chosen)
        event.accept()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colors = theme.current()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for path, colour, width in ((self._wires, colors.wire, 1),
                                    (self._broken, colors.error, 1),
                                    (self._selected_wires, colors.selected, 2)):
            if not path.isEmpty():
                painter.setPen(_pen(colour, width))
                painter.drawPath(path)
        painter.setPen(_pen(colors.node_border, 1))
        painter.setBrush(QColor(colors.node_body))
        painter.drawRects(self._bodies)
        painter.setPen(Qt.PenStyle.NoPen)
        for colour, rects in self._headers.items():
            painter.setBrush(QColor(colour))
            painter.drawRects(rects)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for rects, colour in ((self._errors, colors.error), (self._selected, colors.selected)):
            if rects:
                painter.setPen(_pen(colour, 2))
                painter.drawRects(rects)


def _pen(colour: str, width: int) -> QPen:
    pen = QPen(QColor(colour), width)
    pen.setCosmetic(True)  # in pixels: still visible this far out
    return pen
