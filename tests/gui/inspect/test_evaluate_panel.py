"""The Evaluate panel, driven like a person would: a small trained shapes CNN, the confusion
matrix clicked, the lists read, a sample chosen for saliency."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from torchloom.engine.data.dataset import Dataset, Split
from torchloom.engine.errors import ProbeError
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.probe.predictions import class_metrics
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.gui.inspect.evaluate_panel import PLACEHOLDER, REGRESSION, EvaluatePanel


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    project = load_project(examples_dir() / "shapes_cnn.json")
    project.dataset = {"name": "shapes", "n": 300}
    project.training["keep"] = "best"  # one epoch: best/ holds that epoch's weights
    run = tmp_path_factory.mktemp("evaluate") / "run"
    prepare_training(project, overrides={"epochs": 1, "device": "cpu"}, out_dir=run).run()
    return load_trained(run)


@pytest.fixture(scope="module")
def split(trained):
    return trained.split()


@pytest.fixture
def panel(qtbot):
    widget = EvaluatePanel()
    qtbot.addWidget(widget)
    widget.resize(1400, 380)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.jobs.wait()


@pytest.fixture
def evaluated(panel, trained, split, qtbot):
    panel.set_trained(trained, lambda: split)
    qtbot.waitUntil(lambda: panel.preds is not None, timeout=60_000)
    return panel


def test_it_says_which_weights_it_evaluates(evaluated, trained):
    shown = evaluated.weights_used
    assert shown.isVisible()
    assert shown.text().startswith(f"{trained.run_dir.name}: the best weights (epoch 1, "
                                   "val_loss ")


def test_matrix_counts_every_validation_sample_once(evaluated, trained, split):
    with torch.no_grad():  # the model's own answers, computed here independently
        pred = trained.model(trained.prepare(split.val.x)).argmax(dim=1)
    k = len(split.val.classes)
    expected = torch.zeros(k, k, dtype=torch.int64)
    for t, p in zip(split.val.y.tolist(), pred.tolist()):
        expected[t, p] += 1
    view = evaluated.confusion
    assert view.image.image.shape == (k, k)
    assert view.matrix.sum() == len(split.val) == 60
    assert np.array_equal(view.matrix, expected.numpy())
    assert np.array_equal(view.matrix, evaluated.preds.confusion().numpy())
    written = [int(item.textItem.toPlainText()) for item in view.texts]
    assert written == expected.flatten().tolist()
    ticks = view.plot.getPlotItem().getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == split.val.classes


def test_clicking_a_cell_lists_exactly_its_samples(evaluated, qtbot):
    preds = evaluated.preds
    cm = preds.confusion()
    view = evaluated.confusion
    viewport = view.plot.viewport()
    nonempty = [(t, p) for t in range(cm.shape[0]) for p in range(cm.shape[1]) if cm[t, p]]
    for true, pred in nonempty[:2]:
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view.cell_point(true, pred))
        listed = evaluated.cell_samples.indices()
        assert listed == preds.cell(true, pred)[:24].tolist()
        assert len(listed) == min(int(cm[true, pred]), 24)
        assert all(int(preds.target[i]) == true and int(preds.pred[i]) == pred for i in listed)
        assert f"true {preds.classes[true]} → predicted {preds.classes[pred]}" in (
            evaluated.cell_hint.text())
        assert evaluated.cell == (true, pred)


def test_metrics_table_has_a_row_per_class(evaluated, split):
    table = evaluated.table
    expected = class_metrics(evaluated.preds.confusion(), split.val.classes)
    assert table.rowCount() == len(split.val.classes)
    for row, m in enumerate(expected):
        assert table.item(row, 0).text() == m.name
        for col, value in ((1, m.precision), (2, m.recall), (3, m.f1)):
            assert float(table.item(row, col).text()) == pytest.approx(value, abs=0.005)
        assert int(table.item(row, 4).text()) == m.support
    accuracy = f"{100 * evaluated.preds.accuracy:.0f} %"
    assert accuracy in evaluated.accuracy.text()


def test_mistakes_are_wrong_and_most_confident_first(evaluated):
    preds = evaluated.preds
    listed = evaluated.mistakes.indices()
    wrong = int((preds.pred != preds.target).sum())
    assert len(listed) == min(wrong, 30)
    assert all(int(preds.pred[i]) != int(preds.target[i]) for i in listed)
    confidence = [float(preds.confidence[i]) for i in listed]
    assert confidence == sorted(confidence, reverse=True)
    if listed:  # the caption says what a person needs: true, predicted, how sure
        first = listed[0]
        text = evaluated.mistakes.item(0).text()
        assert f"true {preds.classes[int(preds.target[first])]}" in text
        assert f"predicted {preds.classes[int(preds.pred[first])]}" in text
        assert f"{100 * confidence[0]:.0f} %" in text


def test_choosing_a_sample_shows_its_saliency(evaluated, qtbot):
    view = evaluated.confusion
    true = int(evaluated.preds.target[0])
    pred = int(evaluated.preds.pred[0])
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.cell_point(true, pred))
    strip = evaluated.cell_samples
    assert strip.count() > 0
    first = strip.indices()[0]
    with qtbot.waitSignal(evaluated.sample_activated) as chosen:
        strip.setCurrentRow(0)
    assert chosen.args == [first]
    saliency = evaluated.saliency
    qtbot.waitUntil(lambda: saliency.gradient is not None, timeout=60_000)
    assert saliency.gradient.shape == (32, 32)  # the input's height and width
    assert saliency.cam is not None and saliency.cam.shape == (32, 32)
    assert 0.0 <= saliency.cam.min() and saliency.cam.max() <= 1.0
    assert not saliency.gradient_image.pixmap().isNull()
    assert f"#{first}" in saliency.title.text()
    # another Grad-CAM layer: the map is computed again for that layer
    assert saliency.node() == "pool3"  # the last feature map is offered first
    before = saliency.cam
    saliency.select_node("conv1")
    qtbot.waitUntil(lambda: saliency.cam is not before, timeout=60_000)
    assert saliency.cam.shape == (32, 32)
    assert not np.allclose(saliency.cam, before)


def test_no_model_shows_the_placeholder(evaluated, qtbot):
    evaluated.set_trained(None)
    assert evaluated.stack.currentWidget() is evaluated.message
    assert evaluated.message.text() == PLACEHOLDER
    evaluated.jobs.wait()
    qtbot.wait(20)
    assert evaluated.message.text() == PLACEHOLDER


def test_a_failing_split_loader_is_shown_not_raised(panel, trained, qtbot):
    def broken() -> Split:
        raise ProbeError("the dataset file is gone", path="data/shapes.csv")

    panel.set_trained(trained, broken)
    qtbot.waitUntil(lambda: "gone" in panel.message.text(), timeout=60_000)
    assert "data/shapes.csv" in panel.message.text()
    assert panel.stack.currentWidget() is panel.message


def test_regression_data_says_it_needs_classes(panel, trained, qtbot):
    data = Dataset(torch.rand(10, 3, 32, 32), torch.rand(10), "numbers")
    split = Split(data, data, None, data)
    panel.set_trained(trained, lambda: split)
    qtbot.waitUntil(lambda: panel.message.text() == REGRESSION, timeout=60_000)
    assert panel.preds is None


def test_token_and_feature_saliency_render(panel):
    view = panel.saliency
    view.show_tokens(np.array([3, 17, 5]), np.array([0.1, 2.0, 0.5]), "Saliency · #4", "x")
    assert view.stack.currentWidget() is view.tokens
    assert view.tokens.text().count("<span") == 3
    assert view.gradient.argmax() == 1  # the token that mattered most is the hottest
    view.show_features(np.array([0.5, -3.0, 1.0, 0.0]), "Saliency · #5", "y")
    assert view.stack.currentWidget() is view.bars
    heights = view.bar_item.opts["height"]
    assert list(heights) == [0.5, 3.0, 1.0, 0.0]


def test_hovering_a_cell_says_what_it_holds(evaluated):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    view = evaluated.confusion
    preds = evaluated.preds
    true, pred = 1, 0
    local = QPointF(view.cell_point(true, pred))
    viewport = view.plot.viewport()
    move = QMouseEvent(QEvent.Type.MouseMove, local, QPointF(viewport.mapToGlobal(local)),
                       Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, move)
    n = int(preds.confusion()[true, pred])
    assert view.hover.text() == (f"true {preds.classes[true]} → predicted "
                                 f"{preds.classes[pred]}: {n} sample{'' if n == 1 else 's'}")


def test_long_class_names_become_numbers_along_a_narrow_matrix(qtbot):
    from torchloom.gui.inspect.confusion_view import ConfusionView

    view = ConfusionView()
    qtbot.addWidget(view)
    view.resize(260, 300)
    view.show()
    qtbot.waitExposed(view)
    classes = [f"category {name}" for name in "abcdefgh"]
    view.set_matrix(np.eye(8, dtype=np.int64) * 5, classes)
    qtbot.wait(10)
    bottom = [name for _, name in view.plot.getPlotItem().getAxis("bottom")._tickLevels[0]]
    left = [name for _, name in view.plot.getPlotItem().getAxis("left")._tickLevels[0]]
    assert bottom == list("abcdefgh")  # the shared prefix dropped
    assert left[0] == "category a"
