"""Any other node: a histogram of one sample's activations and its strongest units."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QVBoxLayout, QWidget

from .. import theme

BINS = 40


def top_units(values: np.ndarray, k: int = 10) -> list[tuple[str, float]]:
    """The k largest activations with their unit: ``"17"`` or ``"3, 17"`` (position, unit)
    for sequences."""
    flat = values.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:k]
    shape = values.shape
    out = []
    for i in order:
        where = np.unravel_index(int(i), shape)
        out.append((", ".join(str(int(w)) for w in where), float(flat[i])))
    return out


class ActivationView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = pg.PlotWidget()
        self.plot.setAccessibleName("Activation histogram")
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "activation")
        self.plot.setLabel("left", "units")
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], y0=0, brush="#5b8def", pen=None)
        self.plot.addItem(self.bars)
        layout.addWidget(self.plot, 3)
        right = QVBoxLayout()
        self.stats = QLabel("")
        self.stats.setWordWrap(True)
        right.addWidget(self.stats)
        right.addWidget(QLabel("Strongest units"))
        self.top = QListWidget()
        self.top.setAccessibleName("Strongest units")
        right.addWidget(self.top, 1)
        layout.addLayout(right, 1)
        self.apply_theme()

    def apply_theme(self) -> None:
        theme.style_plot(self.plot)

    def show_values(self, values: np.ndarray) -> None:
        """One sample's activations, any shape."""
        values = np.asarray(values, dtype=np.float32)
        flat = values.reshape(-1)
        finite = flat[np.isfinite(flat)]
        if finite.size == 0:
            self.bars.setOpts(x0=[], x1=[], height=[])
            self.stats.setText("no finite values")
            self.top.clear()
            return
        lo, hi = float(finite.min()), float(finite.max())
        counts, edges = np.histogram(finite, bins=BINS, range=(lo, hi if hi > lo else lo + 1))
        self.bars.setOpts(x0=edges[:-1], x1=edges[1:], height=counts)
        self.plot.autoRange(padding=0.02)
        zero = float((finite == 0).mean())
        self.stats.setText(f"{finite.size:,} values · mean {finite.mean():.3g} · std "
                           f"{finite.std():.3g}<br>min {lo:.3g} · max {hi:.3g} · "
                           f"{100 * zero:.0f} % exactly zero")
        self.top.clear()
        for where, value in top_units(values):
            self.top.addItem(f"unit {where}: {value:.3g}")
