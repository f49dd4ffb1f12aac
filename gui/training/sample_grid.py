"""A run's sample grid: what a generating task's model makes of a fixed input batch (a GAN's
latent vectors), shown after each epoch. The engine writes the PNG; the grid reads it when
the epoch's report arrives (a few hundred pixels square: a millisecond of decoding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


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
