"""Live training plots (pyqtgraph) and the progress bar, drawn from the task's charts.

The task declares what a run shows (`tasks.base.Chart`: a classifier's loss and accuracy, a
regression's loss, MAE and R², a GAN's two losses and the discriminator's accuracy); this
panel draws whatever it declares, and the sample grid for tasks whose runs draw samples.

The x axis is epochs, fractional while an epoch runs, so a live run and the per-epoch
curves of earlier runs share one axis. Live training values are per batch (the batches
since the previous report), drawn faint with a smoothed line over them: the training
accuracy too, which as the epoch's running figure would restart at every epoch. A resumed
run carries on the curve it stopped on. The ETA comes from the recent steady rate, not from
the slow first batches. Points go into preallocated numpy buffers and the
curves are given views of them: appending never copies the history, and redraws happen at
most ten times a second (the controller coalesces reports).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QProgressBar, QSlider,
                               QVBoxLayout, QWidget)

from .. import theme
from .sample_grid import SampleGrid

#: Curve colours, in the order a chart's values are listed (the first is the live
#: training value, the second its validation partner).
COLORS = ["#5b8def", "#f08c3a", "#3fa37a", "#d9486b", "#a86ad6"]
#: pyqtgraph's grid is drawn through a QPicture on every repaint: 40 ms per update of
#: these two plots here, against 6 ms without it, and that time holds the GIL the training
#: thread needs. So no grid.
GRID = False
HISTORY_COLORS = ["#8d99ae", "#3fa37a", "#a86ad6", "#d9486b", "#2f9e9e"]
#: Seconds of recent reports the ETA's rate is measured over.
RATE_WINDOW = 10.0
#: How the live values of the reports are named in legends.
BATCH_NAMES = {"loss": "train", "accuracy": "train"}


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


def batch_value(report: Any, key: str) -> float | None:
    """A live report's value by the name a chart gives it."""
    if key == "loss":
        return float(report.loss)
    if key == "accuracy":  # the last batches' accuracy; the epoch's where none is given
        value = getattr(report, "batch_accuracy", None)
        value = report.accuracy if value is None else value
        return None if value is None else float(value)
    value = (getattr(report, "extra", None) or {}).get(key)
    return None if value is None else float(value)


def epoch_label(key: str, chart: Any) -> str:
    """``validation`` where a chart has one validation metric; the metric's name else."""
    if key.startswith("val_") and len(chart.epoch) == 1:
        return "validation"
    return key


