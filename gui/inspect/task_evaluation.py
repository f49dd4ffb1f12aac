"""The Evaluate tab for the tasks other than classification, one view per evaluation the
task's `evaluate` returns (`engine.probe.evaluations`): predicted against true numbers, the
metrics of each label at a threshold, masks beside their images, reconstructions beside
their inputs. The numbers come from the engine; these widgets only draw them."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QHBoxLayout,
                               QHeaderView, QLabel, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .. import theme
from .generate_view import LanguageModelView
from .sample_views import qimage, to_rgb

#: Samples shown in a picture grid, at most.
SHOWN = 8


def picture(x: np.ndarray, stretch: bool) -> np.ndarray:
    """One sample [C, H, W] as uint8 [H, W, 3]: stretched to its own range (an input), or
    clipped to [0, 1] (a reconstruction or a mask in colour, compared as they are)."""
    if stretch:
        return to_rgb(x)
    x = np.clip(np.asarray(x, dtype=np.float32), 0, 1)
    img = x[:3] if x.shape[0] >= 3 else np.repeat(x[:1], 3, axis=0)
    return np.ascontiguousarray((img.transpose(1, 2, 0) * 255).round().astype(np.uint8))


def grid(rows: list[list[np.ndarray]], gap: int = 2) -> np.ndarray:
    """Pictures [H, W, 3] of one size in rows and columns, with a dark gap between."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    out = np.full((len(rows) * (h + gap) - gap, cols * (w + gap) - gap, 3), 24, np.uint8)
    for i, row in enumerate(rows):
        for j, pic in enumerate(row):
            out[i * (h + gap):i * (h + gap) + h, j * (w + gap):j * (w + gap) + w] = pic
    return out


