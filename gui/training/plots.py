"""Live loss and accuracy plots (pyqtgraph) and the progress bar.

The x axis is epochs, fractional while an epoch runs, so a live run and the per-epoch
curves of earlier runs share one axis. Points go into preallocated numpy buffers and the
curves are given views of them: appending never copies the history, and redraws happen at
most ten times a second (the controller coalesces reports).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QProgressBar, QSlider,
                               QVBoxLayout, QWidget)

from .. import theme

TRAIN_COLOR = "#5b8def"
VAL_COLOR = "#f08c3a"
#: pyqtgraph's grid is drawn through a QPicture on every repaint: 40 ms per update of
#: these two plots here, against 6 ms without it, and that time holds the GIL the training
#: thread needs. So no grid.
GRID = False
HISTORY_COLORS = ["#8d99ae", "#3fa37a", "#a86ad6", "#d9486b", "#2f9e9e"]


class Series:
    """A growing (x, y) series in a preallocated buffer."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity)
        self.y = np.empty(capacity)
        self.n = 0

    def append(self, x: float, y: float) -> None:
        if self.n == len(self.x):
            self.x = np.resize(self.x, 2 * self.n)
            self.y = np.resize(self.y, 2 * self.n)
        self.x[self.n], self.y[self.n] = x, y
        self.n += 1

    def clear(self) -> None:
        self.n = 0

    @property
    def xs(self) -> np.ndarray:
        return self.x[: self.n]

    @property
    def ys(self) -> np.ndarray:
        return self.y[: self.n]


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average with bias correction (like TensorBoard's smoothing)."""
    out = np.empty_like(values)
    last, weight = 0.0, 0.0
    for i, v in enumerate(values):
        last = alpha * last + (1 - alpha) * v
        weight = alpha * weight + (1 - alpha)
        out[i] = last / weight if weight else v
    return out


class PlotsPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        pg.setConfigOptions(antialias=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        top = QHBoxLayout()
        self.status = QLabel("Press Train to start.")
        self.status.setObjectName("muted")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setMinimumWidth(380)
        top.addWidget(self.progress, 2)
        top.addWidget(self.status, 3)
        top.addStretch(1)
        top.addWidget(QLabel("Smoothing"))
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setFixedWidth(120)
        self.smoothing.setToolTip("Exponential moving average of the per-batch loss")
        top.addWidget(self.smoothing)
        self.log_scale = QCheckBox("Log loss")
        top.addWidget(self.log_scale)
        layout.addLayout(top)
        row = QHBoxLayout()
        self.loss_plot = pg.PlotWidget()
        self.acc_plot = pg.PlotWidget()
        for plot, title, corner in ((self.loss_plot, "Loss", (-10, 10)),
                                    (self.acc_plot, "Accuracy", (-10, -30))):
            plot.setTitle(title)
            plot.showGrid(x=GRID, y=GRID, alpha=0.15)
            plot.setLabel("bottom", "epoch")
            legend = plot.addLegend(offset=corner, labelTextSize="8pt")
            legend.setBrush((0, 0, 0, 60))
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False)
            row.addWidget(plot)
        self.acc_plot.setYRange(0, 1)
        layout.addLayout(row, 1)
        pen = pg.mkPen
        self.c_batch = self.loss_plot.plot(pen=pen(TRAIN_COLOR, width=1), name="train (batches)")
        self.c_batch.setOpacity(0.25)
        self.c_smooth = self.loss_plot.plot(pen=pen(TRAIN_COLOR, width=2), name="train (smoothed)")
        self.c_val_loss = self.loss_plot.plot(pen=pen(VAL_COLOR, width=2), symbol="o",
                                              symbolSize=7, symbolBrush=VAL_COLOR,
                                              name="validation")
        self.c_acc = self.acc_plot.plot(pen=pen(TRAIN_COLOR, width=2), name="train")
        self.c_val_acc = self.acc_plot.plot(pen=pen(VAL_COLOR, width=2), symbol="o",
                                            symbolSize=7, symbolBrush=VAL_COLOR,
                                            name="validation")
        self.batch_loss, self.batch_acc = Series(), Series()
        self.val_loss, self.val_acc = Series(64), Series(64)
        self.history_items: list[Any] = []
        self.smoothing.valueChanged.connect(lambda _v: self._redraw_smooth())
        self.log_scale.toggled.connect(self._set_log)
        self.started_at = 0.0
        self._loss_top, self._loss_bottom = -1.0, 0.0
        self._start_step = None
        self.points = 0
        self.apply_theme()

    # ---- theme -------------------------------------------------------------------------

    def apply_theme(self) -> None:
        colors = theme.current()
        for plot in (self.loss_plot, self.acc_plot):
            theme.style_plot(plot)
            plot.setTitle(plot.plotItem.titleLabel.text, color=colors.node_text)

    # ---- a run -------------------------------------------------------------------------

    def reset(self, info: dict[str, Any] | None = None) -> None:
        for series in (self.batch_loss, self.batch_acc, self.val_loss, self.val_acc):
            series.clear()
        for curve in (self.c_batch, self.c_smooth, self.c_val_loss, self.c_acc, self.c_val_acc):
            curve.setData([], [])
        self.progress.setValue(0)
        self._loss_top, self._loss_bottom = -1.0, 0.0
        self.loss_plot.enableAutoRange(y=self.log_scale.isChecked())
        self.started_at = time.perf_counter()
        self._start_step: int | None = None
        self.points = 0
        if info:
            self.progress.setFormat(f"starting on {info.get('device', '?')}…")

    def set_epochs(self, epochs: int) -> None:
        """A fixed x range for the run: the x axis is not recomputed on every redraw."""
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0, max(epochs, 1), padding=0.02)
            plot.enableAutoRange(x=False)

    def _fit_loss_range(self, shrink: bool = False) -> None:
        """Grow the loss axis when a point falls outside it, shrink it once per epoch.

        Re-ranging regenerates the axis (the costly part of a redraw), so it happens only
        when needed rather than with every new point.
        """
        if self.log_scale.isChecked():
            return
        values = [self.batch_loss.ys, self.val_loss.ys]
        values = [v for v in values if len(v)]
        if not values:
            return
        lo = min(float(v.min()) for v in values)
        hi = max(float(v.max()) for v in values)
        top = hi * 1.08 if hi > 0 else 1.0
        bottom = min(0.0, lo)
        if shrink or hi > self._loss_top or lo < self._loss_bottom:
            self._loss_top, self._loss_bottom = top, bottom
            self.loss_plot.setYRange(bottom, top, padding=0)

    def add_reports(self, reports: list[Any]) -> None:
        """Append what arrived since the last redraw and redraw once."""
        for r in reports:
            x = (r.epoch - 1) + r.step_in_epoch / max(r.steps_per_epoch, 1)
            self.batch_loss.append(x, r.loss)
            if r.accuracy is not None:
                self.batch_acc.append(x, r.accuracy)
        self.points += len(reports)
        self.c_batch.setData(self.batch_loss.xs, self.batch_loss.ys)
        self._redraw_smooth()
        self.c_acc.setData(self.batch_acc.xs, self.batch_acc.ys)
        self._fit_loss_range()
        last = reports[-1]
        self._show_progress(last)

    def add_epoch(self, report: Any) -> None:
        if report.val_loss is not None:
            self.val_loss.append(report.epoch, report.val_loss)
            self.c_val_loss.setData(self.val_loss.xs, self.val_loss.ys)
        self._fit_loss_range(shrink=True)
        if report.val_acc is not None:
            self.val_acc.append(report.epoch, report.val_acc)
            self.c_val_acc.setData(self.val_acc.xs, self.val_acc.ys)

    def _redraw_smooth(self) -> None:
        ys = self.batch_loss.ys
        if not len(ys):
            self.c_smooth.setData([], [])
            return
        self.c_smooth.setData(self.batch_loss.xs, ema(ys, self.smoothing.value() / 100))

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.enableAutoRange(y=on)
        if not on:
            self._fit_loss_range(shrink=True)

    def _show_progress(self, r: Any) -> None:
        self.progress.setValue(int(r.step / max(r.total_steps, 1) * 1000))
        if self._start_step is None:  # a resumed run starts counting part-way
            self._start_step = r.step - 1
        done_here = max(r.step - self._start_step, 1)
        remaining = (r.total_steps - r.step) * (time.perf_counter() - self.started_at) / done_here
        eta = time.strftime("%M:%S", time.gmtime(max(remaining, 0)))
        self.progress.setFormat(f"epoch {r.epoch}/{r.epochs} · step {r.step}/{r.total_steps} · "
                                f"{r.samples_per_s:,.0f} samples/s · ETA {eta}")

    def finish(self, status: str, message: str = "") -> None:
        if status == "finished":
            self.progress.setValue(1000)
            self.progress.setFormat("done · 100 %")
        elif status == "stopped":
            self.progress.setFormat(self.progress.format().split(" · ETA")[0] + " · stopped")
        self.status.setText(message)

    # ---- earlier runs ------------------------------------------------------------------

    def show_history(self, runs: list[Any]) -> None:
        """Per-epoch curves of earlier runs, faded, under the live ones."""
        for plot, item in self.history_items:
            plot.removeItem(item)
        self.history_items = []
        pg = self.pg
        for i, run in enumerate(runs):
            colour = HISTORY_COLORS[i % len(HISTORY_COLORS)]
            epochs = [row["epoch"] for row in run.metrics]
            for plot, key in ((self.loss_plot, "val_loss"), (self.acc_plot, "val_acc")):
                ys = [row.get(key) for row in run.metrics]
                pairs = [(x, y) for x, y in zip(epochs, ys) if y is not None]
                if not pairs:
                    continue
                item = plot.plot([p[0] for p in pairs], [p[1] for p in pairs],
                                 pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                                 symbol="t", symbolSize=6, symbolBrush=colour,
                                 name=f"{run.name} ({key.split('_')[0]})")
                item.setOpacity(0.55)
                self.history_items.append((plot, item))
