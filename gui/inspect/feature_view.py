"""Feature maps of a convolution: every channel in one grid, and one channel large.

The grid is one `ImageItem` over a tiled array (one texture, however many channels), with
a colour bar; the large view (channel_view.py) is one channel in pixel axes with its own
colour bar and a slider that steps through channels.
Clicking a cell in the grid shows that channel large.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from .channel_view import ChannelView


def tile_channels(maps: np.ndarray, normalise: bool = True,
                  gap: int = 1) -> tuple[np.ndarray, int]:
    """[C, H, W] -> one [rows*(H+gap)-gap, cols*(W+gap)-gap] array, near-square, and the
    column count. Gaps are NaN (drawn as background). With `normalise`, each channel is
    stretched to 0..1 on its own, so a weak filter's pattern is as visible as a strong one's.
    """
    c, h, w = maps.shape
    cols = max(1, math.ceil(math.sqrt(c * h / max(w, 1))))
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, dtype=np.float32)
    for i in range(c):
        m = maps[i].astype(np.float32)
        if normalise:
            lo, hi = float(np.nanmin(m)), float(np.nanmax(m))
            m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
        r, k = divmod(i, cols)
        out[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = m
    return out, cols


class FeatureMapView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.cmap = pg.colormap.get("viridis")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        top = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.normalise = QCheckBox("Scale each channel")
        self.normalise.setChecked(True)
        self.normalise.setToolTip("Stretch every channel to its own range (off: one scale "
                                  "for all, so strong and weak channels compare)")
        self.normalise.toggled.connect(lambda _on: self._draw_grid())
        top.addWidget(self.caption, 1)
        top.addWidget(self.normalise)
        left.addLayout(top)
        self.grid_plot = pg.PlotWidget()
        self.grid_plot.setAccessibleName("Feature maps, one per channel")
        self.grid_plot.setMenuEnabled(False)
        self.grid_plot.hideAxis("left")
        self.grid_plot.hideAxis("bottom")
        self.grid_plot.setAspectLocked(True)
        self.grid_plot.invertY(True)
        self.grid_image = pg.ImageItem(axisOrder="row-major")
        self.grid_image.setColorMap(self.cmap)
        self.grid_plot.addItem(self.grid_image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False,
                                        width=12)
        self.colorbar.setImageItem(self.grid_image, insert_in=self.grid_plot.getPlotItem())
        self.grid_plot.scene().sigMouseClicked.connect(self._grid_clicked)
        left.addWidget(self.grid_plot, 1)
        layout.addLayout(left, 3)
        self.channel_view = ChannelView(self.cmap)
        self.channel_label = self.channel_view.label
        layout.addWidget(self.channel_view, 2)
        self.maps: np.ndarray | None = None
        self.cols = 1
        self.apply_theme()

    @property
    def channels(self) -> int:
        return 0 if self.maps is None else int(self.maps.shape[0])

    def apply_theme(self) -> None:
        colors = theme.current()
        self.grid_plot.setBackground(colors.background)
        self.channel_view.apply_theme()

    def show_maps(self, maps: np.ndarray, keep_channel: bool = True) -> None:
        """[C, H, W] activations of one sample."""
        channel = self.current_channel() if keep_channel and self.maps is not None else 0
        same_shape = self.maps is not None and self.maps.shape == maps.shape
        self.maps = np.asarray(maps, dtype=np.float32)
        c, h, w = self.maps.shape
        self.caption.setText(f"{c} channels of {h}×{w} · click one to enlarge it")
        self._draw_grid(autorange=not same_shape)
        self.channel_view.show_maps(self.maps, channel)

    def _draw_grid(self, autorange: bool = False) -> None:
        if self.maps is None:
            return
        tiled, self.cols = tile_channels(self.maps, self.normalise.isChecked())
        finite = tiled[np.isfinite(tiled)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        hi = hi if hi > lo else lo + 1.0
        self.grid_image.setImage(tiled, levels=(lo, hi))
        self.colorbar.setLevels((lo, hi))
        if autorange:
            self.grid_plot.autoRange(padding=0.01)

    def current_channel(self) -> int:
        return self.channel_view.current_channel()

    def set_channel(self, channel: int) -> None:
        self.channel_view.set_channel(channel)

    def channel_at(self, x: float, y: float) -> int | None:
        """The channel under grid coordinates (x, y), or None in a gap."""
        if self.maps is None:
            return None
        _, h, w = self.maps.shape
        col, row = int(x // (w + 1)), int(y // (h + 1))
        if x < 0 or y < 0 or col >= self.cols or x % (w + 1) >= w or y % (h + 1) >= h:
            return None
        index = row * self.cols + col
        return index if index < self.channels else None

    def _grid_clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        if not self.grid_plot.getPlotItem().sceneBoundingRect().contains(pos):
            return
        point = self.grid_plot.getPlotItem().vb.mapSceneToView(pos)
        channel = self.channel_at(point.x(), point.y())
        if channel is not None:
            self.set_channel(channel)

