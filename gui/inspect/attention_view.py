"""Attention weights: one heatmap per head, queries down, keys across, labelled with the
sample's tokens when the data names them; hovering a cell says who looked at whom, how much.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from torchloom.engine.probe.render import MASKED as MASKED_RGB

from .. import theme

#: Heads per row of the grid.
PER_ROW = 4
HINT = "Hover a cell to read its weight. Rows: queries · columns: keys; each row sums to 1."
MASKED_HINT = " Grey cells are masked (causal or padding): the query may not look there."


class AttentionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.cmap = pg.colormap.get("viridis")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.hover = QLabel(HINT)
        self.hover.setWordWrap(True)
        self.hover.setObjectName("muted")
        layout.addWidget(self.hover)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setAccessibleName("Attention weights per head")
        layout.addWidget(self.canvas, 1)
        self.canvas.scene().sigMouseMoved.connect(self._hovered)
        self.plots: list[object] = []
        self.images: list[object] = []
        self.unders: list[object] = []  # grey behind each map: masked (NaN) cells show it
        self.colorbar = None
        self.weights: np.ndarray | None = None
        self.query_labels: list[str] = []
        self.key_labels: list[str] = []
        self.apply_theme()

    @property
    def heads(self) -> int:
        return len(self.plots)

    def apply_theme(self) -> None:
        self.canvas.setBackground(theme.current().background)

    def show_weights(self, weights: np.ndarray, query_labels: Sequence[str] | None = None,
                     key_labels: Sequence[str] | None = None) -> None:
        """[heads, L, S] for one sample."""
        heads, length, source = weights.shape
        self.weights = np.asarray(weights, dtype=np.float32)
        self.query_labels = list(query_labels or [str(i) for i in range(length)])
        self.key_labels = list(key_labels or [str(i) for i in range(source)])
        if self.weights.shape[0] != len(self.images) or not self.images or \
                self.images[0].image.shape != self.weights.shape[1:]:  # type: ignore[attr-defined]
            self._build(heads)
        colors = theme.current()
        masked = bool(np.isnan(self.weights).any())
        self.hover.setText(HINT + (MASKED_HINT if masked else ""))
        for h, (plot, image) in enumerate(zip(self.plots, self.images)):
            image.setImage(self.weights[h], levels=(0.0, 1.0))  # type: ignore[attr-defined]
            self.unders[h].setRect(0, 0, source, length)  # type: ignore[attr-defined]
            left, bottom, top = (plot.getAxis(name)  # type: ignore[attr-defined]
                                 for name in ("left", "bottom", "top"))
            left.setTicks([[(i + 0.5, t) for i, t in enumerate(self.query_labels)]])
            # key labels alternate below and above the map, so long tokens do not overlap
            keys = [(i + 0.5, t) for i, t in enumerate(self.key_labels)]
            bottom.setTicks([keys[0::2]])
            top.setTicks([keys[1::2]])
            for axis in (left, bottom, top):
                axis.setTextPen(colors.node_subtext)
                axis.setPen(colors.node_subtext)
            plot.setTitle(f"head {h}", color=colors.node_text, size="9pt")  # type: ignore[attr-defined]
            plot.setRange(xRange=(0, source), yRange=(0, length), padding=0.02)  # type: ignore[attr-defined]

    def _build(self, heads: int) -> None:
        pg = self.pg
        self.canvas.clear()
        self.plots, self.images, self.unders = [], [], []
        for h in range(heads):
            if h and h % PER_ROW == 0:
                self.canvas.nextRow()
            plot = self.canvas.addPlot()
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(False, False)
            plot.hideButtons()
            plot.invertY(True)
            plot.setAspectLocked(True)
            plot.showAxis("top")
            small = QFont()
            small.setPointSizeF(7.5)
            for name in ("bottom", "top"):
                plot.getAxis(name).setStyle(tickTextOffset=2, tickFont=small)
            under = pg.ImageItem(np.full((1, 1, 3), MASKED_RGB, dtype=np.uint8),
                                 axisOrder="row-major", levels=(0, 255))
            plot.addItem(under)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(self.cmap)
            plot.addItem(image)
            self.unders.append(under)
            self.plots.append(plot)
            self.images.append(image)
        rows = math.ceil(heads / PER_ROW)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False,
                                        width=12, label="weight")
        self.canvas.addItem(self.colorbar, row=0, col=min(heads, PER_ROW), rowspan=rows)

    def cell_text(self, head: int, query: int, key: int) -> str:
        assert self.weights is not None
        w = self.weights[head, query, key]
        weight = "masked" if np.isnan(w) else f"{w:.3f}"
        return (f"head {head} · query {query} ({self.query_labels[query]}) → key {key} "
                f"({self.key_labels[key]}): {weight}")

    def _hovered(self, pos: object) -> None:
        if self.weights is None:
            return
        for h, plot in enumerate(self.plots):
            vb = plot.getViewBox()  # type: ignore[attr-defined]
            if not vb.sceneBoundingRect().contains(pos):
                continue
            point = vb.mapSceneToView(pos)
            q, k = int(point.y()), int(point.x())
            _, length, source = self.weights.shape
            if 0 <= q < length and 0 <= k < source and point.x() >= 0 and point.y() >= 0:
                self.hover.setText(self.cell_text(h, q, k))
            return
