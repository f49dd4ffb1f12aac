"""The Inspect tab: click a block of a trained model and see its feature maps, its attention
heads or its activations; live probes while training."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt

from torchloom.engine.resources import examples_dir

from ..conftest import send_mouse, settle

TIMEOUT = 60_000


def open_copy(window, tmp_path, name, dataset=None, **training):
    path = tmp_path / name
    path.write_bytes((examples_dir() / name).read_bytes())
    assert window.open_path(path)
    settle()
    if dataset is not None:
        window._set_dataset(dataset)
    for key, value in training.items():
        window._set_training_setting(key, value)
    settle()
    return window.document


def train_and_wait(window, qtbot):
    window.train()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
    assert window.controller.last_result.status == "finished"
    panel = window.inspect_panel
    qtbot.waitUntil(lambda: panel.trained is not None and panel.result is not None,
                    timeout=TIMEOUT)
    settle()
    return panel


def click_node(window, node_id):
    centre = window.scene.node_items[node_id].sceneBoundingRect().center() + QPointF(0, 12)
    send_mouse(window, "press", centre)
    send_mouse(window, "release", centre)
    settle()


def test_a_conv_node_shows_one_map_per_channel(window, tmp_path, qtbot):
    open_copy(window, tmp_path, "shapes_cnn.json", {"name": "shapes", "n": 400}, epochs=1)
    assert window.inspect_panel.shown_view() is window.inspect_panel.message
    panel = train_and_wait(window, qtbot)
    click_node(window, "conv1")
    assert window.bottom_tabs.currentWidget() is panel
    assert panel.shown_view() is panel.features
    out_channels = window.document.graph.node("conv1").resolved_params()["out_channels"]
    assert panel.features.channels == out_channels
    assert "conv1" in panel.title.text() and "run" in panel.title.text()
    # the grid holds every channel; clicking the third cell enlarges channel 2
    c, h, w = panel.features.maps.shape
    assert panel.features.channel_at(2 * (w + 1) + w / 2, h / 2) == 2
    assert panel.features.channel_at(w + 0.5, 0) is None  # the gap between cells
    panel.features.set_channel(2)
    assert "channel 2 of" in panel.features.channel_label.text()
    # another sample, other maps
    before = panel.features.maps.copy()
    panel.sample.setCurrentIndex(3)
    assert not np.array_equal(before, panel.features.maps)
    # a ReLU says how many of its units never fire on the probe samples
    click_node(window, "relu1")
    assert "% of units dead on the probe samples" in panel.title.text()
    # a dense node: a histogram and its strongest units
    click_node(window, "fc")
    assert panel.shown_view() is panel.activations
    assert panel.activations.top.count() == 3  # three classes, all listed
    # an Input has nothing to look into, and says so
    click_node(window, "x")
    assert panel.shown_view() is panel.message
    assert "no layer" in panel.message.text()


def test_attention_shows_one_heatmap_per_head_labelled_with_tokens(window, tmp_path, qtbot):
    open_copy(window, tmp_path, "attention_classifier.json", {"name": "retrieval", "n": 600},
              epochs=2)
    panel = train_and_wait(window, qtbot)
    click_node(window, "attn")
    view = panel.attention
    assert panel.shown_view() is view
    heads = window.document.graph.node("attn").resolved_params()["num_heads"]
    assert view.heads == heads and view.weights.shape == (heads, 9, 9)
    assert np.allclose(view.weights.sum(-1), 1.0, atol=1e-5)
    # axis labels are the sample's tokens: pairs "k3=v5" and the query "?k3" last
    assert view.query_labels[-1].startswith("?k") and "=v" in view.key_labels[0]
    # hovering a cell reads its weight
    plot = view.plots[1]
    scene_pos = plot.getViewBox().mapViewToScene(QPointF(8.5, 8.5))
    view._hovered(scene_pos)
    assert view.hover.text().startswith("head 1 · query 8 (?k")
    assert f"{view.weights[1, 8, 8]:.3f}" in view.hover.text()


def test_live_probes_update_the_panel_while_training(window, tmp_path, qtbot):
    open_copy(window, tmp_path, "mlp_digits.json", epochs=3)
    click_node(window, "fc1")
    seen = []
    window.controller.probe.connect(lambda result: seen.append(result.step))
    window.train()
    qtbot.waitUntil(lambda: bool(seen), timeout=TIMEOUT)
    panel = window.inspect_panel
    assert "live" in panel.title.text() and panel.shown_view() is panel.activations
    assert panel.sample.count() == 20  # two probe samples of each digit
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
    assert seen == sorted(seen) and seen[0] % 20 == 0


def test_an_edited_graph_says_why_the_run_cannot_be_inspected(window, tmp_path, qtbot):
    doc = open_copy(window, tmp_path, "mlp_digits.json", epochs=1)
    panel = train_and_wait(window, qtbot)
    run = window.controller.last_run_dir
    window.document.plan_and_edit(
        lambda: __import__("torchloom.engine.edits", fromlist=["plan_set_param"])
        .plan_set_param(doc.graph, "fc1", "out_features", 7), "edit")
    settle()
    window.inspect_run(run)
    qtbot.waitUntil(lambda: panel.trained is None, timeout=TIMEOUT)
    assert "fc1" in panel.message.text() and "edited" in panel.message.text()
    assert Qt  # the window keeps running


def test_the_evaluate_tab_shows_the_finished_run(window, tmp_path, qtbot):
    open_copy(window, tmp_path, "shapes_cnn.json", {"name": "shapes", "n": 300}, epochs=1)
    train_and_wait(window, qtbot)
    evaluate = window.evaluate_panel
    assert evaluate.preds is None  # nothing is computed until the tab is looked at
    window.show_tab(evaluate)
    qtbot.waitUntil(lambda: evaluate.preds is not None, timeout=TIMEOUT)
    result = window.controller.last_result
    assert evaluate.preds.accuracy == result.final.val_acc
    assert int(evaluate.preds.confusion().sum()) == 60  # the validation split
    # picking a run in Runs evaluates that run
    window.show_tab(window.runs_panel)
    window.runs_panel.list.item(0).setSelected(True)
    settle()
    window.show_tab(evaluate)
    qtbot.waitUntil(lambda: evaluate.preds is not None, timeout=TIMEOUT)
    assert evaluate.trained.run_dir == window.runs_panel.selected_runs()[0].path
