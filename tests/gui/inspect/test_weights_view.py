"""Inspect's "Weights & gradients" view: the selected block's weight and gradient histograms
over the run, live and after it, and every layer's gradient norm per epoch."""

from __future__ import annotations

import os

import numpy as np

from torchloom.engine.probe.stats_history import IMAGE_BINS

from ..conftest import settle
from .test_inspect_panel import TIMEOUT, click_node, open_copy, train_and_wait


def test_the_view_shows_the_selected_blocks_heatmaps_and_follows_the_selection(
        window, tmp_path, qtbot):
    open_copy(window, tmp_path, "shapes_cnn.json", {"name": "shapes", "n": 300}, epochs=2,
              stats_every=2)
    live = []
    window.controller.stats.connect(lambda captures: live.extend(captures))
    panel = train_and_wait(window, qtbot)
    view = panel.weights
    qtbot.waitUntil(lambda: bool(view.history.captures) and not panel.jobs.busy(),
                    timeout=TIMEOUT)
    assert live, "no capture reached the GUI while training"
    assert [c["step"] for c in view.history.captures] == [c["step"] for c in live]
    panel.views.setCurrentWidget(view)
    click_node(window, "conv1")
    assert view.stack.currentWidget() is view.canvas
    weights, grads = view.image_of("weight"), view.image_of("grad")
    captures = len(view.history.captures)
    assert weights.shape == (IMAGE_BINS, captures) and grads.shape == (IMAGE_BINS, captures)
    assert np.allclose(weights.max(axis=0), 1.0)  # each capture against its fullest bin
    assert "conv1" in view.caption.text() and "parameters" in view.caption.text()
    # the table: a row per layer, a column per epoch, each cell a gradient norm
    assert view.table.rowCount() == 4 and view.table.columnCount() == 2  # 3 convs and fc
    cell = view.cell("conv1", 2)
    assert cell is not None and float(cell.text()) > 0
    assert view.table.verticalHeaderItem(0).text() == "▶ conv1"  # the selected block
    if os.environ.get("TORCHLOOM_SHOTS"):
        window.show_tab(panel, height=620)
        settle()
        panel.grab().save(os.path.join(os.environ["TORCHLOOM_SHOTS"], "weights_conv1.png"))
    # another block: another block's numbers
    click_node(window, "fc")
    assert "fc" in view.caption.text() and "conv1" not in view.caption.text()
    assert not np.array_equal(view.image_of("weight"), weights)
    assert view.table.verticalHeaderItem(3).text() == "▶ fc"
    # a block without weights says so, and what is known of it
    click_node(window, "relu1")
    assert view.stack.currentWidget() is view.message
    assert "relu1 has no weights" in view.message.text()
    assert "dead" in view.message.text()


def test_non_finite_values_are_red_in_the_table(window, qtbot):
    from torchloom.engine.probe.stats_history import StatsHistory

    def capture(step, epoch, norm, bad):
        grad = {"norm": norm, "mean": 0.0, "std": 1.0, "min": -1.0, "max": 1.0,
                "counts": [5, 5], "edges": [-1.0, 0.0, 1.0], "nonfinite": bad}
        weight = dict(grad, nonfinite=0)
        return {"step": step, "epoch": epoch, "nodes": {
            "fc1": {"params": 10, "weight": weight, "grad": grad, "nonfinite": bad}}}

    view = window.inspect_panel.weights
    view.set_history(StatsHistory([capture(1, 1, 0.5, 0), capture(2, 2, 50.0, 0),
                                   capture(3, 3, 1e6, 4)]))
    view.show_node("fc1")
    assert view.cell("fc1", 3).text() == "4 NaN/inf"
    assert view.cell("fc1", 3).background().color().name() == "#d62728"
    low, high = view.cell("fc1", 1), view.cell("fc1", 2)
    assert low.background().color() != high.background().color()  # 0.5 and 50 differ
    assert "NaN or infinite" in view.caption.text()
    if os.environ.get("TORCHLOOM_SHOTS"):
        view.resize(900, 460)
        view.grab().save(os.path.join(os.environ["TORCHLOOM_SHOTS"], "weights_nonfinite.png"))


def test_the_heatmaps_grow_while_the_model_trains(window, tmp_path, qtbot):
    open_copy(window, tmp_path, "mlp_digits.json", epochs=3, stats_every=5)
    click_node(window, "fc1")
    panel = window.inspect_panel
    panel.views.setCurrentWidget(panel.weights)
    view = panel.weights
    during: list[int] = []

    def seen(_captures):
        if window.controller.running and view.image_of("grad") is not None:
            during.append(view.image_of("grad").shape[1])

    window.controller.stats.connect(seen)  # after the panel's own slot: it has drawn them
    window.train()
    qtbot.waitUntil(lambda: len(during) >= 2, timeout=TIMEOUT)
    assert during[-1] > during[0]  # more captures drawn as the run goes on
    assert "fc1" in view.caption.text()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
