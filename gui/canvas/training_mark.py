"""How a block that trains differently looks on the canvas: a frozen block is greyed and
hatched with a small lock in its corner; a block with its own learning-rate scale carries
a small ``lr ×0.1`` tag. Both read the engine node (`Node.trainable`, `Node.lr_scale`), so
an undo redraws them like any other change of the node."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen

from torchloom.engine.graph import Node

from .. import theme

_TAG_FONT = QFont()
_TAG_FONT.setPointSizeF(7.5)
_TAG_FONT.setBold(True)


def training_tip(node: Node) -> str | None:
    """The tooltip line for a frozen or rate-scaled block; None for one that trains as usual."""
    if not node.trainable:
        return "Frozen: its weights do not train (untick Trainable to train them)."
    if node.lr_scale != 1:
        return f"Learns at {node.lr_scale:g} × the run's learning rate."
    return None


def paint_training_mark(painter: QPainter, node: Node, width: float, height: float,
                        header: float, colors: theme.CanvasColors) -> None:
    """Over a block already painted (`width` × `height`, its header `header` tall)."""
    if not node.trainable:
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(128, 128, 128, 110))  # the header's colour, greyed
        painter.drawRoundedRect(QRectF(0.5, 0.5, width - 1, header), 5.5, 5.5)
        hatch = QColor(colors.node_subtext)
        hatch.setAlpha(70)
        painter.setBrush(QBrush(hatch, Qt.BrushStyle.BDiagPattern))
        painter.drawRect(QRectF(1, header, width - 2, height - header - 1))
        _paint_lock(painter, QPointF(width - 16, height - 14), QColor(colors.node_subtext))
        painter.restore()
    elif node.lr_scale != 1:
        painter.save()
        painter.setFont(_TAG_FONT)
        painter.setPen(QColor(colors.node_subtext))
        painter.drawText(QRectF(width - 70, height - 20, 62, 16),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"lr ×{node.lr_scale:g}")
        painter.restore()


def _paint_lock(painter: QPainter, centre: QPointF, color: QColor) -> None:
    """A padlock 10 px wide: a shackle over a body."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(color, 1.6))
    shackle = QPainterPath()
    shackle.moveTo(centre.x() - 3.2, centre.y())
    shackle.lineTo(centre.x() - 3.2, centre.y() - 3)
    shackle.arcTo(QRectF(centre.x() - 3.2, centre.y() - 6.4, 6.4, 6.4), 180, -180)
    shackle.lineTo(centre.x() + 3.2, centre.y())
    painter.drawPath(shackle)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawRoundedRect(QRectF(centre.x() - 5, centre.y(), 10, 7.5), 1.5, 1.5)
