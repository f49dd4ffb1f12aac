"""The Evaluate views of regression, multi-label, segmentation and autoencoders, alone:
what they show is the engine's evaluation, and the threshold a person sets changes it."""

from __future__ import annotations

import torch
from PySide6.QtCore import Qt

from torchloom.engine.tasks import task_class
from torchloom.engine.probe.evaluations import (LabelEval, MaskEval, ReconstructionEval,
                                                RegressionEval)
from torchloom.gui.inspect.task_evaluation import TaskEvaluation

g = torch.Generator().manual_seed(0)


def cells(table, column):
    return [table.item(r, column).text() for r in range(table.rowCount())]


def test_regression_shows_mae_and_r2_per_target_and_switches_target(qtbot):
    view = TaskEvaluation()
    qtbot.addWidget(view)
    target = torch.randn(40, 2, generator=g)
    ev = RegressionEval(target + 0.1, target, ["amplitude", "frequency"])
    shown = view.show_eval(ev, task_class("regress").views[0])
    assert cells(shown.metrics, 0) == ["amplitude", "frequency"]
    assert cells(shown.metrics, 1) == [f"{v:.4g}" for v in ev.mae()]
    shown.target.setCurrentIndex(1)
    assert shown.scatter.getPlotItem().listDataItems()[1].getData()[0].tolist() == \
        target[:, 1].tolist()


def test_the_threshold_changes_the_per_label_metrics(qtbot):
    view = TaskEvaluation()
    qtbot.addWidget(view)
    target = (torch.rand(60, 3, generator=g) > 0.5).float()
    probs = (0.5 * target + 0.5 * torch.rand(60, 3, generator=g))
    ev = LabelEval(probs, target, ["circle", "square", "triangle"])
    shown = view.show_eval(ev, task_class("multilabel").views[0])
    assert cells(shown.table, 3) == [f"{m.f1:.3f}" for m in ev.per_label(0.5)]
    shown.threshold.setFocus()
    qtbot.keyClick(shown.threshold, Qt.Key.Key_Up)  # 0.55, as a person steps it
    assert shown.threshold.value() == 0.55
    assert cells(shown.table, 3) == [f"{m.f1:.3f}" for m in ev.per_label(0.55)]
    assert f"micro F1 {ev.micro_f1(0.55):.3f}" in shown.summary.text()


def test_masks_show_iou_per_class_with_the_mask_colours(qtbot):
    view = TaskEvaluation()
    qtbot.addWidget(view)
    target = torch.randint(0, 3, (5, 6, 6), generator=g)
    ev = MaskEval(torch.rand(5, 3, 6, 6, generator=g), target.flip(2), target, ["bg", "a", "b"])
    shown = view.show_eval(ev, task_class("segment").views[0])
    assert cells(shown.table, 1) == [f"{v:.3f}" for v in ev.iou()]
    assert not shown.table.item(0, 0).icon().isNull()
    assert shown.pictures.image.height() == 3 * 6 + 2 * 2  # inputs, true, predicted rows


def test_reconstructions_worst_first(qtbot):
    view = TaskEvaluation()
    qtbot.addWidget(view)
    x = torch.rand(4, 1, 5, 5, generator=g)
    ev = ReconstructionEval(x, x * 0.5)
    shown = view.show_eval(ev, task_class("autoencode").views[0])
    assert shown.pages.currentWidget() is shown.pictures
    assert f"{float(ev.errors().mean()):.4g}" in shown.summary.text()


def test_every_evaluate_view_a_task_declares_has_a_widget():
    from torchloom.engine.tasks import task_names
    from torchloom.gui.inspect.task_evaluation import VIEWS

    for name in task_names():
        views = task_class(name).views
        assert not views or "confusion" in views or set(views) <= set(VIEWS), name
