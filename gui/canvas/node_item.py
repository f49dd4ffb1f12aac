"""NodeItem: how a `Node` looks on the canvas. It mirrors the engine node; it owns nothing.

A coloured header (the block's category) with the type and id, the output shape and the
parameter count in the body, input ports on the left, the output ports on the right (one
for most blocks; one per piece, labelled, for a Split), and a badge when the engine reports
a problem. Zoomed far out it draws only its silhouette.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QGraphicsItem, QGraphicsSceneHoverEvent, QStyle,
                               QStyleOptionGraphicsItem, QWidget)

from torchloom.engine.blocks import Block
from torchloom.engine.graph import Node

from .. import theme
from ..text import plain, rich
from ..units.code_status import code_status
from .edge_item import SMOOTH_ZOOM
from .style import format_count, format_shape, heat_rgb
from .training_mark import paint_training_mark, training_tip

WIDTH = 190.0
HEADER = 26.0
PORT_GAP = 20.0
PORT_RADIUS = 5.0
PORT_HIT = 11.0
BADGE_RADIUS = 9.0
STACK = 8.0  # how far a unit's card stack shows behind it
_TITLE_FONT = QFont()
_TITLE_FONT.setPointSizeF(9.5)
_TITLE_FONT.setBold(True)
_BODY_FONT = QFont()
_BODY_FONT.setPointSizeF(9.0)
_SMALL_FONT = QFont()
_SMALL_FONT.setPointSizeF(8.0)
_REPEAT_FONT = QFont()
_REPEAT_FONT.setPointSizeF(15.0)
_REPEAT_FONT.setBold(True)


#: Below this zoom a block draws only its silhouette: no type, id, shape or ports.
TEXT_ZOOM = 0.4


def node_height(port_count: int) -> float:
    """A block's body height: room for its input ports (two rows at least)."""
    return HEADER + 14 + max(2, port_count) * PORT_GAP


def node_bounds(port_count: int, is_unit: bool = False) -> QRectF:
    """What a block covers, in its own coordinates (ports, problem badge and a unit's card
    stack included): `NodeItem.boundingRect`, known before the item exists."""
    stack = STACK if is_unit else 0.0
    return QRectF(-PORT_RADIUS - 2, -BADGE_RADIUS - 2, WIDTH + 2 * PORT_RADIUS + 4 + stack,
                  node_height(port_count) + BADGE_RADIUS + 4 + stack)


def declared_outputs(block: Block | None, params: dict[str, Any]) -> list[str]:
    """A block's output port names from its parameters alone, before shapes are measured."""
    if block is None:
        return ["out"]
    try:
        return [p.name for p in block.output_ports(params)] or ["out"]
    except Exception:  # noqa: BLE001 - a damaged parameter: the shape pass reports it
        return ["out"]


