"""EdgeItem: a curved wire from an output port to an input port, labelled with the shape of
the tensor it carries."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QColor, QFont, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPen)
from PySide6.QtWidgets import QGraphicsItem, QStyle, QStyleOptionGraphicsItem, QWidget

from torchloom.engine.graph import Edge

from .. import theme
from .routing import route

if TYPE_CHECKING:
    from .node_item import NodeItem

#: Which items a rectangle meets, by their bounding rectangles (cheap) rather than their
#: shapes (Qt's default, which builds each wire's outline per query).
BOUNDS = Qt.ItemSelectionMode.IntersectsItemBoundingRect

_LABEL_FONT = QFont()
_LABEL_FONT.setPointSizeF(8.0)
_METRICS = QFontMetricsF(_LABEL_FONT)
#: Below this zoom a wire's shape label is not drawn (too small to read).
LABEL_ZOOM = 0.55
#: Below this zoom wires are drawn without antialiasing: a hair-thin line looks the same,
#: and a fitted 10,000-block graph paints thousands of them.
SMOOTH_ZOOM = 0.3


def wire_path(start: QPointF, end: QPointF) -> QPainterPath:
    """The wire between two points with nothing in its way (a wire being dragged)."""
    return route(start, end)[0]


@functools.lru_cache(maxsize=64)
def _wire_pen(colour: str, selected: bool) -> QPen:
    """The pen of a wire: one per colour, not one per wire per paint (a fitted graph of
    thousands of wires paints them all)."""
    return QPen(QColor(colour), 2.6 if selected else 1.8, Qt.PenStyle.SolidLine,
                Qt.PenCapStyle.RoundCap)


def label_width(text: str) -> float:
    """How wide a wire's shape label draws (the layout leaves room for it)."""
    return _METRICS.horizontalAdvance(text) + 12 if text else 0.0


class EdgeItem(QGraphicsItem):
    def __init__(self, edge: Edge, src: "NodeItem", dst: "NodeItem", port: str | None) -> None:
        super().__init__()
        self.edge = edge
        self.src, self.dst, self.port = src, dst, port
        self.label = ""
        self.is_int = False
        self.broken = False
        self._path = QPainterPath()
        self._label_at: QPointF | None = None
        self._label_rect = QRectF()
        self._bounds = QRectF()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        self.update_path()

    def set_info(self, label: str, is_int: bool, broken: bool) -> None:
        if (label, is_int, broken) != (self.label, self.is_int, self.broken):
            self.prepareGeometryChange()
            self.label, self.is_int, self.broken = label, is_int, broken
            self._place_label()
            self.update()

    def update_path(self) -> None:
        """Re-route: after either end moved, or a block moved into or out of the way."""
        self.prepareGeometryChange()
        self._path, self._label_at = route(self.src.output_port_pos(self.edge.from_port),
                                           self.dst.input_port_pos(self.port), self._blocks)
        self._place_label()

    @property
    def routed(self) -> bool:
        """Whether the wire goes round blocks (an arc or a channel), not straight."""
        return self._label_at is not None

    def _blocks(self, rect: QRectF) -> list[QRectF]:
        scene = self.scene()
        if scene is None:
            return []
        return [item.body_rect() for item in scene.items(rect, BOUNDS)
                if getattr(item, "body_rect", None) is not None
                and item is not self.src and item is not self.dst
                and item.body_rect().intersects(rect)]

    def label_scene_rect(self) -> QRectF:
        """Where the shape label shows, in scene coordinates (empty: none)."""
        return self.mapRectToScene(self._label_rect) if self.label else QRectF()

    def _place_label(self) -> None:
        """Where the label goes, and so what the wire covers (asked on every paint and
        index query, so kept rather than recomputed)."""
        self._label_rect = self._label_box()
        self._bounds = self._path.boundingRect().adjusted(-6, -6, 6, 6).united(self._label_rect)

    def _label_box(self) -> QRectF:
        if not self.label:
            return QRectF()
        width = label_width(self.label)
        if self._label_at is not None:  # on an arc's or a channel's level run
            at = self._label_at
            return QRectF(at.x() - width / 2, at.y() - 9, width, 18)
        mid = self._path.pointAtPercent(0.5)
        start, end = self._path.pointAtPercent(0), self._path.pointAtPercent(1)
        short = abs(end.x() - start.x()) < width + 16 and abs(end.y() - start.y()) < 40
        lift = 13 if short else 0  # a short wire carries its label above it, clear of ports
        return QRectF(mid.x() - width / 2, mid.y() - 9 - lift, width, 18)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def path(self) -> QPainterPath:
        """The wire's route in item coordinates (the overview draws it far out)."""
        return self._path

    def shape(self) -> QPainterPath:  # type: ignore[override]
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        path = stroker.createStroke(self._path)
        path.addRect(self._label_rect)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colors = theme.current()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        name = colors.selected if selected else (colors.error if self.broken else
                                                 colors.wire_int if self.is_int else colors.wire)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, lod >= SMOOTH_ZOOM)
        painter.setPen(_wire_pen(name, selected))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self._path)
        if not self.label or lod < LABEL_ZOOM:
            return
        colour = QColor(name)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(QColor(colors.label_background))
        painter.drawRoundedRect(self._label_rect, 9, 9)
        painter.setFont(_LABEL_FONT)
        painter.setPen(QColor(colors.error if self.broken else colors.label_text))
        painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)


class DraftWire(QGraphicsItem):
    """The wire that follows the mouse while a person drags from a port."""

    def __init__(self, start: QPointF, from_output: bool) -> None:
        super().__init__()
        self.start = start
        self.from_output = from_output
        self._path = QPainterPath()
        self.setZValue(5)
        self.move_to(start)

    def move_to(self, pos: QPointF) -> None:
        self.prepareGeometryChange()
        a, b = (self.start, pos) if self.from_output else (pos, self.start)
        self._path = wire_path(a, b)

    def boundingRect(self) -> QRectF:
        return self._path.boundingRect().adjusted(-4, -4, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(theme.current().selected), 2, Qt.PenStyle.DashLine))
        painter.drawPath(self._path)
