"""CanvasView: the window onto the scene. Zoom around the cursor, pan with the middle
button or Space+drag, fit with F, add blocks by dropping from the palette or with Tab."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (QColor, QContextMenuEvent, QCursor, QDragEnterEvent, QDragMoveEvent,
                           QDropEvent, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent)
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsView, QWidget

from torchloom.engine.layout import FIT_MARGIN

from .. import theme
from .edge_item import LABEL_ZOOM
from .quick_add import QuickAdd
from .scene import CanvasScene

BLOCK_MIME = "application/x-torchloom-block"
MIN_ZOOM, MAX_ZOOM = 0.08, 3.0


class CanvasView(QGraphicsView):
    #: A block type to add at a scene position (a drop from the palette).
    add_block_requested = Signal(str, QPointF)
    #: Tab's choice: a block type to add after the one selected block, else at the scene
    #: position (the cursor's when Tab was pressed), so a chain can be typed.
    add_next_requested = Signal(str, QPointF)
    #: Right-click: the global position for the menu and the scene position under it.
    context_menu_requested = Signal(QPoint, QPointF)

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setAccessibleName("Canvas")
        self.setAccessibleDescription("The model's blocks and wires. Tab adds a block, Delete "
                                      "removes the selection, F fits the graph to the view")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._fit_pending = False
        self._space = False
        self._popup: QuickAdd | None = None
        self._band: QRectF | None = None  # the rubber band's scene rectangle, while drawn
        self.rubberBandChanged.connect(self._rubber_band)
        #: Backspace or Esc on an opened unit's canvas: back out (gui.units); None: no-op.
        self.on_back: Any = None

    @property
    def canvas(self) -> CanvasScene:
        return self.scene()  # type: ignore[return-value]

    # ---- zoom and pan ------------------------------------------------------------------

    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self._zoomed()

    def _zoomed(self) -> None:
        """Every change of zoom comes here: far out, a big graph draws as an overview."""
        self.canvas.set_overview(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._fit_pending = False
        steps = event.angleDelta().y() / 120.0
        if steps:
            target = self.zoom() * math.pow(1.15, steps)
            target = min(max(target, MIN_ZOOM), MAX_ZOOM)
            self.scale(target / self.zoom(), target / self.zoom())
            self._zoomed()
        event.accept()

    def _rubber_band(self, rect: QRect, start: QPointF, end: QPointF) -> None:
        """Far out on a big graph the blocks are drawn by the overview, which Qt's rubber
        band cannot see: on release, the overview selects what the band covered."""
        if not self.canvas.overview.isVisible():
            self._band = None
            return
        if not rect.isNull():
            self._band = QRectF(start, end).normalized()
            return
        if self._band is not None:
            add = bool(QApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier)
            self.canvas.overview.select_in(self._band, add)
            self._band = None

    def fit(self) -> None:
        """F: the whole graph in the view, however small that makes it."""
        self._fit_pending = False
        self._fit(readable=False)

    def fit_readable(self) -> None:
        """On opening a project: the whole graph if it fits at a zoom where the wires'
        shape labels show, else its start (top left) at that zoom. Until a person zooms,
        pans or clicks, this is redone as the view gets its size (a view that is not laid
        out yet is tiny, which is how a project used to open as a speck)."""
        self._fit_pending = True
        self._fit(readable=True)

    def _fit(self, readable: bool) -> None:
        items = self.canvas.itemsBoundingRect()
        if items.isEmpty():
            self.resetTransform()
            self._zoomed()
            self.centerOn(0, 0)
            return
        margin = FIT_MARGIN / 2  # the same margin auto-layout sizes the graph for
        framed = items.adjusted(-margin, -margin, margin, margin)
        self.fitInView(framed, Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()
        if self.zoom() > 1.2:
            self.set_zoom(1.2)
        if readable and self.zoom() < LABEL_ZOOM:
            self.set_zoom(LABEL_ZOOM * 1.02)  # a hair above: float error must not hide labels
            seen = self.mapToScene(self.viewport().rect()).boundingRect()
            # its start where it does not fit, its middle where it does (a long single row)
            x = (items.center().x() if framed.width() <= seen.width()
                 else framed.left() + seen.width() / 2)
            y = (items.center().y() if framed.height() <= seen.height()
                 else framed.top() + seen.height() / 2)
            self.centerOn(x, y)
            return
        self.centerOn(items.center())

    def resizeEvent(self, event: Any) -> None:  # type: ignore[override]
        super().resizeEvent(event)
        if self._fit_pending:
            self._fit(readable=True)

    def center_on_node(self, node_id: str) -> None:
        item = self.canvas.node_items.get(node_id)
        if item is not None:
            self._fit_pending = False
            self.centerOn(item.sceneBoundingRect().center())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._fit_pending = False
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            now = event.position().toPoint()
            delta = now - self._pan_from
            self._pan_from = now
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self._fit_pending = False
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if key == Qt.Key.Key_F and not event.modifiers():
            self.fit()
            return
        if key == Qt.Key.Key_Tab:
            self.open_quick_add()
            return
        if key in (Qt.Key.Key_Backspace, Qt.Key.Key_Escape) and self.on_back is not None \
                and not event.modifiers():
            self.on_back()
            return
        super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.context_menu_requested.emit(event.globalPos(), self.mapToScene(event.pos()))
        event.accept()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:  # noqa: A002 - Qt's name
        return False  # Tab belongs to the canvas (quick add), not to focus navigation

    # ---- adding blocks -----------------------------------------------------------------

    def mouse_scene_pos(self) -> QPointF | None:
        """The scene position under the mouse, or None when the mouse is not over the
        canvas (on a panel, a menu, another window or the canvas's own overlays)."""
        where = QCursor.pos()
        under = QApplication.widgetAt(where)  # None where Qt knows no window of ours
        local = self.viewport().mapFromGlobal(where)
        if under not in (None, self.viewport()) or not self.isVisible() \
                or not self.viewport().rect().contains(local):
            return None
        return self.mapToScene(local)

    def cursor_scene_pos(self) -> QPointF:
        """Under the mouse, or the middle of the view when the mouse is elsewhere."""
        pos = self.mouse_scene_pos()
        return pos if pos is not None else self.mapToScene(self.viewport().rect().center())

    def open_quick_add(self) -> "QuickAdd":
        pos = self.cursor_scene_pos()

        def chosen(type_name: str) -> None:
            # The keys go back to the canvas, so the next Tab continues the chain (a closed
            # popup can otherwise stay the active window and swallow them).
            self.window().activateWindow()
            self.setFocus()
            self.add_next_requested.emit(type_name, pos)

        self._popup = QuickAdd(self, chosen)
        local = self.mapFromScene(pos)
        self._popup.move(self.viewport().mapToGlobal(local))
        self._popup.show()
        self._popup.search.setFocus()
        return self._popup

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if event.mimeData().hasFormat(BLOCK_MIME):
            type_name = bytes(event.mimeData().data(BLOCK_MIME).data()).decode()
            self.add_block_requested.emit(type_name, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
        else:
            super().dropEvent(event)

    # ---- the grid ----------------------------------------------------------------------

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        colors = theme.current()
        painter.fillRect(rect, QColor(colors.background))
        zoom = self.zoom()
        for step, colour, min_zoom in ((24, colors.grid_minor, 0.55),
                                       (120, colors.grid_major, 0.12)):
            if zoom < min_zoom:
                continue
            painter.setPen(QPen(QColor(colour), 0))
            left = math.floor(rect.left() / step) * step
            top = math.floor(rect.top() / step) * step
            lines = []
            x = left
            while x < rect.right():
                lines.append((QPointF(x, rect.top()), QPointF(x, rect.bottom())))
                x += step
            y = top
            while y < rect.bottom():
                lines.append((QPointF(rect.left(), y), QPointF(rect.right(), y)))
                y += step
            for a, b in lines:
                painter.drawLine(a, b)

