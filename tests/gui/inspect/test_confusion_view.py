"""The confusion matrix alone: 3- and 4-digit counts are written inside their cells with room
to spare, in a font that fits the cell; where they cannot fit they are not written over each
other (the hover line still says them)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QSplitter, QWidget

from torchloom.gui.inspect.cell_font import MARGIN, MARGIN_Y, MAX_POINTS, MIN_POINTS
from torchloom.gui.inspect.confusion_view import ConfusionView

from ..conftest import settle


def counts(k: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    matrix = rng.integers(100, 999, size=(k, k))
    np.fill_diagonal(matrix, rng.integers(1000, 9999, size=k))
    return matrix


@pytest.fixture
def column(qtbot):
    """The matrix in a splitter column as narrow as the Evaluate tab first gives it, beside
    columns that need most of the width."""
    splitter = QSplitter(Qt.Orientation.Horizontal)
    view = ConfusionView()
    splitter.addWidget(view)
    others = QWidget()
    others.setMinimumWidth(700)
    splitter.addWidget(others)
    qtbot.addWidget(splitter)
    splitter.resize(1200, 354)
    splitter.show()
    qtbot.waitExposed(splitter)
    splitter.setSizes([235, 965])
    settle()
    assert view.width() < 240  # (the handle takes a pixel or so)
    yield view  # the splitter, which owns the view, lives until the test ends


def cell_rect(view: ConfusionView, true: int, pred: int) -> QRectF:
    return view.vb.mapViewToScene(QRectF(pred, true, 1, 1)).boundingRect()


def written_rect(text) -> QRectF:
    """Where the digits themselves are drawn, in scene pixels (the item's own rectangle has
    the text document's blank border around them)."""
    metrics = QFontMetricsF(text.textItem.font())
    width, height = metrics.horizontalAdvance(text.toPlainText()), metrics.height()
    centre = text.sceneBoundingRect().center()
    return QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)


def test_four_digit_counts_fit_their_cells_with_a_margin(column, qtbot):
    k = 10
    column.set_matrix(counts(k), [f"class {i}" for i in range(k)])
    settle()
    assert len(column.texts) == k * k
    for i, text in enumerate(column.texts):
        true, pred = divmod(i, k)
        assert text.isVisible() and text.toPlainText() == str(column.matrix[true, pred])
        cell = cell_rect(column, true, pred)
        room = cell.adjusted(MARGIN - 0.5, MARGIN_Y - 0.5, 0.5 - MARGIN, 0.5 - MARGIN_Y)
        assert room.contains(written_rect(text)), (text.toPlainText(), cell)
    size = column.texts[0].textItem.font().pointSizeF()
    assert MIN_POINTS < size <= MAX_POINTS  # the column made room: not the smallest font


def test_few_classes_get_a_bigger_font_than_many(column):
    column.set_matrix(counts(3), ["a", "b", "c"])
    settle()
    big = column.texts[0].textItem.font().pointSizeF()
    assert big == MAX_POINTS
    assert all(written_rect(t).width() + 2 * MARGIN <= cell_rect(column, 0, 0).width()
               for t in column.texts)
    column.set_matrix(counts(10), [str(i) for i in range(10)])
    settle()
    assert column.texts[0].textItem.font().pointSizeF() < big


def test_counts_that_cannot_fit_are_not_written_but_still_hovered(column, qtbot):
    k = 20  # the room the matrix may ask for is capped: 20 four-digit columns do not fit
    column.set_matrix(counts(k), [f"class {i}" for i in range(k)])
    settle()
    assert column.texts and not any(text.isVisible() for text in column.texts)
    qtbot.mouseMove(column.plot.viewport(), column.cell_point(3, 3))
    assert column.hover.text() == f"true class 3 → predicted class 3: {column.matrix[3, 3]} samples"
