"""The attention view alone: masked cells (a causal triangle, padding) read as masked, not
as weights the model learned."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF

from torchloom.engine.probe.render import MASKED
from torchloom.gui.inspect.attention_view import AttentionView, MASKED_HINT


@pytest.fixture
def view(qtbot):
    widget = AttentionView()
    qtbot.addWidget(widget)
    widget.resize(600, 320)
    return widget


def _causal(heads: int = 2, n: int = 4) -> np.ndarray:
    w = np.full((heads, n, n), np.nan, dtype=np.float32)
    for i in range(n):
        w[:, i, : i + 1] = 1.0 / (i + 1)
    return w


def test_masked_cells_say_masked_when_hovered_and_the_hint_explains_grey(view):
    view.show_weights(_causal(), list("abcd"), list("abcd"))
    assert view.heads == 2
    assert MASKED_HINT.strip() in view.hover.text()
    assert view.cell_text(1, 0, 3).endswith("masked")
    assert view.cell_text(1, 3, 0).endswith("0.250")


def test_unmasked_weights_keep_the_plain_hint(view):
    view.show_weights(np.full((1, 3, 3), 1 / 3, dtype=np.float32))
    assert "masked" not in view.hover.text()
    view.show_weights(_causal(1, 3))
    assert "masked" in view.hover.text()


def test_masked_cells_are_drawn_grey_not_in_the_colour_scale(view, qtbot):
    view.show_weights(_causal(1, 4))
    view.show()
    qtbot.waitExposed(view)
    image = view.canvas.grab().toImage()
    plot = view.plots[0]
    # the top-right cell (query 0, key 3) is masked: grey behind a transparent weight
    masked = view.canvas.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(3.5, 0.5)))
    seen = image.pixelColor(masked)
    assert (seen.red(), seen.green(), seen.blue()) == MASKED
    learned = view.canvas.mapFromScene(plot.getViewBox().mapViewToScene(QPointF(0.5, 3.5)))
    assert image.pixelColor(learned) != seen
