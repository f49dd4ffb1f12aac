"""Weights & gradients: how the selected block's weight and gradient distributions move as
the model trains, and every layer's gradient norm per epoch.

The two heatmaps read along time (x: the capture's step, y: the value, colour: how many of
the block's values fall in that bin, against that capture's fullest bin), so weights that
widen without bound or gradients that collapse to zero show as a shape, not as numbers to
compare. The table below has a row per layer and a column per epoch on a log colour scale:
a column that fades from the output down to the input is a vanishing gradient, a bright
row an exploding one; a red cell had NaN or infinite values. Everything comes from the
run's ``stats.jsonl`` (the engine's `StatsHistory`), live while training and from the
file afterwards.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QLabel, QSplitter, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from torchloom.engine.probe.stats_history import StatsHistory

from .. import theme

HINT = ("Train the model (or pick a run in Runs), then click a block with weights to see "
        "its weight and gradient histograms over the run.")
#: The colour of a table cell whose epoch had NaN or infinite values.
NONFINITE = "#d62728"


def _text_colour(rgb: tuple[int, int, int]) -> str:
    r, g, b = rgb
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


class WeightsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.cmap = pg.colormap.get("viridis")
        self.history = StatsHistory()
        self.node_id: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        split = QSplitter(Qt.Orientation.Vertical)
        self.stack = QStackedWidget()
        self.message = QLabel(HINT)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setObjectName("muted")
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setAccessibleName("Weight and gradient histograms over time")
        self.plots: dict[str, Any] = {}
        self.images: dict[str, Any] = {}
        self.marks: dict[str, Any] = {}
        for col, (kind, title) in enumerate((("weight", "weights"), ("grad", "gradients"))):
            plot = self.canvas.addPlot(row=0, col=col)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setLabel("bottom", "step")
            plot.setLabel("left", "value")
            plot.setTitle(title, size="9pt")
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(self.cmap)
            plot.addItem(image)
            mark = pg.ScatterPlotItem(symbol="t", size=9, brush=pg.mkBrush(NONFINITE),
                                      pen=pg.mkPen(None))  # captures with NaN or inf values
            plot.addItem(mark)
            self.plots[kind], self.images[kind], self.marks[kind] = plot, image, mark
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False,
                                        width=10, label="values in the bin (1: the step's peak)")
        self.canvas.addItem(self.colorbar, row=0, col=2)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.canvas)
        split.addWidget(self.stack)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        self.table_title = QLabel("Gradient norm per layer per epoch (log colour; red: NaN or "
                                  "infinite values)")
        self.table_title.setObjectName("muted")
        table_layout.addWidget(self.table_title)
        self.table = QTableWidget()
        self.table.setAccessibleName("Gradient norm per layer per epoch")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table_layout.addWidget(self.table, 1)
        split.addWidget(table_box)
        split.setSizes([300, 160])
        layout.addWidget(split, 1)
        self.apply_theme()

    # ---- sources -----------------------------------------------------------------------

    def set_history(self, history: StatsHistory, source: str = "") -> None:
        self.history = history
        self.source = source
        self.redraw()

    def add_captures(self, captures: list[dict[str, Any]]) -> None:
        """Captures of a run in progress (at most a flush's worth at a time)."""
        for capture in captures:
            self.history.add(capture)
        self.redraw()

    def clear(self, text: str = HINT) -> None:
        self.history = StatsHistory()
        self.message.setText(text)
        self.redraw()

    def show_node(self, node_id: str | None) -> None:
        self.node_id = node_id
        self.redraw()

    # ---- drawing -----------------------------------------------------------------------

    def apply_theme(self) -> None:
        colors = theme.current()
        self.canvas.setBackground(colors.background)
        for plot in self.plots.values():
            for name in ("left", "bottom"):
                plot.getAxis(name).setTextPen(colors.node_subtext)
                plot.getAxis(name).setPen(colors.node_subtext)

    def redraw(self) -> None:
        self._fill_table()
        if not self.history.captures:
            self.caption.setText("")
            self.stack.setCurrentWidget(self.message)
            return
        node = self.node_id
        if node is None:
            self._say("Click a block on the canvas to see its weights and gradients over the "
                      "run.")
            return
        entry = next((c["nodes"][node] for c in reversed(self.history.captures)
                      if node in c["nodes"]), None)
        if entry is None or "weight" not in entry:
            dead = (entry or {}).get("dead_relu")
            words = (f" {100 * dead:.0f} % of its units were dead at step "
                     f"{self.history.captures[-1]['step']} (zero for every sample of the "
                     "batch)." if dead is not None else "")
            self._say(f"{node} has no weights to show.{words}")
            return
        self.stack.setCurrentWidget(self.canvas)
        shown = self._draw(node, "weight")
        self._draw(node, "grad")
        last = self.history.captures[-1]
        grad = entry.get("grad") or {}
        parts = [f"<b>{node}</b>", f"{entry['params']:,} parameters",
                 f"{shown} captures to step {last['step']}",
                 f"weight std {entry['weight']['std']:.3g}"]
        if grad:
            parts.append(f"last gradient norm {grad['norm']:.3g}")
        if entry.get("nonfinite"):
            parts.append(f"<span style='color:{NONFINITE}'>{entry['nonfinite']:,} NaN or "
                         "infinite values</span>")
        self.caption.setText("  ·  ".join(parts))

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.caption.setText("")
        self.stack.setCurrentWidget(self.message)

    def _draw(self, node: str, kind: str) -> int:
        steps, edges, image, bad = self.history.histogram_image(node, kind)
        item, plot, mark = self.images[kind], self.plots[kind], self.marks[kind]
        if not steps:
            item.clear()
            mark.setData([], [])
            return 0
        # rows of the image are value bins (y), columns the captures (x)
        # each capture scaled to its own peak: a narrow and a wide distribution both read,
        # at step 5 and at step 5,000 alike
        peaks = np.maximum(image.max(axis=1, keepdims=True), 1e-12)
        item.setImage((image / peaks).T.astype(np.float32), levels=(0.0, 1.0))
        first, last = steps[0], steps[-1]
        width = (last - first) / max(len(steps) - 1, 1) or 1.0
        item.setRect(QRectF(first - width / 2, float(edges[0]), (last - first) + width,
                            float(edges[-1] - edges[0])))
        flagged = [s for s, b in zip(steps, bad) if b]
        mark.setData(flagged, [float(edges[-1])] * len(flagged))
        plot.setRange(xRange=(first - width / 2, last + width / 2),
                      yRange=(float(edges[0]), float(edges[-1])), padding=0.02)
        return len(steps)

    def _fill_table(self) -> None:
        layers, epochs, norms, bad = self.history.grad_norms()
        table = self.table
        table.clear()
        table.setRowCount(len(layers))
        table.setColumnCount(len(epochs))
        table.setHorizontalHeaderLabels([f"epoch {e}" for e in epochs])
        table.setVerticalHeaderLabels(layers)
        finite = norms[np.isfinite(norms) & (norms > 0)]
        lo = math.log10(float(finite.min())) if finite.size else 0.0
        hi = math.log10(float(finite.max())) if finite.size else 1.0
        span = hi - lo or 1.0
        for i, layer in enumerate(layers):
            for j, epoch in enumerate(epochs):
                value, nonfinite = norms[i, j], int(bad[i, j])
                if nonfinite:
                    cell = QTableWidgetItem(f"{nonfinite:,} NaN/inf")
                    cell.setBackground(QBrush(QColor(NONFINITE)))
                    cell.setForeground(QBrush(QColor("#ffffff")))
                    cell.setToolTip(f"{layer}, epoch {epoch}: {nonfinite:,} non-finite weights "
                                    "or gradients")
                elif math.isnan(value):
                    cell = QTableWidgetItem("–")
                    cell.setToolTip(f"{layer}, epoch {epoch}: no gradient recorded")
                else:
                    cell = QTableWidgetItem(f"{value:.2g}")
                    share = (math.log10(value) - lo) / span if value > 0 else 0.0
                    colour = self.cmap.map(min(max(share, 0.0), 1.0), mode="qcolor")
                    cell.setBackground(QBrush(colour))
                    rgb = (colour.red(), colour.green(), colour.blue())
                    cell.setForeground(QBrush(QColor(_text_colour(rgb))))
                    cell.setToolTip(f"{layer}, epoch {epoch}: gradient norm {value:.4g} "
                                    "(mean of the epoch's captures)")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                table.setItem(i, j, cell)
            if layer == self.node_id:
                header = table.verticalHeaderItem(i)
                if header is not None:
                    header.setText(f"▶ {layer}")
        table.resizeColumnsToContents()

    # ---- for tests and the hover -------------------------------------------------------

    def image_of(self, kind: str) -> np.ndarray | None:
        """The heatmap on show for "weight" or "grad" (bins down, captures across)."""
        image = self.images[kind].image
        return None if image is None else np.asarray(image)

    def cell(self, layer: str, epoch: int) -> QTableWidgetItem | None:
        layers, epochs = self.history.layers(), self.history.epochs()
        if layer not in layers or epoch not in epochs:
            return None
        return self.table.item(layers.index(layer), epochs.index(epoch))