class PictureGrid(QLabel):
    """A grid of sample pictures, scaled up with sharp pixels to the width it has."""

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setMinimumSize(120, 80)
        self.image: Any = None

    def set_rows(self, rows: list[list[np.ndarray]]) -> None:
        self.image = qimage(grid(rows)) if rows else None
        self._fit()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self.image is None:
            self.clear()
            return
        scale = max(1, min(self.width() // max(self.image.width(), 1),
                           self.height() // max(self.image.height(), 1)))
        self.setPixmap(QPixmap.fromImage(self.image.scaled(
            self.image.width() * scale, self.image.height() * scale,
            Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)))


def table(headers: list[str], name: str) -> QTableWidget:
    view = QTableWidget(0, len(headers))
    view.setAccessibleName(name)
    view.setHorizontalHeaderLabels(headers)
    view.verticalHeader().hide()
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    view.setAlternatingRowColors(True)
    view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    return view


def fill(view: QTableWidget, rows: list[list[str]]) -> None:
    view.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            view.setItem(r, c, item)
    view.resizeColumnsToContents()


def swatch(rgb: tuple[float, float, float], size: int = 12) -> Any:
    """A small square of one colour, for a legend."""
    from PySide6.QtGui import QColor, QIcon

    pixmap = QPixmap(size, size)
    pixmap.fill(QColor.fromRgbF(*rgb))
    return QIcon(pixmap)


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("section")
    return label


class RegressionView(QWidget):
    """Predicted against true for one target (the diagonal is a perfect model), and the
    residuals' histogram, with MAE and R² per target."""

    def __init__(self) -> None:
        super().__init__()
        import pyqtgraph as pg

        self.pg = pg
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        top = QHBoxLayout()
        top.addWidget(heading("Predicted against true"))
        self.target = QComboBox()
        self.target.setAccessibleName("Target")
        self.target.currentIndexChanged.connect(lambda _i: self._draw())
        top.addWidget(self.target)
        top.addStretch(1)
        left.addLayout(top)
        self.scatter = pg.PlotWidget()
        self.scatter.setAccessibleName("Predicted against true")
        self.scatter.setLabel("bottom", "true")
        self.scatter.setLabel("left", "predicted")
        left.addWidget(self.scatter, 1)
        layout.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(heading("Residuals (predicted − true)"))
        self.hist = pg.PlotWidget()
        self.hist.setAccessibleName("Residuals")
        right.addWidget(self.hist, 1)
        self.metrics = table(["target", "MAE", "R²"], "Metrics per target")
        self.metrics.setMaximumHeight(120)
        right.addWidget(self.metrics)
        layout.addLayout(right, 2)
        for plot in (self.scatter, self.hist):
            theme.style_plot(plot)
            plot.setMenuEnabled(False)
        self.ev: Any = None

    def show_eval(self, ev: Any) -> None:
        self.ev = ev
        self.target.blockSignals(True)
        self.target.clear()
        self.target.addItems(ev.names)
        self.target.blockSignals(False)
        self.target.setVisible(len(ev.names) > 1)
        fill(self.metrics, [[name, f"{mae:.4g}", f"{r2:.4f}"]
                            for name, mae, r2 in zip(ev.names, ev.mae(), ev.r2())])
        self._draw()

    def _draw(self) -> None:
        if self.ev is None:
            return
        k = max(self.target.currentIndex(), 0)
        true, pred = self.ev.target[:, k].numpy(), self.ev.pred[:, k].numpy()
        colors = theme.current()
        self.scatter.clear()
        lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        self.scatter.plot([lo, hi], [lo, hi], pen=self.pg.mkPen(colors.node_subtext, width=1,
                                                              style=Qt.PenStyle.DashLine))
        self.scatter.plot(true, pred, pen=None, symbol="o", symbolSize=4,
                          symbolBrush=(91, 141, 239, 150), symbolPen=None)
        residual = (pred - true).astype(np.float64)
        low, high = float(residual.min()), float(residual.max())
        if not high - low > 1e-6 * max(abs(low), 1.0):  # all the same residual: one bar
            low, high = low - 0.5, high + 0.5
        counts, edges = np.histogram(residual, bins=30, range=(low, high))
        self.hist.clear()
        self.hist.addItem(self.pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=counts,
                                               brush=(240, 140, 58, 180), pen=None))


class LabelView(QWidget):
    """Precision, recall and F1 of each label at a threshold the person sets."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(heading("Per label"))
        top.addStretch(1)
        top.addWidget(QLabel("threshold"))
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.05, 0.95)
        self.threshold.setSingleStep(0.05)
        self.threshold.setValue(0.5)
        self.threshold.setAccessibleName("Threshold")
        self.threshold.setToolTip("A label counts as predicted where its probability is at "
                                  "least this (training validates at 0.5)")
        self.threshold.valueChanged.connect(lambda _v: self._fill())
        top.addWidget(self.threshold)
        layout.addLayout(top)
        self.summary = QLabel(" ")
        layout.addWidget(self.summary)
        self.table = table(["label", "precision", "recall", "F1", "support"], "Metrics per label")
        layout.addWidget(self.table, 1)
        self.ev: Any = None

    def show_eval(self, ev: Any) -> None:
        self.ev = ev
        self._fill()

    def _fill(self) -> None:
        if self.ev is None:
            return
        t = self.threshold.value()
        fill(self.table, [[m.name, f"{m.precision:.3f}", f"{m.recall:.3f}", f"{m.f1:.3f}",
                           f"{m.support:,}"] for m in self.ev.per_label(t)])
        self.summary.setText(f"micro F1 {self.ev.micro_f1(t):.3f} · exact match "
                             f"{self.ev.exact(t):.1%} of {len(self.ev.target):,} samples")


class MaskView(QWidget):
    """Input, true mask and predicted mask side by side, the worst samples first, and the
    IoU of each class."""

    def __init__(self) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(heading("Inputs, true masks and predicted masks (worst first)"))
        self.pictures = PictureGrid()
        left.addWidget(self.pictures, 1)
        layout.addLayout(left, 3)
        right = QVBoxLayout()
        right.addWidget(heading("IoU per class"))
        self.summary = QLabel(" ")
        right.addWidget(self.summary)
        self.table = table(["class", "IoU", "pixels"], "IoU per class")
        right.addWidget(self.table, 1)
        layout.addLayout(right, 2)

    def show_eval(self, ev: Any) -> None:
        from torchloom.engine.data.preview import MASK_PALETTE, mask_images

        order = ev.sample_iou().argsort()[:SHOWN]
        true, pred = mask_images(ev.target[order]).numpy(), mask_images(ev.pred[order]).numpy()
        x = ev.x[order].numpy()
        self.pictures.set_rows([[picture(s, True) for s in x], [picture(s, False) for s in true],
                                [picture(s, False) for s in pred]])
        counts = ev.confusion().sum(1).tolist()
        fill(self.table, [[name, "—" if iou is None else f"{iou:.3f}", f"{n:,}"]
                          for name, iou, n in zip(ev.classes, ev.iou(), counts)])
        for k in range(len(ev.classes)):  # each class's row in its colour in the masks
            colour = MASK_PALETTE[k % len(MASK_PALETTE)]
            self.table.item(k, 0).setIcon(swatch(colour))
        self.summary.setText(f"mean IoU {ev.miou():.3f} · pixel accuracy {ev.pixel_acc():.2%}")


class ReconstructionView(QWidget):
    """Inputs above what the model made of them: the worst reconstructions first."""

    def __init__(self) -> None:
        super().__init__()
        import pyqtgraph as pg

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Inputs (top) and their reconstructions (below), worst first"))
        self.summary = QLabel(" ")
        layout.addWidget(self.summary)
        self.pages = QStackedWidget()
        self.pictures = PictureGrid()
        self.curves = pg.PlotWidget()
        self.curves.setAccessibleName("Inputs and their reconstructions")
        theme.style_plot(self.curves)
        self.pages.addWidget(self.pictures)
        self.pages.addWidget(self.curves)
        layout.addWidget(self.pages, 1)
        self.pg = pg

    def show_eval(self, ev: Any) -> None:
        order = ev.worst_first()[:SHOWN]
        errors = ev.errors()
        self.summary.setText(f"mean squared error {float(errors.mean()):.4g} per value over "
                             f"{len(errors):,} samples (worst {float(errors.max()):.4g})")
        x, recon = ev.x[order].float().numpy(), ev.recon[order].float().numpy()
        if x.ndim == 4:
            self.pictures.set_rows([[picture(s, False) for s in x],
                                    [picture(s, False) for s in recon]])
            self.pages.setCurrentWidget(self.pictures)
            return
        self.curves.clear()
        for i, colour in zip(range(min(3, len(x))), ("#5b8def", "#f08c3a", "#3fa37a")):
            flat, made = x[i].reshape(-1), recon[i].reshape(-1)
            self.curves.plot(flat, pen=self.pg.mkPen(colour, width=2))
            self.curves.plot(made, pen=self.pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
        self.pages.setCurrentWidget(self.curves)


#: The widget of each Evaluate view, by the name a task declares in its `views`.
VIEWS = {"scatter": RegressionView, "labels": LabelView, "masks": MaskView,
         "reconstructions": ReconstructionView, "generate": LanguageModelView}


class TaskEvaluation(QStackedWidget):
    """Shows a task's evaluation in the view the task declares (made on first use)."""

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, QWidget] = {}

    def view(self, name: str) -> QWidget:
        if name not in self.views:
            self.views[name] = VIEWS[name]()
            self.addWidget(self.views[name])
        return self.views[name]

    def show_eval(self, ev: Any, name: str) -> QWidget:
        view = self.view(name)
        view.show_eval(ev)  # type: ignore[attr-defined]
        self.setCurrentWidget(view)
        return view

    def show_live(self, live: Any, name: str) -> QWidget | None:
        """A view that can work during training (`set_live`) gets the run's live weights."""
        view = self.view(name)
        if not hasattr(view, "set_live"):
            return None
        view.set_live(live)  # type: ignore[attr-defined]
        self.setCurrentWidget(view)
        return view
