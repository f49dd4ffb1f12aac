"""Samples as a person recognises them: images as thumbnails, token sequences and feature
rows as short text. Used by the Evaluate panel's sample strip and mistakes list.

Only numpy and Qt here: the panel reads the few samples it shows (at most a few dozen) and
hands them over as numpy arrays, so nothing in this file touches torch.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

INDEX_ROLE = Qt.ItemDataRole.UserRole


def is_image(shape: Sequence[int]) -> bool:
    """[C, H, W] samples are pictures; everything else is shown as numbers."""
    return len(shape) == 3


def to_rgb(x: np.ndarray) -> np.ndarray:
    """[C, H, W] (or [H, W]) floats -> uint8 [H, W, 3], stretched to the sample's own range
    so a dim or normalised picture is still visible. More than three channels: the first."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    img = x[:3] if x.shape[0] >= 3 else np.repeat(x[:1], 3, axis=0)
    finite = np.isfinite(img)
    lo = float(img[finite].min()) if finite.any() else 0.0
    hi = float(img[finite].max()) if finite.any() else 0.0
    img = np.where(finite, (img - lo) / (hi - lo), 0.0) if hi > lo else np.zeros_like(img)
    return np.ascontiguousarray((img.transpose(1, 2, 0) * 255).round().astype(np.uint8))


def qimage(rgb: np.ndarray) -> QImage:
    """uint8 [H, W, 3] -> a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0],
                   QImage.Format.Format_RGB888)
    return image.copy()  # the numpy buffer goes away


def thumbnail(x: np.ndarray, size: int) -> QPixmap:
    """A square-fitted thumbnail; small pictures keep sharp pixels when enlarged."""
    image = qimage(to_rgb(x))
    sharp = max(image.width(), image.height()) < size
    mode = (Qt.TransformationMode.FastTransformation if sharp
            else Qt.TransformationMode.SmoothTransformation)
    return QPixmap.fromImage(image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode))


class TokenWords:
    """Token ids as the words a person reads: a text dataset's tokenizer, or the names a
    built-in gives its tokens; padding left out."""

    def __init__(self, tokenizer: Any = None, names: Sequence[str] | None = None) -> None:
        self.tokenizer = tokenizer
        self.names = list(names) if names else None
        self.pad = getattr(tokenizer, "pad_id", None)

    @classmethod
    def of(cls, data: Any) -> "TokenWords | None":
        """For a `Dataset` of token ids that says what its ids mean, else None."""
        if data is None or getattr(data, "several", False):
            return None
        tokenizer = getattr(data, "tokenizer", None)
        names = token_names(data.info.get("tokens"), tokenizer)
        if tokenizer is None and names is None:
            return None
        return cls(tokenizer, names)

    def text(self, ids: np.ndarray) -> str:
        """The sample as text (padding dropped)."""
        values = [int(i) for i in np.asarray(ids).reshape(-1)]
        if self.tokenizer is not None:
            return self.tokenizer.decode(values)
        return " ".join(self.word(i) for i in values)

    def word(self, token: int) -> str:
        if self.tokenizer is not None:
            return self.tokenizer.tokens([token])[0]
        names = self.names or []
        return names[token] if 0 <= token < len(names) else str(token)

    def is_pad(self, token: int) -> bool:
        return self.pad is not None and int(token) == self.pad


def token_names(declared: Any, tokenizer: Any = None) -> list[str] | None:
    """The name of each token id: a text dataset's tokenizer's vocabulary, else the names a
    built-in declares. A corpus's "tokens" in its info is how many it holds, not names."""
    vocab = getattr(tokenizer, "vocab", None)
    if isinstance(vocab, (list, tuple)) and vocab:
        return list(vocab)
    if isinstance(declared, (list, tuple)) and all(isinstance(t, str) for t in declared):
        return list(declared)
    return None


def sample_text(x: np.ndarray, limit: int = 12, words: TokenWords | None = None) -> str:
    """Token ids (as text where `words` says what they mean) or feature values, the first
    `limit` of them."""
    flat = np.asarray(x).reshape(-1)
    if words is not None and np.issubdtype(flat.dtype, np.integer):
        text = words.text(flat)
        return text if len(text) <= 160 else text[:159] + "…"
    if np.issubdtype(flat.dtype, np.integer):
        parts = [str(int(v)) for v in flat[:limit]]
    else:
        parts = [f"{float(v):.3g}" for v in flat[:limit]]
    return " ".join(parts) + (" …" if flat.size > limit else "")


class SampleList(QListWidget):
    """Samples with a caption each; `sample_chosen(index)` when the person picks one.

    `grid=True` lays image thumbnails out left to right and wraps (the sample strip);
    otherwise one sample per line with its caption beside it (the mistakes list). Samples
    that are not images show their numbers as text in both.
    """

    sample_chosen = Signal(int)

    def __init__(self, grid: bool, icon_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = grid
        self.icon = icon_size
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(icon_size, icon_size))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.currentItemChanged.connect(lambda item, _old: self._chosen(item))
        self.itemClicked.connect(self._chosen)

    def set_samples(self, x: np.ndarray | None, indices: Sequence[int],
                    captions: Sequence[str], tooltips: Sequence[str] | None = None,
                    words: TokenWords | None = None) -> None:
        """`x` holds the samples in `indices` order ([k, ...] numpy), or None for none;
        `words` shows token ids as text."""
        self.blockSignals(True)
        self.clear()
        images = x is not None and is_image(x.shape[1:])
        grid = self.grid and images
        self.setViewMode(QListView.ViewMode.IconMode if grid else QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight if grid else QListView.Flow.TopToBottom)
        self.setWrapping(grid)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        if grid:
            self.setGridSize(QSize(self.icon + 14, self.icon + 22))
        else:
            self.setGridSize(QSize())
        text = words is not None and x is not None and not images
        self.setWordWrap(text)  # a review is read whole, over a few lines
        self.setUniformItemSizes(not text)
        for row, (index, caption) in enumerate(zip(indices, captions)):
            item = QListWidgetItem(caption)
            if x is not None and images:
                item.setIcon(QIcon(thumbnail(x[row], self.icon)))
            elif x is not None:
                shown = sample_text(x[row], words=words)
                if words is not None:  # the text first, what went wrong under it
                    item.setText(f"{shown}\n{caption}" if caption else shown)
                else:
                    item.setText(f"{caption}   {shown}" if caption else shown)
            if grid:
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setData(INDEX_ROLE, int(index))
            if tooltips is not None:
                item.setToolTip(tooltips[row])
            self.addItem(item)
        self.blockSignals(False)

    def indices(self) -> list[int]:
        return [int(self.item(r).data(INDEX_ROLE)) for r in range(self.count())]

    def select_index(self, index: int) -> bool:
        """Make the sample `index` current (and say it was chosen); False if not listed."""
        for row in range(self.count()):
            if self.item(row).data(INDEX_ROLE) == index:
                self.setCurrentRow(row)
                self._chosen(self.item(row))
                return True
        return False

    def _chosen(self, item: QListWidgetItem | None) -> None:
        if item is not None and item.data(INDEX_ROLE) is not None:
            self.sample_chosen.emit(int(item.data(INDEX_ROLE)))
