"""The confusion matrix as a heatmap a person can point at: true class down the side,
predicted class along the bottom, the count written in every cell, and a click on a cell
asking for its samples.

Cells are coloured by their share of the true class's samples (the row), not by the raw
count: with unbalanced classes a rare class's mistakes would otherwise all look empty. The
count written in the cell is the raw number.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from .. import theme
from .cell_font import fitted_font, min_cell, text_size

#: Beyond this many classes the counts are not written at all; the colours stay.
MAX_WRITTEN = 20
#: The most room (pixels) the matrix asks for so that its counts fit; past it (many classes,
#: big counts) the cells get what there is and a count that does not fit is not written.
MAX_ROOM = (460, 300)
#: Beyond this many classes only every n-th class name is written on the axes.
MAX_TICKS = 24


def ramp(name: str) -> list[tuple[float, str]]:
    """The heatmap's colours: from the panel's own background to the theme's accent, so an
    empty cell reads as empty in either theme."""
    if name == "light":
        return [(0.0, "#f4f5f7"), (0.5, "#8fb0ee"), (1.0, "#1f4fb8")]
    return [(0.0, "#262a31"), (0.5, "#3d6fd9"), (1.0, "#d8e6ff")]


def short_names(classes: list[str]) -> list[str]:
    """Names without the prefix they all share, when that leaves short distinct names;
    otherwise the class numbers."""
    prefix = os.path.commonprefix(classes) if len(classes) > 1 else ""
    rest = [name[len(prefix):].strip() for name in classes]
    if all(rest) and len(set(rest)) == len(rest) and max(map(len, rest)) <= 4:
        return rest
    return [str(i) for i in range(len(classes))]


def luminance(rgb: Any) -> float:
    r, g, b = (float(c) / 255.0 for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


class ConfusionView(QWidget):
    """`cell_clicked(true, predicted)` when a cell is clicked."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.plot = pg.PlotWidget()
        self.plot.setAccessibleName("Confusion matrix")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        item = self.plot.getPlotItem()
        item.invertY(True)  # the first class on top, like a table
        item.setLabel("left", "true")
        item.setLabel("bottom", "predicted")
        self.vb = item.getViewBox()
        self.image = pg.ImageItem()
        self.plot.addItem(self.image)
        self.frame = pg.QtWidgets.QGraphicsRectItem(0, 0, 1, 1)
        self.frame.setZValue(10)
        self.frame.hide()
        self.plot.addItem(self.frame)
        self.texts: list[Any] = []
        layout.addWidget(self.plot, 1)
        self.hover = QLabel(" ")
        self.hover.setObjectName("muted")
        self.hover.setWordWrap(True)
        layout.addWidget(self.hover)
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.classes: list[str] = []
        #: What the line under the matrix says while the mouse is elsewhere.
        self.idle = "Click a cell to see its samples."
        self.vb.sigResized.connect(self._resized)  # the names may fit now, or not
        self.plot.scene().sigMouseMoved.connect(self._moved)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.apply_theme()

    def apply_theme(self) -> None:
        colors = theme.current()
        self.plot.setBackground(colors.background)
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(colors.node_subtext)
            item.getAxis(axis).setTextPen(colors.node_text)
        self.frame.setPen(self.pg.mkPen(colors.selected, width=2))
        self.lut = self.pg.ColorMap(*zip(*ramp(theme.current_name()))).getLookupTable(
            0.0, 1.0, 256)
        if self.matrix.size:
            self.set_matrix(self.matrix, self.classes)

    # ---- content ---------------------------------------------------------------------

    def set_matrix(self, matrix: np.ndarray, classes: list[str]) -> None:
        """`matrix[true, predicted]` counts, one name per class."""
        self.matrix = np.asarray(matrix, dtype=np.int64)
        self.classes = list(classes)
        k = self.matrix.shape[0]
        rows = self.matrix.sum(axis=1, keepdims=True)
        share = self.matrix / np.maximum(rows, 1)
        # ImageItem indexes [x, y]: x is the predicted class (column), y the true class.
        self.image.setImage(share.T.astype(np.float32), levels=(0.0, 1.0), lut=self.lut)
        self.image.setRect(0, 0, k, k)
        for text in self.texts:
            self.plot.removeItem(text)
        self.texts = []
        if k <= MAX_WRITTEN:
            for t in range(k):
                for p in range(k):
                    level = int(round(float(share[t, p]) * 255))
                    dark = luminance(self.lut[level]) > 0.55
                    text = self.pg.TextItem(str(int(self.matrix[t, p])), anchor=(0.5, 0.5),
                                            color="#111418" if dark else "#f4f6fa")
                    text.setPos(p + 0.5, t + 0.5)
                    self.plot.addItem(text)
                    self.texts.append(text)
        self._update_ticks()
        self.vb.setRange(xRange=(0, k), yRange=(0, k), padding=0.02)
        self._ask_room()
        self._fit_texts()
        self.frame.hide()
        self.hover.setText(self.idle)

    def widest_count(self) -> str:
        """The written count that takes the most room (not always the biggest number)."""
        counts = [str(int(n)) for n in np.unique(self.matrix)] or ["0"]
        return max(counts, key=lambda n: text_size(self.font(), n)[0])

    def cell_size(self) -> tuple[float, float]:
        """One cell's (width, height) in pixels as it is drawn now."""
        a = self.vb.mapViewToScene(QPointF(0, 0))
        b = self.vb.mapViewToScene(QPointF(1, 1))
        return abs(b.x() - a.x()), abs(b.y() - a.y())

    def _ask_room(self) -> None:
        """A minimum size for the plot at which the widest count fits its cell at a
        comfortable font (ROOM_POINTS, capped at MAX_ROOM): the splitter column then cannot
        squeeze the cells below what their numbers need."""
        k = self.matrix.shape[0]
        if not k or k > MAX_WRITTEN:
            self.plot.setMinimumSize(0, 0)
            return
        cell_w, cell_h = min_cell(self.font(), self.widest_count())
        # the axes, their labels and the view's padding around the cells
        extra_w = self.plot.width() - self.vb.width() if self.vb.width() > 0 else 90.0
        extra_h = self.plot.height() - self.vb.height() if self.vb.height() > 0 else 50.0
        width = min(MAX_ROOM[0], int(np.ceil(k * 1.04 * cell_w + extra_w)) + 1)
        height = min(MAX_ROOM[1], int(np.ceil(k * 1.04 * cell_h + extra_h)) + 1)
        self.plot.setMinimumSize(width, height)

    def _fit_texts(self) -> None:
        """Every count in the same font, the largest at which the widest count fits its cell
        with a margin; none written if even the smallest does not fit."""
        if not self.texts:
            return
        font = fitted_font(self.font(), self.widest_count(), *self.cell_size())
        for text in self.texts:
            if font is not None:
                text.setFont(font)
            text.setVisible(font is not None)

    def _update_ticks(self) -> None:
        """Class names on both axes; along the bottom, where the cells are too narrow for
        the names, the names without their common prefix ("value 3" -> "3") or the class
        numbers. The left axis always has the names (the hover line too)."""
        k = len(self.classes)
        step = max(1, int(np.ceil(k / MAX_TICKS)))
        full = [self._short(name) for name in self.classes]
        metrics = QFontMetrics(self.plot.getPlotItem().getAxis("bottom").font())
        cell = self.vb.width() / max(k, 1) * step
        bottom = full
        if k and max(metrics.horizontalAdvance(n) for n in full) + 2 > cell:
            bottom = short_names(self.classes)
        item = self.plot.getPlotItem()
        item.getAxis("bottom").setTicks([[(i + 0.5, bottom[i]) for i in range(0, k, step)]])
        item.getAxis("left").setTicks([[(i + 0.5, full[i]) for i in range(0, k, step)]])

    def _resized(self, *_args: Any) -> None:
        if self.classes:
            self._update_ticks()
            self._ask_room()  # the axes' share of the plot is only known once laid out
            self._fit_texts()

    def clear(self) -> None:
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.classes = []
        self.image.clear()
        for text in self.texts:
            self.plot.removeItem(text)
        self.texts = []
        self.frame.hide()
        self.hover.setText(" ")

    def mark(self, true: int, pred: int) -> None:
        """Outline the cell whose samples are listed."""
        self.frame.setRect(pred, true, 1, 1)
        self.frame.show()

    def describe(self, true: int, pred: int) -> str:
        n = int(self.matrix[true, pred])
        return (f"true {self.classes[true]} → predicted {self.classes[pred]}: "
                f"{n} sample{'' if n == 1 else 's'}")

    # ---- pointing --------------------------------------------------------------------

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        """(true, predicted) under a scene position, or None outside the matrix."""
        k = self.matrix.shape[0]
        if not k or not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.vb.mapSceneToView(scene_pos)
        pred, true = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= true < k and 0 <= pred < k:
            return true, pred
        return None

    def cell_point(self, true: int, pred: int) -> QPoint:
        """Where the middle of a cell is, in the plot's viewport (tests click there)."""
        scene = self.vb.mapViewToScene(QPointF(pred + 0.5, true + 0.5))
        return self.plot.mapFromScene(scene)

    def _moved(self, scene_pos: QPointF) -> None:
        cell = self.cell_at(scene_pos)
        text = self.describe(*cell) if cell is not None else (
            self.idle if self.matrix.size else " ")
        self.hover.setText(text)
        self.plot.setToolTip(text if cell is not None else "")

    def _clicked(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            event.accept()
            self.mark(*cell)
            self.cell_clicked.emit(*cell)

    @staticmethod
    def _short(name: str, limit: int = 12) -> str:
        return name if len(name) <= limit else name[: limit - 1] + "…"
