"""Where the model looked for one sample: the input with its gradient laid over it, and a
Grad-CAM map at a chosen feature-map layer (the clean input sits small beside the caption);
for token inputs one coloured label per token, for other inputs a bar per feature.

The maps arrive as numpy arrays (the panel computes them off the GUI thread); here they
only become pictures. Heat is drawn in inferno over a dimmed grey copy of the input, its
opacity rising with the value, so the places that matter stand out and the rest of the
picture stays recognisable.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QSizePolicy, QStackedWidget,
                               QVBoxLayout, QWidget)

from .. import theme
from .sample_views import qimage, thumbnail, to_rgb


def heat_lut() -> np.ndarray:
    import pyqtgraph as pg

    return pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256)[:, :3]


def normalise(values: np.ndarray) -> np.ndarray:
    """|values| scaled to [0, 1], clipped at the 99th percentile: one hot pixel must not
    turn the rest of the map black."""
    a = np.abs(np.nan_to_num(np.asarray(values, dtype=np.float64)))
    top = float(np.percentile(a, 99)) if a.size else 0.0
    top = top if top > 0 else float(a.max(initial=0.0))
    return np.clip(a / top, 0.0, 1.0) if top > 0 else np.zeros_like(a)


def overlay(x: np.ndarray, heat: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3]: heat [H, W] in [0, 1] over a dimmed grey copy of the input."""
    base = to_rgb(x).astype(np.float64).mean(axis=2, keepdims=True) * 0.55
    h = np.clip(np.nan_to_num(heat), 0.0, 1.0)
    colour = lut[np.round(h * 255).astype(np.int64)].astype(np.float64)
    alpha = (0.15 + 0.8 * h)[..., None]
    return np.round(base * (1 - alpha) + colour * alpha).astype(np.uint8)


class ScaledImage(QLabel):
    """A picture that fills its label, keeping its aspect; small inputs keep sharp pixels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(48, 48)
        # Ignored: the pixmap follows the label's size, never the other way round
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, image: QImage | None) -> None:
        self.image = image
        self._rescale()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(140, 140)

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.image is None or self.image.isNull():
            self.clear()
            return
        side = max(16, min(self.width(), self.height()) - 4)
        sharp = max(self.image.width(), self.image.height()) < side
        mode = (Qt.TransformationMode.FastTransformation if sharp
                else Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(QPixmap.fromImage(self.image.scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, mode)))


def captioned(widget: QWidget, caption: QWidget, height: int) -> QWidget:
    """A picture over its caption row; captions share one height so pictures line up."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(widget, 1)
    caption.setFixedHeight(height)
    layout.addWidget(caption)
    return box


