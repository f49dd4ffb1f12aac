"""The Evaluate tab's numbers for regression, multi-label and segmentation agree with
scikit-learn on the same predictions."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import (f1_score, jaccard_score, mean_absolute_error,
                             precision_recall_fscore_support, r2_score)

from torchloom.engine.probe.evaluations import (LabelEval, MaskEval, ReconstructionEval,
                                                RegressionEval)

g = torch.Generator().manual_seed(0)


def test_regression_per_target():
    target = torch.randn(50, 2, generator=g)
    pred = target + 0.3 * torch.randn(50, 2, generator=g)
    ev = RegressionEval(pred, target, ["a", "b"])
    assert ev.mae() == pytest.approx(mean_absolute_error(target, pred, multioutput="raw_values"))
    assert ev.r2() == pytest.approx(r2_score(target, pred, multioutput="raw_values"))


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_labels_at_a_threshold(threshold):
    target = (torch.rand(80, 4, generator=g) > 0.6).float()
    probs = (0.6 * target + 0.5 * torch.rand(80, 4, generator=g)).clamp(0, 1)
    ev = LabelEval(probs, target, list("wxyz"))
    pred = (probs >= threshold).int().numpy()
    p, r, f, s = precision_recall_fscore_support(target.numpy(), pred, zero_division=0)
    got = ev.per_label(threshold)
    assert [m.precision for m in got] == pytest.approx(p) and [m.f1 for m in got] == \
        pytest.approx(f)
    assert [m.recall for m in got] == pytest.approx(r) and [m.support for m in got] == list(s)
    assert ev.micro_f1(threshold) == pytest.approx(f1_score(target.numpy(), pred,
                                                             average="micro"))


def test_masks_iou_per_class_and_per_sample():
    target = torch.randint(0, 3, (6, 5, 5), generator=g)
    pred = torch.where(torch.rand(6, 5, 5, generator=g) < 0.7, target,
                       torch.randint(0, 3, (6, 5, 5), generator=g))
    ev = MaskEval(torch.zeros(6, 1, 5, 5), pred, target, ["bg", "a", "b"])
    assert ev.iou() == pytest.approx(list(jaccard_score(target.flatten(), pred.flatten(),
                                                        average=None)))
    assert ev.miou() == pytest.approx(jaccard_score(target.flatten(), pred.flatten(),
                                                    average="macro"))
    first = jaccard_score(target[0].flatten(), pred[0].flatten(), average="macro")
    assert float(ev.sample_iou()[0]) == pytest.approx(first)


def test_reconstructions_worst_first():
    x = torch.zeros(3, 4)
    ev = ReconstructionEval(x, torch.tensor([[0.1] * 4, [1.0] * 4, [0.5] * 4]))
    assert ev.worst_first().tolist() == [1, 2, 0]
    assert ev.errors()[1] == pytest.approx(1.0)
