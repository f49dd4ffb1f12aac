"""A GAN run's live view: d_loss and g_loss, the discriminator's accuracy on real and fake
samples, the sample grid of the latest epoch and the mode-collapse warning.

It has the classifier `PlotsPanel`'s interface (`reset`, `set_epochs`, `add_reports`,
`add_epoch`, `finish`, `status`, `progress`, `show_history`, `apply_theme`), so the window's
run lifecycle drives either one. The engine writes the grid PNG; the panel reads it when the
epoch's report arrives (a few hundred pixels square: a millisecond of decoding).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QSlider,
                               QVBoxLayout, QWidget)

from .. import theme
from ..training.plots import GRID, Series, ema

D_COLOR = "#5b8def"
G_COLOR = "#f08c3a"
REAL_COLOR = "#3fa37a"
FAKE_COLOR = "#d9486b"


class SampleGrid(QWidget):
    """The generator's samples for a fixed noise batch, scaled without blurring the pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.caption = QLabel("Samples appear after the first epoch.")
        self.caption.setObjectName("muted")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setMinimumSize(QSize(120, 120))
        self.image.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.caption)
        self.pixmap: QPixmap | None = None
        self.path: Path | None = None
        self.epoch: int | None = None

    def clear(self) -> None:
        self.pixmap, self.path, self.epoch = None, None, None
        self.image.clear()
        self.caption.setText("Samples appear after the first epoch.")

    def show_file(self, path: str | Path, epoch: int | None = None) -> bool:
        """Show the grid PNG at `path`; False (and a caption saying so) if it cannot be read."""
        image = QImage(str(path))
        if image.isNull():
            self.caption.setText(f"Cannot read the sample grid {Path(path).name}")
            return False
        self.pixmap, self.path, self.epoch = QPixmap.fromImage(image), Path(path), epoch
        self.caption.setText(f"Samples after epoch {epoch}" if epoch is not None
                             else Path(path).name)
        self.caption.setToolTip(str(path))
        self._fit()
        return True

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.pixmap is None:
            return
        size = self.image.size()
        side = max(min(size.width(), size.height()), 1)
        # whole multiples keep the digits' pixels square and sharp when the grid is small
        scale = side / max(self.pixmap.width(), self.pixmap.height())
        if scale >= 1:
            scale = float(int(scale))
        mode = (Qt.TransformationMode.FastTransformation if scale >= 1
                else Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(self.pixmap.scaled(
            max(int(self.pixmap.width() * scale), 1), max(int(self.pixmap.height() * scale), 1),
            Qt.AspectRatioMode.KeepAspectRatio, mode))


class GanPlotsPanel(QWidget):
    """Loss and accuracy curves beside the sample grid."""

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
        self.smoothing.setToolTip("Exponential moving average of the per-batch losses")
        top.addWidget(self.smoothing)
        layout.addLayout(top)
        self.warning = QLabel("")
        self.warning.setWordWrap(True)
        self.warning.setObjectName("ganWarning")
        self.warning.hide()
        layout.addWidget(self.warning)
        row = QHBoxLayout()
        self.loss_plot = pg.PlotWidget()
        self.acc_plot = pg.PlotWidget()
        # legends where the curves seldom are: losses start low, accuracies end high
        for plot, title, corner in ((self.loss_plot, "Loss", (10, 10)),
                                    (self.acc_plot, "Discriminator accuracy", (-10, -30))):
            plot.setTitle(title)
            plot.showGrid(x=GRID, y=GRID, alpha=0.15)
            plot.setLabel("bottom", "epoch")
            legend = plot.addLegend(offset=corner, labelTextSize="8pt")
            legend.setBrush((0, 0, 0, 60))
            plot.setClipToView(True)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setMenuEnabled(False)
            row.addWidget(plot, 3)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.samples = SampleGrid(self)
        row.addWidget(self.samples, 2)
        layout.addLayout(row, 1)
        pen = pg.mkPen
        self.c_d_batch = self.loss_plot.plot(pen=pen(D_COLOR, width=1))
        self.c_d_batch.setOpacity(0.25)
        self.c_g_batch = self.loss_plot.plot(pen=pen(G_COLOR, width=1))
        self.c_g_batch.setOpacity(0.25)
        self.c_d = self.loss_plot.plot(pen=pen(D_COLOR, width=2), name="d_loss")
        self.c_g = self.loss_plot.plot(pen=pen(G_COLOR, width=2), name="g_loss")
        self.c_real = self.acc_plot.plot(pen=pen(REAL_COLOR, width=2), name="on real")
        self.c_fake = self.acc_plot.plot(pen=pen(FAKE_COLOR, width=2), name="on fake")
        self.d_loss, self.g_loss = Series(), Series()
        self.real_acc, self.fake_acc = Series(), Series()
        self.epochs_seen: list[Any] = []
        self.history_items: list[Any] = []
        self.smoothing.valueChanged.connect(lambda _v: self._redraw_losses())
        self.started_at = 0.0
        self._start_step: int | None = None
        self.points = 0
        self.apply_theme()

    # ---- theme -------------------------------------------------------------------------

    def apply_theme(self) -> None:
        colors = theme.current()
        for plot in (self.loss_plot, self.acc_plot):
            theme.style_plot(plot)
            plot.setTitle(plot.plotItem.titleLabel.text, color=colors.node_text)
        self.warning.setStyleSheet(f"color: {colors.warning}; font-weight: 600;")

    # ---- a run -------------------------------------------------------------------------

    def reset(self, info: dict[str, Any] | None = None) -> None:
        for series in (self.d_loss, self.g_loss, self.real_acc, self.fake_acc):
            series.clear()
        for curve in (self.c_d_batch, self.c_g_batch, self.c_d, self.c_g, self.c_real,
                      self.c_fake):
            curve.setData([], [])
        self.epochs_seen = []
        self.samples.clear()
        self.warning.hide()
        self.warning.setText("")
        self.progress.setValue(0)
        self.loss_plot.enableAutoRange(y=True)
        self.started_at = time.perf_counter()
        self._start_step = None
        self.points = 0
        if info:
            self.progress.setFormat(f"starting on {info.get('device', '?')}…")

    def set_epochs(self, epochs: int) -> None:
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0, max(epochs, 1), padding=0.02)
            plot.enableAutoRange(x=False)

    def add_reports(self, reports: list[Any]) -> None:
        for r in reports:
            x = (r.epoch - 1) + r.step_in_epoch / max(r.steps_per_epoch, 1)
            extra = getattr(r, "extra", None) or {}
            if extra.get("d_loss") is not None:
                self.d_loss.append(x, float(extra["d_loss"]))
            self.g_loss.append(x, float(extra.get("g_loss", r.loss)))
            if extra.get("d_real_acc") is not None:
                self.real_acc.append(x, float(extra["d_real_acc"]))
            if extra.get("d_fake_acc") is not None:
                self.fake_acc.append(x, float(extra["d_fake_acc"]))
        self.points += len(reports)
        self._redraw_losses()
        self.c_real.setData(self.real_acc.xs, self.real_acc.ys)
        self.c_fake.setData(self.fake_acc.xs, self.fake_acc.ys)
        if reports:
            self._show_progress(reports[-1])

    def add_epoch(self, report: Any) -> None:
        """An epoch ended: its sample grid, and the mode-collapse warning if it has one."""
        self.epochs_seen.append(report)
        extra = getattr(report, "extra", None) or {}
        png = extra.get("samples_png")
        if png:
            self.samples.show_file(png, report.epoch)
        warning = extra.get("warning")
        if warning:
            self.warning.setText(f"⚠ {warning[:1].upper()}{warning[1:]}")
            self.warning.show()
        elif extra.get("mode_collapse") is False and self.warning.isVisible() \
                and "(gone at epoch" not in self.warning.text():
            self.warning.setText(f"{self.warning.text()} (gone at epoch {report.epoch})")

    def _redraw_losses(self) -> None:
        alpha = self.smoothing.value() / 100
        for series, faint, smooth in ((self.d_loss, self.c_d_batch, self.c_d),
                                      (self.g_loss, self.c_g_batch, self.c_g)):
            faint.setData(series.xs, series.ys)
            smooth.setData(series.xs, ema(series.ys, alpha) if series.n else series.ys)

    def _show_progress(self, r: Any) -> None:
        self.progress.setValue(int(r.step / max(r.total_steps, 1) * 1000))
        if self._start_step is None:
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
        """Earlier runs' per-epoch losses, faded and dashed; the newest one's last grid."""
        from ..training.plots import HISTORY_COLORS

        for plot, item in self.history_items:
            plot.removeItem(item)
        self.history_items = []
        pg = self.pg
        for i, run in enumerate(runs):
            colour = HISTORY_COLORS[i % len(HISTORY_COLORS)]
            rows = list(getattr(run, "metrics", []) or [])
            for key in ("d_loss", "g_loss"):
                pairs = [(row.get("epoch"), row.get(key)) for row in rows]
                pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
                if not pairs:
                    continue
                item = self.loss_plot.plot(
                    [float(p[0]) for p in pairs], [float(p[1]) for p in pairs],
                    pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine),
                    symbol="t", symbolSize=6, symbolBrush=colour, name=f"{run.name} ({key})")
                item.setOpacity(0.55)
                self.history_items.append((self.loss_plot, item))
        if runs and not self.points:
            grids = sorted((Path(runs[-1].path) / "samples").glob("*.png"))
            if grids:
                self.samples.show_file(grids[-1])
