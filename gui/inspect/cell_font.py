"""How big the counts in a heatmap's cells can be written, and how big a cell must be.

The confusion matrix writes a count in every cell. A fixed font size reads well for two
digits and overflows at three or four (a 17-pixel cell with "1234" in it), so the font is
chosen to fit the cell with a margin on every side, between a readable smallest and a
largest size; the view asks for enough room that the widest count fits at a comfortable size.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QFontMetricsF

#: The smallest size a count is written at; below it the number is not written (the hover
#: line and the tooltip still say it).
MIN_POINTS = 7.0
#: The largest: big enough to read, small enough not to shout in a two-class matrix.
MAX_POINTS = 11.0
#: The size the view asks room for: a little above the smallest, so that where there is
#: room the counts are comfortable to read, and only a crowded panel gets MIN_POINTS.
ROOM_POINTS = 8.5
#: Free pixels kept between the text and each side of its cell, and above and below it (the
#: font's line height already has some room above and below the digits).
MARGIN = 3.0
MARGIN_Y = 1.0


def text_size(font: QFont, text: str) -> tuple[float, float]:
    """(width, height) in pixels that `text` takes when written in `font`."""
    metrics = QFontMetricsF(font)
    return metrics.horizontalAdvance(text), metrics.height()


def fits(font: QFont, text: str, cell_w: float, cell_h: float) -> bool:
    width, height = text_size(font, text)
    return width + 2 * MARGIN <= cell_w and height + 2 * MARGIN_Y <= cell_h


def fitted_font(base: QFont, widest: str, cell_w: float, cell_h: float) -> QFont | None:
    """The largest size of `base` from MAX_POINTS down to MIN_POINTS (half-point steps) at
    which `widest` fits a cell_w x cell_h cell with the margins to spare, or None if not even the
    smallest does."""
    font = QFont(base)
    points = MAX_POINTS
    while points >= MIN_POINTS:
        font.setPointSizeF(points)
        if fits(font, widest, cell_w, cell_h):
            return font
        points -= 0.5
    return None


def min_cell(base: QFont, widest: str, points: float = ROOM_POINTS) -> tuple[float, float]:
    """The smallest cell (width, height) in pixels that `widest` fits at `points`."""
    font = QFont(base)
    font.setPointSizeF(points)
    width, height = text_size(font, widest)
    return width + 2 * MARGIN, height + 2 * MARGIN_Y