class SaliencyView(QWidget):
    """`node_changed(node_id)` when the person picks another Grad-CAM layer."""

    node_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lut = heat_lut()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.title = QLabel("Saliency")
        self.title.setObjectName("section")
        self.title.setMinimumWidth(20)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.title)
        self.nodes = QComboBox()
        self.nodes.setAccessibleName("Layer")
        self.nodes.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.nodes.setMinimumContentsLength(8)
        self.nodes.setToolTip("The layer whose gradient-weighted feature maps make the "
                              "Grad-CAM picture: later layers show what, earlier ones where")
        self.nodes.currentIndexChanged.connect(self._node_picked)
        info = QHBoxLayout()
        self.thumb = QLabel()
        self.thumb.setFixedSize(44, 44)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        info.addWidget(self.thumb)
        self.caption = QLabel(" ")
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        info.addWidget(self.caption, 1)
        layout.addLayout(info)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        self.message = QLabel("Select a sample (a cell's samples or a mistake) to see where "
                              "the model looked.")
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.message)
        images = QWidget()
        row = QHBoxLayout(images)
        row.setContentsMargins(0, 0, 0, 0)
        self.gradient_image, self.cam_image = ScaledImage(), ScaledImage()
        height = self.nodes.sizeHint().height()
        self.gradient_caption = QLabel("input gradient")
        self.gradient_caption.setObjectName("muted")
        self.gradient_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.gradient_caption.setSizePolicy(QSizePolicy.Policy.Ignored,
                                            QSizePolicy.Policy.Preferred)
        row.addWidget(captioned(self.gradient_image, self.gradient_caption, height), 1)
        pick = QWidget()
        line = QHBoxLayout(pick)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(self.nodes, 1)
        self.cam_box = captioned(self.cam_image, pick, height)
        row.addWidget(self.cam_box, 1)
        self.stack.addWidget(images)
        self.tokens = QLabel()
        self.tokens.setWordWrap(True)
        self.tokens.setTextFormat(Qt.TextFormat.RichText)
        self.tokens.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stack.addWidget(self.tokens)
        import pyqtgraph as pg

        self.pg = pg
        self.bars = pg.PlotWidget()
        self.bars.setAccessibleName("Saliency per token")
        self.bars.setMenuEnabled(False)
        self.bars.hideButtons()
        self.bars.setLabel("bottom", "feature")
        self.bar_item: object | None = None
        self.stack.addWidget(self.bars)
        self.gradient: np.ndarray | None = None  # the last saliency shown, for tests
        self.cam: np.ndarray | None = None
        self.set_nodes([])
        self.apply_theme()

    def apply_theme(self) -> None:
        theme.style_plot(self.bars)

    # ---- the Grad-CAM layer ----------------------------------------------------------

    def set_nodes(self, nodes: list[str]) -> None:
        """Convolutions to offer; the last one first chosen (it sees whole objects)."""
        self.nodes.blockSignals(True)
        self.nodes.clear()
        for node in nodes:
            self.nodes.addItem(f"Grad-CAM: {node}", node)
        if nodes:
            self.nodes.setCurrentIndex(len(nodes) - 1)
        self.nodes.blockSignals(False)
        self.nodes.setVisible(bool(nodes))
        self.gradient_caption.setText("input gradient" if nodes else
                                      "input gradient (no feature maps for Grad-CAM)")
        # no feature maps (an MLP): the gradient gets the room
        self.cam_box.setVisible(bool(nodes))

    def node(self) -> str | None:
        return self.nodes.currentData() or None

    def select_node(self, node: str) -> None:
        self.nodes.setCurrentIndex(self.nodes.findData(node))

    def _node_picked(self, _row: int) -> None:
        node = self.node()
        if node:
            self.node_changed.emit(node)

    # ---- what is shown ---------------------------------------------------------------

    def show_message(self, text: str, error: bool = False, title: str = "Saliency") -> None:
        colour = theme.current().error if error else theme.current().node_subtext
        self.message.setStyleSheet(f"color: {colour}")
        self.message.setText(text)
        self.title.setText(title)
        self.caption.setText(" ")
        self.thumb.clear()
        self.thumb.hide()
        self.stack.setCurrentWidget(self.message)

    def show_image(self, x: np.ndarray, gradient: np.ndarray, cam: np.ndarray | None,
                   title: str, caption: str) -> None:
        """`x` [C, H, W] raw input, `gradient` same shape, `cam` [H, W] in [0, 1]."""
        grad = np.asarray(gradient)
        heat = normalise(grad.max(axis=0) if grad.ndim == 3 else grad)
        self.gradient, self.cam = heat, cam
        self.title.setText(title)
        self.caption.setText(caption)
        self.thumb.setPixmap(thumbnail(x, 44))
        self.thumb.show()
        self.gradient_image.set_image(qimage(overlay(x, heat, self.lut)))
        if cam is not None:
            self.cam_image.set_image(qimage(overlay(x, np.asarray(cam), self.lut)))
        else:
            self.cam_image.set_image(None)
        self.stack.setCurrentIndex(1)

    def show_tokens(self, tokens: np.ndarray, saliency: np.ndarray, title: str,
                    caption: str, words: Any = None) -> None:
        """One label per token, its background as hot as the token's saliency; with `words`
        (`sample_views.TokenWords`) the tokens are words and padding is left out."""
        ids = np.asarray(tokens).reshape(-1)
        heat = np.asarray(saliency, dtype=np.float64).reshape(-1)
        if words is not None:
            real = np.array([not words.is_pad(int(t)) for t in ids], dtype=bool)
            ids, heat = ids[real], heat[real]
        heat = normalise(heat)
        self.gradient, self.cam = heat, None
        self.title.setText(title)
        self.caption.setText(caption + "  ·  brighter: the token mattered more")
        self.thumb.clear()
        self.thumb.hide()
        spans = []
        for token, h in zip(ids, heat):
            r, g, b = (int(c) for c in self.lut[int(round(float(h) * 255))])
            ink = "#111418" if (0.2126 * r + 0.7152 * g + 0.0722 * b) > 140 else "#f4f6fa"
            spans.append(f"<span style='background-color:rgb({r},{g},{b}); color:{ink};'>"
                         f"&nbsp;{escape(words.word(int(token)) if words else str(int(token)))}"
                         "&nbsp;</span>")
        self.tokens.setText("<p style='line-height:160%; font-size:12pt;'>"
                            + " ".join(spans) + "</p>")
        self.stack.setCurrentWidget(self.tokens)

    def show_features(self, saliency: np.ndarray, title: str, caption: str) -> None:
        """A bar per input feature: |gradient| of the score."""
        heat = np.abs(np.nan_to_num(np.asarray(saliency, dtype=np.float64).reshape(-1)))
        self.gradient, self.cam = heat, None
        self.title.setText(title)
        self.caption.setText(caption)
        self.thumb.clear()
        self.thumb.hide()
        if self.bar_item is not None:
            self.bars.removeItem(self.bar_item)
        self.bar_item = self.pg.BarGraphItem(x=np.arange(heat.size), height=heat, width=0.8,
                                             brush="#f08c3a", pen=None)
        self.bars.addItem(self.bar_item)
        self.bars.setLabel("left", "|gradient|")
        self.stack.setCurrentWidget(self.bars)
