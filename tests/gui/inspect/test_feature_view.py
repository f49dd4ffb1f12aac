"""The feature-map view alone: the grid of channels, and one channel large in pixel axes with
a colour bar (no histogram/LUT controls, no auto-ranged margins), stepped by mouse and keys."""

from __future__ import annotations

import numpy as np
import pytest
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt

from torchloom.gui.inspect.feature_view import FeatureMapView

C, H, W = 5, 7, 11


@pytest.fixture
def view(qtbot):
    widget = FeatureMapView()
    qtbot.addWidget(widget)
    widget.resize(1000, 380)
    widget.show()
    qtbot.waitExposed(widget)
    rng = np.random.default_rng(0)
    widget.show_maps(rng.normal(size=(C, H, W)).astype(np.float32) * 7 + 20)
    return widget


def test_the_large_channel_spans_exactly_its_pixels(view, qtbot):
    large = view.channel_view
    assert large.plot.viewRange() == [[0.0, W], [0.0, H]]
    assert large.image.image.shape == (H, W)  # rows are rows: the grid's orientation
    np.testing.assert_array_equal(large.image.image, view.maps[0])
    # a resize, a drag and another sample of the same shape leave the range where it is
    view.resize(700, 500)
    qtbot.wait(1)
    viewport = large.plot.viewport()
    centre = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(viewport, centre + centre / 2)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=centre + centre / 2)
    view.show_maps(view.maps[::-1].copy())
    assert large.plot.viewRange() == [[0.0, W], [0.0, H]]
    # another shape: the range follows it
    view.show_maps(np.ones((2, 3, 4), dtype=np.float32))
    assert large.plot.viewRange() == [[0.0, 4.0], [0.0, 3.0]]


def test_a_colour_bar_and_no_histogram_or_image_tuning_controls(view):
    large = view.channel_view
    items = large.plot.scene().items()
    assert not [item for item in items if isinstance(item, pg.HistogramLUTItem)]
    assert not view.findChildren(pg.ImageView) and not view.findChildren(pg.HistogramLUTWidget)
    bars = [item for item in items if isinstance(item, pg.ColorBarItem)]
    assert len(bars) == 1 and bars[0].isVisible()
    m = view.maps[0]
    assert bars[0].levels() == pytest.approx((float(m.min()), float(m.max())))
    vb = large.plot.getPlotItem().vb
    assert not vb.menuEnabled() and vb.state["mouseEnabled"] == [False, False]
    assert large.plot.getPlotItem().buttonsHidden  # no "A" auto-range button


def test_clicking_a_grid_cell_and_arrow_keys_choose_the_channel(view, qtbot):
    grid = view.grid_plot
    vb = grid.getPlotItem().vb
    row, col = divmod(2, view.cols)  # the middle of the third cell
    x, y = col * (W + 1) + W / 2, row * (H + 1) + H / 2
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton,
                     pos=grid.mapFromScene(vb.mapViewToScene(QPointF(x, y))))
    large = view.channel_view
    assert view.current_channel() == 2
    np.testing.assert_array_equal(large.image.image, view.maps[2])
    assert large.label.text().startswith(f"channel 2 of {C}")
    large.slider.setFocus()
    qtbot.keyClick(large.slider, Qt.Key.Key_Right)
    assert view.current_channel() == 3
    np.testing.assert_array_equal(large.image.image, view.maps[3])
    m = view.maps[3]
    assert large.colorbar.levels() == pytest.approx((float(m.min()), float(m.max())))
    qtbot.keyClick(large.slider, Qt.Key.Key_End)
    assert view.current_channel() == C - 1