class PlotsPanel(QWidget):
    """The progress bar, the task's charts side by side, and its sample grid if any."""

    def __init__(self, task: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.task = task
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
        self.progress.setAccessibleName("Training progress")
        top.addWidget(self.progress, 2)
        top.addWidget(self.status, 3)
        top.addStretch(1)
        top.addWidget(QLabel("Smoothing"))
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setFixedWidth(120)
        self.smoothing.setToolTip("Exponential moving average of the per-batch losses")
        self.smoothing.setAccessibleName("Smoothing")
        top.addWidget(self.smoothing)
        self.log_scale = QCheckBox("Log loss")
        top.addWidget(self.log_scale)
        layout.addLayout(top)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setObjectName("runWarning")
        self.warning.hide()
        layout.addWidget(self.warning)
        row = QHBoxLayout()
        self.charts = list(task.charts)
        self.plots: list[Any] = []
        #: live values by report key, and per-epoch metrics by name
        self.series: dict[str, Series] = {}
        #: (raw, smoothed) curves of each live value; points of each epoch metric
        self.batch_curves: dict[str, tuple[Any, Any]] = {}
        self.epoch_curves: dict[str, Any] = {}
        for chart in self.charts:
            plot = pg.PlotWidget()
            plot.setTitle(chart.title)
            plot.showGrid(x=GRID, y=GRID, alpha=0.15)
            plot.setLabel("bottom", "epoch")
            # legends where the curves seldom are: losses fall, accuracies rise
            legend = plot.addLegend(offset=(-10, -30) if chart.percent else (-10, 10),
                                    labelTextSize="8pt")
            legend.setBrush((0, 0, 0, 60))
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False)
            if chart.percent:
                plot.setYRange(0, 1.02, padding=0)
            self._add_curves(plot, chart)
            row.addWidget(plot, 3)
            self.plots.append(plot)
        self.loss_plot = self.plots[0]
        self.samples: SampleGrid | None = None
        if getattr(task, "samples", False):
            self.samples = SampleGrid(self)
            row.addWidget(self.samples, 2)
        layout.addLayout(row, 1)
        self.history_items: list[Any] = []
        self.smoothing.valueChanged.connect(lambda _v: self._redraw_batches())
        self.log_scale.toggled.connect(self._set_log)
        self.started_at = 0.0
        self._loss_top, self._loss_bottom = -1.0, 0.0
        self._start_step: int | None = None
        self.points = 0
        #: (time, step) of recent reports, for the ETA
        self._recent: deque[tuple[float, int]] = deque()
        #: the run folder the curves belong to (a resume of it carries on drawing)
        self.run_dir: Any = None
        self.apply_theme()

    def _add_curves(self, plot: Any, chart: Any) -> None:
        pen = self.pg.mkPen
        colours = iter(COLORS)
        for key in chart.batch:
            colour = next(colours)
            name = BATCH_NAMES.get(key.split("/")[0], key)  # a head's "loss/<node>" too
            self.series[key] = Series()
            raw = plot.plot(pen=pen(colour, width=1), name=f"{name} (batches)")
            raw.setOpacity(0.25)
            smooth = plot.plot(pen=pen(colour, width=2), name=f"{name} (smoothed)")
            self.batch_curves[key] = (raw, smooth)
        for key in chart.epoch:
            colour = next(colours)
            self.series[key] = Series(64)
            self.epoch_curves[key] = plot.plot(pen=pen(colour, width=2), symbol="o",
                                               symbolSize=7, symbolBrush=colour,
                                               name=epoch_label(key, chart))

    # ---- theme -------------------------------------------------------------------------

    def apply_theme(self) -> None:
        colors = theme.current()
        for plot in self.plots:
            theme.style_plot(plot)
            plot.setTitle(plot.plotItem.titleLabel.text, color=colors.node_text)
        self.warning.setStyleSheet(f"color: {colors.warning}; font-weight: 600;")

    # ---- a run -------------------------------------------------------------------------

    def reset(self, info: dict[str, Any] | None = None) -> None:
        self._recent.clear()
        for series in self.series.values():
            series.clear()
        for raw, smooth in self.batch_curves.values():
            raw.setData([], [])
            smooth.setData([], [])
        for curve in self.epoch_curves.values():
            curve.setData([], [])
        if self.samples is not None:
            self.samples.clear()
        self.warning.hide()
        self.warning.setText("")
        self.progress.setValue(0)
        self._loss_top, self._loss_bottom = -1.0, 0.0
        self.loss_plot.enableAutoRange(y=self.log_scale.isChecked())
        for plot, chart in zip(self.plots[1:], self.charts[1:]):
            if not chart.percent:
                plot.enableAutoRange(y=True)
        self.started_at = time.perf_counter()
        self._start_step = None
        self.points = 0
        if info:
            self.progress.setFormat(f"starting on {info.get('device', '?')}…")

    def set_epochs(self, epochs: int) -> None:
        """A fixed x range for the run: the x axis is not recomputed on every redraw."""
        for plot in self.plots:
            plot.setXRange(0, max(epochs, 1), padding=0.02)
            plot.enableAutoRange(x=False)

    def _fit_loss_range(self, shrink: bool = False) -> None:
        """Grow the first chart's (the losses') axis when a point falls outside it, shrink
        it once per epoch.

        Re-ranging regenerates the axis (the costly part of a redraw), so it happens only
        when needed rather than with every new point.
        """
        if self.log_scale.isChecked() or self.charts[0].percent:
            return
        chart = self.charts[0]
        values = [self.series[k].ys for k in (*chart.batch, *chart.epoch)]
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
        if not reports:
            return
        for r in reports:
            x = (r.epoch - 1) + r.step_in_epoch / max(r.steps_per_epoch, 1)
            for key in self.batch_curves:
                value = batch_value(r, key)
                if value is not None:
                    self.series[key].append(x, value)
        self.points += len(reports)
        self._redraw_batches()
        self._fit_loss_range()
        self._show_progress(reports[-1])

    def add_epoch(self, report: Any) -> None:
        """An epoch ended: its metrics as points, its sample grid, its warning if any."""
        metrics = report.metrics() if hasattr(report, "metrics") else {}
        for key, curve in self.epoch_curves.items():
            value = metrics.get(key)
            if value is not None:
                series = self.series[key]
                series.append(report.epoch, float(value))
                curve.setData(series.xs, series.ys)
        self._fit_loss_range(shrink=True)
        extra = getattr(report, "extra", None) or {}
        png = extra.get("samples_png")
        if png and self.samples is not None:
            self.samples.show_file(png, report.epoch)
        warning = extra.get("warning")
        if warning:
            self.warning.setText(f"⚠ {warning[:1].upper()}{warning[1:]}")
            self.warning.show()
        elif self.warning.isVisible() and "(gone at epoch" not in self.warning.text():
            self.warning.setText(f"{self.warning.text()} (gone at epoch {report.epoch})")

    def _redraw_batches(self) -> None:
        alpha = self.smoothing.value() / 100
        for key, (raw, smooth) in self.batch_curves.items():
            series = self.series[key]
            raw.setData(series.xs, series.ys)
            smooth.setData(series.xs, ema(series.ys, alpha) if series.n else series.ys)

    def _set_log(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.enableAutoRange(y=on)
        if not on:
            self._fit_loss_range(shrink=True)

    def resume(self, info: dict[str, Any] | None = None) -> None:
        """A resumed run of the curves on show: keep them and carry on drawing (points
        after the resume point, which a stop in mid-epoch drew already, are dropped)."""
        self._recent.clear()
        self.started_at = time.perf_counter()
        self._start_step = None
        if info and "start_step" in info and "steps_per_epoch" in info:
            x = info["start_step"] / max(info["steps_per_epoch"], 1)
            for key in self.batch_curves:
                series = self.series[key]
                while series.n and series.xs[-1] > x + 1e-9:
                    series.n -= 1
            self._redraw_batches()
        if info:
            self.progress.setFormat(f"resuming on {info.get('device', '?')}…")

    def show_metrics(self, rows: list[dict[str, Any]]) -> None:
        """The epochs a run folder already holds (its metrics.csv), as this run's own
        points: a run resumed in a new window shows its whole history."""
        for key, curve in self.epoch_curves.items():
            series = self.series[key]
            for row in rows:
                if row.get(key) is not None and row.get("epoch") is not None:
                    series.append(float(row["epoch"]), float(row[key]))
            curve.setData(series.xs, series.ys)
        self._fit_loss_range(shrink=True)

    def eta_seconds(self, r: Any, now: float | None = None) -> float:
        """Seconds left, from the rate of the last `RATE_WINDOW` seconds of reports (the
        first, slow batches of a run drop out of it); until there is such a window, from the
        run's rate so far."""
        now = time.perf_counter() if now is None else now
        recent = self._recent
        recent.append((now, r.step))
        while len(recent) > 2 and now - recent[1][0] > RATE_WINDOW:
            recent.popleft()
        (t0, s0), (t1, s1) = recent[0], recent[-1]
        if len(recent) >= 3 and t1 > t0 and s1 > s0:
            return (r.total_steps - r.step) * (t1 - t0) / (s1 - s0)
        if self._start_step is None:  # a resumed run starts counting part-way
            self._start_step = r.step - 1
        done_here = max(r.step - self._start_step, 1)
        return (r.total_steps - r.step) * (now - self.started_at) / done_here

    def _show_progress(self, r: Any) -> None:
        self.progress.setValue(int(r.step / max(r.total_steps, 1) * 1000))
        remaining = self.eta_seconds(r)
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
        """Per-epoch curves of earlier runs, faded and dashed, under the live ones; with a
        sample grid and nothing live, the newest run's last grid."""
        for plot, item in self.history_items:
            plot.removeItem(item)
        self.history_items = []
        pg = self.pg
        for i, run in enumerate(runs):
            colour = HISTORY_COLORS[i % len(HISTORY_COLORS)]
            rows = list(getattr(run, "metrics", []) or [])
            for plot, chart in zip(self.plots, self.charts):
                for key in chart.history_metrics:
                    pairs = [(row.get("epoch"), row.get(key)) for row in rows]
                    pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
                    if not pairs:
                        continue
                    item = plot.plot([float(p[0]) for p in pairs], [float(p[1]) for p in pairs],
                                     pen=pg.mkPen(colour, width=1.5,
                                                  style=Qt.PenStyle.DashLine),
                                     symbol="t", symbolSize=6, symbolBrush=colour,
                                     name=f"{run.name} ({key})")
                    item.setOpacity(0.55)
                    self.history_items.append((plot, item))
        if runs and not self.points and self.samples is not None:
            from pathlib import Path

            grids = sorted((Path(runs[-1].path) / "samples").glob("*.png"))
            if grids:
                self.samples.show_file(grids[-1])
