"""Predictions on a split: the confusion matrix and per-class metrics (checked against
scikit-learn), and `predict` on a model trained for one epoch."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

from torchloom.engine.data.dataset import Dataset
from torchloom.engine.errors import ProbeError
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.probe.predictions import (Predictions, class_metrics, confusion_matrix,
                                                predict)
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training

# Class 2 is present but never predicted; class 3 is predicted but never present.
TARGET = [0, 0, 0, 1, 1, 2, 2, 2, 0, 1, 1, 2]
PRED = [0, 1, 0, 1, 1, 0, 1, 3, 0, 3, 1, 1]
CLASSES = ["cat", "dog", "bird", "fish"]


def test_confusion_matrix_matches_sklearn_rows_true_columns_predicted():
    cm = confusion_matrix(torch.tensor(TARGET), torch.tensor(PRED), 4)
    assert cm.dtype == torch.int64 and cm.shape == (4, 4)
    assert cm.tolist() == sk_confusion(TARGET, PRED, labels=[0, 1, 2, 3]).tolist()
    assert cm[2, 0] == 1 and cm[0, 2] == 0  # one bird taken for a cat, no cat for a bird


def test_class_metrics_match_sklearn_with_zero_division_zero():
    cm = confusion_matrix(torch.tensor(TARGET), torch.tensor(PRED), 4)
    metrics = class_metrics(cm, CLASSES)
    precision, recall, f1, support = precision_recall_fscore_support(
        TARGET, PRED, labels=[0, 1, 2, 3], zero_division=0)
    assert [m.name for m in metrics] == CLASSES
    for i, m in enumerate(metrics):
        assert m.precision == pytest.approx(precision[i])
        assert m.recall == pytest.approx(recall[i])
        assert m.f1 == pytest.approx(f1[i])
        assert m.support == support[i]
    bird, fish = metrics[2], metrics[3]
    assert (bird.precision, bird.recall, bird.f1, bird.support) == (0.0, 0.0, 0.0, 4)
    assert (fish.precision, fish.recall, fish.f1, fish.support) == (0.0, 0.0, 0.0, 0)


def test_confusion_matrix_rejects_a_class_out_of_range():
    with pytest.raises(ProbeError, match="outside 0..2"):
        confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), 3)


def test_cells_and_mistakes_are_sorted_by_confidence():
    logits = torch.tensor([[5.0, 0.0], [0.0, 1.0], [0.0, 4.0], [2.0, 0.0], [0.0, 0.5]])
    p = Predictions.from_logits(logits, torch.tensor([0, 0, 0, 1, 1]), ["a", "b"])
    assert p.pred.tolist() == [0, 1, 1, 0, 1]
    assert p.accuracy == pytest.approx(2 / 5)
    assert torch.allclose(p.probs.sum(dim=1), torch.ones(5))
    assert p.mistakes().tolist() == [2, 3, 1]  # confidences 0.98, 0.88, 0.73
    assert p.mistakes(k=1).tolist() == [2]
    assert p.cell(0, 1).tolist() == [2, 1]
    assert p.cell(1, 1).tolist() == [4]
    assert p.cell(1, 0).tolist() == [3]
    assert p.confusion().tolist() == [[1, 2], [1, 1]]


def test_predict_refuses_regression_data():
    data = Dataset(torch.zeros(4, 3), torch.zeros(4), "reg")
    with pytest.raises(ProbeError, match="regression"):
        predict(None, data)  # type: ignore[arg-type]  # refused before the model is used


@pytest.fixture(scope="module")
def trained_shapes(tmp_path_factory):
    project = load_project(examples_dir() / "shapes_cnn.json")
    project.dataset = {"name": "shapes", "n": 600}
    out = tmp_path_factory.mktemp("shapes") / "run"
    result = prepare_training(project, overrides={"epochs": 1, "device": "cpu"},
                              out_dir=out).run()
    return load_trained(out), result.final.val_acc


def test_predict_reproduces_the_trainers_validation_accuracy(trained_shapes):
    trained, val_acc = trained_shapes
    val = trained.split().val
    preds = predict(trained, val, batch_size=50)  # several batches
    assert len(preds) == len(val) == 120
    assert preds.classes == val.classes and torch.equal(preds.target, val.y)
    assert preds.accuracy == pytest.approx(val_acc, abs=1e-12)
    assert int(preds.confusion().sum()) == len(val)
    assert sum(m.support for m in preds.metrics()) == len(val)
    assert not trained.model.training


def test_mistakes_and_cells_on_a_trained_model(trained_shapes):
    trained, _ = trained_shapes
    preds = predict(trained, trained.split().val)
    wrong = preds.mistakes(k=None)
    assert len(wrong) == int((preds.pred != preds.target).sum()) > 0
    assert bool((preds.pred[wrong] != preds.target[wrong]).all())
    conf = preds.confidence[wrong]
    assert bool((conf[:-1] >= conf[1:]).all())
    assert preds.mistakes(k=3).tolist() == wrong[:3].tolist()
    cm = preds.confusion()
    seen = []
    for t in range(preds.num_classes):
        for p in range(preds.num_classes):
            cell = preds.cell(t, p)
            assert len(cell) == int(cm[t, p])
            expected = torch.nonzero((preds.target == t) & (preds.pred == p)).flatten()
            assert sorted(cell.tolist()) == expected.tolist()
            seen += cell.tolist()
    assert sorted(seen) == list(range(len(preds)))