class NodeItem(QGraphicsItem):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node
        block = node.block
        self.category = block.category if block else ""
        self.port_names: list[str] = [p.name for p in block.inputs] if block else ["in"]
        #: output port names; ["out"] for the one output of most blocks
        self.output_names = declared_outputs(block, node.resolved_params())
        self.shape_text = ""
        self.params_text = ""
        self.errors: list[Any] = []
        self.is_output = False
        #: the cost overlay: 0..1 on the heat scale and the number shown, or None when off
        self.cost_level: float | None = None
        self.cost_text = ""
        self.cost_tip = ""
        self.height = node_height(self.port_rows)
        self._bounds = node_bounds(self.port_rows, self.is_unit)  # asked on every paint
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self._hover_port: tuple[str, str | None] | None = None
        self.on_moved: Any = None

    # ---- what it shows -----------------------------------------------------------------

    @property
    def port_rows(self) -> int:
        """Rows of ports: inputs on the left, outputs on the right, whichever are more."""
        return max(len(self.port_names), len(self.output_names))

    @property
    def multi_output(self) -> bool:
        return self.output_names != ["out"]

    def set_outputs(self, names: list[str]) -> bool:
        """Show these output ports (a Split's pieces follow its input); True if changed,
        so the scene re-routes the wires that leave them."""
        names = list(names) or ["out"]
        if names == self.output_names:
            return False
        self.prepareGeometryChange()
        self.output_names = names
        self.height = node_height(self.port_rows)
        self._bounds = node_bounds(self.port_rows, self.is_unit)
        self.update()
        return True

    def set_info(self, spec: Any, num_params: int, errors: list[Any], is_output: bool,
                 outputs: dict[str, Any] | None = None) -> None:
        shape_text = format_shape(spec.shape) if spec is not None else "?"
        if outputs and list(outputs) != ["out"]:  # several outputs: each wire shows its own
            shapes = [format_shape(s.shape) for s in outputs.values()]
            shape_text = (f"{len(shapes)} × {shapes[0]}" if len(set(shapes)) == 1
                          else " · ".join(shapes))
        elif spec is not None and spec.dtype == "int64":
            shape_text += "  int64"
        params_text = format_count(num_params) + " params" if num_params else "no weights"
        if self.node.block is not None and self.node.block.is_input:
            params_text = "input"
        if "vocab" in self.node.params.values():  # the size the text data gave it
            size = self.node.vocab_size
            params_text = f"{size if size is not None else '?'} (vocab) · {params_text}"
        changed = (shape_text, params_text, [e.message for e in errors], is_output) != (
            self.shape_text, self.params_text, [e.message for e in self.errors], self.is_output)
        self.shape_text, self.params_text, self.errors = shape_text, params_text, list(errors)
        self.is_output = is_output
        if changed:
            self.setToolTip(self._tooltip())
            self.update()

    def set_cost(self, level: float | None, text: str = "", tip: str = "") -> None:
        if (level, text, tip) != (self.cost_level, self.cost_text, self.cost_tip):
            self.cost_level, self.cost_text, self.cost_tip = level, text, tip
            self.setToolTip(self._tooltip())
            self.update()

    def _tooltip(self) -> str:
        block = self.node.block
        lines = [f"<b>{rich(self.node.type)}</b> &nbsp;{rich(self.node.id)}"]
        if block is not None:
            lines.append(block.doc)
        if self.is_unit:
            lines.append("Double-click to open it; Ctrl+Shift+G ungroups it.")
        if training_tip(self.node):
            lines.append(str(training_tip(self.node)))
        if self.cost_tip:
            lines.append(self.cost_tip)
        for err in self.errors:
            colour = theme.current().error if err.severity == "error" else theme.current().warning
            lines.append(f"<span style='color:{colour}'>{rich(err.message)}</span>")
        return "<br>".join(lines)

    @property
    def severity(self) -> str | None:
        if any(e.severity == "error" for e in self.errors):
            return "error"
        return "warning" if self.errors else None

    # ---- geometry ----------------------------------------------------------------------

    @property
    def is_unit(self) -> bool:
        return self.node.type.startswith("unit:")

    @property
    def repeat(self) -> int:
        value = self.node.params.get("repeat", 1) if self.is_unit else 1
        return value if isinstance(value, int) and not isinstance(value, bool) else 1

    def title_text(self) -> str:
        """The header: a block's type, or a unit's name."""
        return plain(self.node.type[len("unit:"):] if self.is_unit else self.node.type)

    def repeat_text(self) -> str:
        """"×12" on a unit stacked 12 times (drawn large in the body, never elided)."""
        return f"×{self.repeat}" if self.repeat > 1 else ""

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:  # type: ignore[override]
        path = QPainterPath()
        path.addRoundedRect(QRectF(-PORT_RADIUS, 0, WIDTH + 2 * PORT_RADIUS, self.height), 6, 6)
        return path

    def input_port_pos(self, name: str | None) -> QPointF:
        """Scene position of an input port (the first one when `name` is unknown)."""
        index = self.port_names.index(name) if name in self.port_names else 0
        return self.mapToScene(QPointF(0, HEADER + 18 + index * PORT_GAP))

    def body_rect(self) -> QRectF:
        """The block's body in scene coordinates: what a wire or a label must not cross."""
        return self.mapRectToScene(QRectF(0, 0, WIDTH, self.height))

    def output_port_pos(self, name: str | None = None) -> QPointF:
        """Scene position of an output port (the first one when `name` is None or unknown:
        a stale wire still ends somewhere while its problem shows)."""
        index = self.output_names.index(name) if name in self.output_names else 0
        return self.mapToScene(QPointF(WIDTH, HEADER + 18 + index * PORT_GAP))

    def port_at(self, scene_pos: QPointF) -> tuple[str, str | None] | None:
        """("in", port name) or ("out", port name) when `scene_pos` is on a port; the one
        output of most blocks is ("out", None), as an edge from it names no port."""
        if self.node.block is None or not self.node.block.is_input:
            for name in self.port_names:
                if _near(self.input_port_pos(name), scene_pos):
                    return ("in", name)
        for name in self.output_names:
            if _near(self.output_port_pos(name), scene_pos):
                return ("out", name if self.multi_output else None)
        return None

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged and self.on_moved:
            self.on_moved(self)
        return super().itemChange(change, value)

    def hoverMoveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        port = self.port_at(event.scenePos())
        if port != self._hover_port:
            self._hover_port = port
            self.setCursor(Qt.CursorShape.CrossCursor if port else Qt.CursorShape.ArrowCursor)
            self.update()

    def hoverLeaveEvent(self, event: QGraphicsSceneHoverEvent) -> None:
        if self._hover_port is not None:
            self._hover_port = None
            self.update()

    # ---- painting ----------------------------------------------------------------------

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        colors = theme.current()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        header_color = theme.category_color(self.category)
        body = QRectF(0, 0, WIDTH, self.height)
        if lod < SMOOTH_ZOOM:  # a few pixels wide: two plain rectangles read the same
            self._paint_far(painter, colors, body, header_color, selected)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.is_unit:  # a unit reads as a stack of cards, deeper when repeated
            painter.setPen(QPen(QColor(colors.node_border), 1.0))
            painter.setBrush(QColor(colors.node_body))
            for step in ((2, 1) if self.repeat > 1 else (1,)):
                offset = STACK * step / 2
                painter.drawRoundedRect(body.translated(offset, offset), 6, 6)
        outline = QColor(colors.selected) if selected else QColor(colors.node_border)
        if self.severity == "error":
            outline = QColor(colors.error) if not selected else outline
        painter.setPen(QPen(outline, 2.0 if selected or self.severity == "error" else 1.0))
        painter.setBrush(QColor(colors.node_body))
        painter.drawRoundedRect(body, 6, 6)
        header = QPainterPath()
        header.addRoundedRect(QRectF(0.5, 0.5, WIDTH - 1, HEADER), 5.5, 5.5)
        square = QPainterPath()
        square.addRect(QRectF(0.5, HEADER / 2, WIDTH - 1, HEADER / 2))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(header_color)
        painter.drawPath(header.united(square))
        if lod < TEXT_ZOOM:  # far out: the silhouette is enough, and much cheaper
            self._paint_badge(painter, colors)
            return
        small = QFontMetricsF(_SMALL_FONT)
        ident = small.elidedText(plain(self.node.id), Qt.TextElideMode.ElideMiddle,
                                 WIDTH * 0.38)
        room = WIDTH - 20 - small.horizontalAdvance(ident) - 8  # the type name goes first
        painter.setFont(_TITLE_FONT)
        painter.setPen(QColor("#ffffff"))
        metrics = QFontMetricsF(_TITLE_FONT)
        title = metrics.elidedText(self.title_text(), Qt.TextElideMode.ElideRight, room)
        painter.drawText(QRectF(10, 0, WIDTH - 20, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
        painter.setFont(_SMALL_FONT)
        painter.setPen(QColor(255, 255, 255, 200))
        painter.drawText(QRectF(10, 0, WIDTH - 20, HEADER),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, ident)
        self._paint_body(painter, colors)
        paint_training_mark(painter, self.node, WIDTH, self.height, HEADER, colors)
        self._paint_ports(painter, colors)
        self._paint_badge(painter, colors)

    def _paint_far(self, painter: QPainter, colors: theme.CanvasColors, body: QRectF,
                   header_color: QColor, selected: bool) -> None:
        """The silhouette far out (a fitted graph of thousands of blocks): body, header and
        problem colour, no rounded corners, antialiasing, text or ports."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        outline = QColor(colors.selected if selected else colors.error
                         if self.severity == "error" else colors.node_border)
        pen = QPen(outline, 2 if selected or self.severity == "error" else 1)
        pen.setCosmetic(True)  # in pixels: still visible this far out
        painter.setPen(pen)
        painter.setBrush(QColor(colors.node_body))
        painter.drawRect(body)
        painter.fillRect(QRectF(0, 0, WIDTH, HEADER), header_color)
        if self.severity is not None:
            self._paint_badge(painter, colors)

    def _output_label_width(self) -> float:
        """Room for the widest output port name (a recurrent block's ``sequence`` is wider
        than a Split's ``out0``), so a name is never cut and the shape text stops before it."""
        metrics = QFontMetricsF(_SMALL_FONT)
        return max(30.0, *(metrics.horizontalAdvance(n) + 2 for n in self.output_names))

    def _paint_body(self, painter: QPainter, colors: theme.CanvasColors) -> None:
        left = 16.0 if len(self.port_names) <= 1 else 58.0
        if self.cost_level is not None:  # a tinted body and a bar as long as the cost
            r, g, b = heat_rgb(self.cost_level)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(r, g, b, 60))
            painter.drawRect(QRectF(1, HEADER, WIDTH - 2, self.height - HEADER - 1))
            painter.setBrush(QColor(r, g, b))
            painter.drawRect(QRectF(1, self.height - 6, max(4.0, (WIDTH - 2) *
                                                            self.cost_level), 5))
        painter.setFont(_BODY_FONT)
        painter.setPen(QColor(colors.node_text))
        right = self._output_label_width() + 14.0 if self.multi_output else 14.0
        text_rect = QRectF(left, HEADER + 6, WIDTH - left - right, 18)
        status = code_status(self.node, self.errors)  # a Code block says why it cannot run
        headline = self.shape_text or "…"
        if status is not None:
            painter.setPen(QColor(colors.error))
            headline = QFontMetricsF(_BODY_FONT).elidedText(
                plain(status[0]), Qt.TextElideMode.ElideRight, text_rect.width())
        if status is None:
            headline = QFontMetricsF(_BODY_FONT).elidedText(
                plain(headline), Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         headline)
        if self.repeat_text():
            painter.setFont(_REPEAT_FONT)
            painter.setPen(theme.category_color(self.category))
            painter.drawText(QRectF(left, HEADER + 4, WIDTH - left - 12, 36),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             self.repeat_text())
        painter.setFont(_SMALL_FONT)
        painter.setPen(QColor(colors.node_subtext))
        sub = self.params_text + ("  ·  output" if self.is_output else "")
        if status is not None:
            sub = plain(status[1])
        if self.cost_level is not None:
            sub = self.cost_text
        painter.drawText(QRectF(left, HEADER + 24, WIDTH - left - right, 16),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, plain(sub))

    def _paint_ports(self, painter: QPainter, colors: theme.CanvasColors) -> None:
        port_color = QColor(colors.port)
        is_input = self.node.block is not None and self.node.block.is_input
        names = [] if is_input else self.port_names
        painter.setFont(_SMALL_FONT)
        for i, name in enumerate(names):
            centre = QPointF(0, HEADER + 18 + i * PORT_GAP)
            hovered = self._hover_port == ("in", name)
            painter.setPen(QPen(QColor(colors.node_body), 2))
            painter.setBrush(QColor(colors.selected) if hovered else port_color)
            painter.drawEllipse(centre, PORT_RADIUS + (1.5 if hovered else 0), PORT_RADIUS)
            if len(names) > 1:
                painter.setPen(QColor(colors.node_subtext))
                painter.drawText(QRectF(10, centre.y() - 8, 48, 16),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        for i, name in enumerate(self.output_names):
            centre = QPointF(WIDTH, HEADER + 18 + i * PORT_GAP)
            hovered = self._hover_port == ("out", name if self.multi_output else None)
            painter.setPen(QPen(QColor(colors.node_body), 2))
            painter.setBrush(QColor(colors.selected) if hovered else theme.category_color(
                self.category))
            painter.drawEllipse(centre, PORT_RADIUS + (1.5 if hovered else 0), PORT_RADIUS)
            if self.multi_output:
                painter.setPen(QColor(colors.node_subtext))
                width = self._output_label_width()
                painter.drawText(QRectF(WIDTH - 10 - width, centre.y() - 8, width, 16),
                                 Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                                 name)

    def _paint_badge(self, painter: QPainter, colors: theme.CanvasColors) -> None:
        severity = self.severity
        if severity is None:
            return
        centre = QPointF(WIDTH - 2, 0)
        painter.setPen(QPen(QColor(colors.node_body), 2))
        painter.setBrush(QColor(colors.error if severity == "error" else colors.warning))
        painter.drawEllipse(centre, BADGE_RADIUS, BADGE_RADIUS)
        painter.setPen(QColor("#ffffff"))
        font = QFont(_TITLE_FONT)
        painter.setFont(font)
        painter.drawText(QRectF(centre.x() - BADGE_RADIUS, centre.y() - BADGE_RADIUS,
                                2 * BADGE_RADIUS, 2 * BADGE_RADIUS), Qt.AlignmentFlag.AlignCenter,
                         "!")


def _near(a: QPointF, b: QPointF) -> bool:
    return (a.x() - b.x()) ** 2 + (a.y() - b.y()) ** 2 <= PORT_HIT ** 2
