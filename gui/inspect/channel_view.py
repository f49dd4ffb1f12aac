"""One channel of a feature map, large: the map in pixel coordinates with a colour bar, and a
slider that steps through the channels.

This replaces pyqtgraph's `ImageView`, whose histogram/LUT controls, ROI and menu buttons and
auto-ranged axes (-10..40 for a 28-pixel map) are tools for tuning an image, not for reading
a map. Here the axes span exactly 0..width and 0..height (pixel (i, j) covers [i, i+1] x
[j, j+1]), the view is fixed (no pan, zoom or context menu that could leave it elsewhere),
and the colour bar is a read-only `ColorBarItem` showing the channel's own value range. A bare
`HistogramLUTItem` is never created: one in a `GraphicsLayoutWidget` crashes at exit.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from .. import theme


class ChannelView(QWidget):
    """Shows `maps[channel]` of a [C, H, W] array; `channelChanged(int)` when it steps."""

    channelChanged = Signal(int)

    def __init__(self, cmap: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        layout.addWidget(self.label)
        self.plot = pg.PlotWidget()
        self.plot.setAccessibleName("One channel, large")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)  # row 0 at the top, as the map is stored and the grid shows it
        self.plot.getPlotItem().vb.disableAutoRange()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(cmap)
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=cmap, interactive=False,
                                        width=12)
        self.colorbar.setImageItem(self.image, insert_in=self.plot.getPlotItem())
        layout.addWidget(self.plot, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Channel"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setAccessibleName("Channel shown large")
        self.slider.setRange(0, 0)
        self.slider.setPageStep(1)
        self.slider.valueChanged.connect(self._changed)
        row.addWidget(self.slider, 1)
        layout.addLayout(row)
        self.maps: np.ndarray | None = None

    def apply_theme(self) -> None:
        self.plot.setBackground(theme.current().background)

    def show_maps(self, maps: np.ndarray, channel: int) -> None:
        """Show a new [C, H, W] array at `channel` (clamped to the channels it has)."""
        self.maps = maps
        c, h, w = maps.shape
        self.plot.getPlotItem().vb.setLimits(xMin=0, xMax=w, yMin=0, yMax=h)
        self.plot.setRange(xRange=(0, w), yRange=(0, h), padding=0)
        self.slider.blockSignals(True)  # one redraw below, not one per range change
        self.slider.setRange(0, c - 1)
        self.slider.setValue(min(max(channel, 0), c - 1))
        self.slider.blockSignals(False)
        self._draw()

    def current_channel(self) -> int:
        return int(self.slider.value())

    def set_channel(self, channel: int) -> None:
        self.slider.setValue(channel)

    def _changed(self, _value: int) -> None:
        self._draw()
        self.channelChanged.emit(self.current_channel())

    def _draw(self) -> None:
        if self.maps is None:
            return
        c = self.current_channel()
        m = self.maps[c]
        lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
        levels = (lo, hi if hi > lo else lo + 1.0)
        self.image.setImage(m, levels=levels)
        self.colorbar.setLevels(levels)
        self.label.setText(f"channel {c} of {self.maps.shape[0]} · min {lo:.3g}, "
                           f"max {hi:.3g}, mean {float(np.nanmean(m)):.3g}")
