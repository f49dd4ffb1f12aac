"""The Sweep tab's plots (pyqtgraph): parallel coordinates over every swept name and the
metric, and a slice plot of the metric against each name.

Each axis of the parallel coordinates spans its own range (log-spaced ranges in log space,
a list of choices by position), so trials read as lines from left to right, coloured from
the worst metric (dark) to the best (bright).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from PySide6.QtWidgets import QHBoxLayout, QWidget

from .. import theme


class SweepPlots(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.parallel = pg.PlotWidget()
        self.parallel.setTitle("Parallel coordinates", size="9pt")
        self.parallel.setMenuEnabled(False)
        self.parallel.hideAxis("left")
        self.parallel.setAccessibleName("Sweep parallel coordinates")
        self.slices = pg.GraphicsLayoutWidget()
        self.slices.setAccessibleName("Sweep metric against each parameter")
        layout.addWidget(self.parallel, 1)
        layout.addWidget(self.slices, 1)
        self.space: list[Any] = []
        self.metric_name = ""  # not `metric`: that would shadow QWidget.metric() (a crash)
        self.mode = "max"
        #: the lines drawn, one per trial with a value (tests count them)
        self.lines: list[Any] = []
        self.metric_labels: list[Any] = []
        self.axis_labels: list[Any] = []
        self.slice_plots: list[Any] = []
        self.colormap = pg.colormap.get("viridis")
        self.apply_theme()

    def apply_theme(self) -> None:
        theme.style_plot(self.parallel, axes=("bottom",))
        self.slices.setBackground(theme.current().background)
        for plot in self.slice_plots:
            theme.style_plot(plot)

    def set_space(self, space: Sequence[Any], metric: str, mode: str) -> None:
        """A new sweep: axes for its names, no trials yet."""
        self.space, self.metric_name, self.mode = list(space), metric, mode
        names = [p.name for p in self.space] + [metric]
        self.parallel.clear()
        self.lines, self.metric_labels = [], []
        # every other name one line lower, so long ones (fc1.out_features) do not collide
        self.parallel.getAxis("bottom").setTicks(
            [[(i, name if i % 2 == 0 else "\n" + name) for i, name in enumerate(names)]])
        self.parallel.getAxis("bottom").setHeight(40)
        self.parallel.setXRange(-0.35, len(names) - 0.65, padding=0)
        self.parallel.setYRange(-0.25, 1.25, padding=0)
        self.parallel.setMouseEnabled(x=False, y=False)
        colour = theme.current().node_subtext
        self.axis_labels: list[Any] = []
        for i, param in enumerate(self.space):
            self.parallel.addItem(self.pg.InfiniteLine(i, angle=90, pen=self.pg.mkPen(
                colour, width=1)))
            low, high = _ends(param)
            self._axis_label(i, 0.0, low, colour, top=False)
            self._axis_label(i, 1.0, high, colour, top=True)
        self.parallel.addItem(self.pg.InfiniteLine(len(self.space), angle=90,
                                                   pen=self.pg.mkPen(colour, width=1)))
        self.slices.clear()
        self.slice_plots = []
        for i, param in enumerate(self.space):
            plot = self.slices.addPlot(row=0, col=i)
            plot.setTitle(param.name, size="9pt")
            if i == 0:
                plot.setLabel("left", metric)
            else:  # one metric axis for the row: the plots share it
                plot.hideAxis("left")
                plot.setYLink(self.slice_plots[0])
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setMenuEnabled(False)
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            if param.kind == "choice":
                plot.getAxis("bottom").setTicks(
                    [[(j, _label(c)) for j, c in enumerate(param.choices)]])
                plot.setXRange(-0.5, len(param.choices) - 0.5)
            elif param.log:  # the view is in log10 units in log mode
                plot.setLogMode(x=True, y=False)
                plot.setXRange(math.log10(param.low), math.log10(param.high))
            else:
                plot.setXRange(float(param.low), float(param.high))
            plot.enableAutoRange(x=False, y=True)
            theme.style_plot(plot)
            self.slice_plots.append(plot)
        self.show_trials([])

    def _axis_label(self, x: float, y: float, value: Any, colour: str, top: bool) -> None:
        label = self.pg.TextItem(_label(value), color=colour,
                                 anchor=(0.5, 1.0) if top else (0.5, 0.0))
        label.setPos(x, y + (0.02 if top else -0.02))
        self.parallel.addItem(label)
        self.axis_labels.append(label)

    def show_trials(self, trials: Sequence[Any]) -> None:
        """Redraw from the trials (`TrialRecord`s); those without a value are left out."""
        pg = self.pg
        for line in self.lines + self.metric_labels:
            self.parallel.removeItem(line)
        self.lines, self.metric_labels = [], []
        for plot in self.slice_plots:
            plot.clear()
        scored = [t for t in trials if t.value is not None
                  and all(p.name in t.params for p in self.space)]
        if not scored:
            return
        values = [float(t.value) for t in scored]
        low, high = min(values), max(values)
        span = (high - low) or 1.0
        colour = theme.current().node_subtext
        for y, value, top in ((0.0, low, False), (1.0, high, True)):
            self._axis_label(len(self.space), y, f"{value:.4g}", colour, top)
            self.metric_labels.append(self.axis_labels.pop())
        for trial in sorted(scored, key=lambda t: self._goodness(t.value, low, span)):
            good = self._goodness(trial.value, low, span)
            colour = self.colormap.map(0.15 + 0.85 * good, mode="qcolor")
            ys = [self._position(p, trial.params[p.name]) for p in self.space]
            ys.append((float(trial.value) - low) / span)
            style = pg.QtCore.Qt.PenStyle.DashLine if trial.state == "pruned" else \
                pg.QtCore.Qt.PenStyle.SolidLine
            line = self.parallel.plot(list(range(len(ys))), ys, symbol="o", symbolSize=5,
                                      symbolBrush=colour, symbolPen=None,
                                      pen=pg.mkPen(colour, width=2, style=style))
            self.lines.append(line)
            for plot, param in zip(self.slice_plots, self.space):
                x = self._slice_x(param, trial.params[param.name])
                plot.plot([x], [float(trial.value)], pen=None, symbol="o", symbolSize=8,
                          symbolBrush=colour, symbolPen=None)

    def _goodness(self, value: float, low: float, span: float) -> float:
        """0 for the worst value so far, 1 for the best, whichever way the metric points."""
        t = (float(value) - low) / span
        return t if self.mode == "max" else 1.0 - t

    @staticmethod
    def _position(param: Any, value: Any) -> float:
        if param.kind == "choice":
            n = len(param.choices)
            index = _index(param.choices, value)
            return 0.5 if n == 1 else index / (n - 1)
        low, high, v = float(param.low), float(param.high), float(value)
        if param.log:
            low, high, v = math.log(low), math.log(high), math.log(v)
        return 0.5 if high == low else (v - low) / (high - low)

    @staticmethod
    def _slice_x(param: Any, value: Any) -> float:
        if param.kind == "choice":
            return float(_index(param.choices, value))
        return float(value)  # a log axis is pyqtgraph's log mode, which takes raw values


def _index(choices: Sequence[Any], value: Any) -> int:
    for i, choice in enumerate(choices):
        if choice == value:
            return i
    return 0


def _ends(param: Any) -> tuple[Any, Any]:
    """What the bottom and the top of a parameter's axis stand for."""
    if param.kind == "choice":
        return param.choices[0], param.choices[-1]
    return param.low, param.high


def _label(value: Any) -> str:
    from torchloom.engine.sweep.space import format_value

    return format_value(value)
