"""The Plots tab alone: per-batch accuracy drawn smoothed, a resumed run carrying on its
curve, an earlier run's epochs shown, and an ETA from the steady rate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from torchloom.engine.tasks import task_class
from torchloom.gui.training.plots import PlotsPanel


def report(step, epoch=1, steps=100, accuracy=0.5, batch_accuracy=None, loss=1.0):
    return SimpleNamespace(epoch=epoch, epochs=3, step=step, step_in_epoch=step - (epoch - 1)
                           * steps, steps_per_epoch=steps, total_steps=3 * steps, loss=loss,
                           accuracy=accuracy, batch_accuracy=batch_accuracy,
                           samples_per_s=1000.0, extra={})


@pytest.fixture
def panel(qtbot):
    panel = PlotsPanel(task_class("classify"))
    qtbot.addWidget(panel)
    return panel


def test_the_training_accuracy_is_per_batch_and_smoothed(panel):
    # the epoch's running accuracy starts over at each epoch; the per-batch value does not
    panel.add_reports([report(99, accuracy=0.9, batch_accuracy=0.95),
                       report(101, epoch=2, accuracy=0.2, batch_accuracy=0.96)])
    assert panel.series["accuracy"].ys.tolist() == [0.95, 0.96]
    raw, smooth = panel.batch_curves["accuracy"]
    assert smooth is not None and len(smooth.getData()[1]) == 2


def test_a_resume_carries_on_the_curve_it_stopped_on(panel):
    panel.add_reports([report(s) for s in (10, 20, 30, 40)])
    panel.resume({"start_step": 30, "steps_per_epoch": 100, "device": "cpu"})
    assert panel.series["loss"].xs.tolist() == [0.1, 0.2, 0.3]  # after the checkpoint: gone
    panel.add_reports([report(35)])
    assert panel.series["loss"].xs.tolist() == [0.1, 0.2, 0.3, 0.35]


def test_a_run_resumed_in_a_new_window_shows_its_earlier_epochs(panel):
    panel.show_metrics([{"epoch": 1.0, "val_loss": 0.5, "val_acc": 0.8},
                        {"epoch": 2.0, "val_loss": 0.4, "val_acc": 0.85}])
    assert panel.series["val_acc"].ys.tolist() == [0.8, 0.85]


def test_the_eta_comes_from_the_recent_steady_rate(panel):
    panel.started_at = 0.0
    # the first report took 30 s (slow first batches), then 1 step per second
    for now, step in ((30.0, 1), (31.0, 2), (32.0, 3), (33.0, 4)):
        eta = panel.eta_seconds(report(step), now=now)
    assert eta == pytest.approx(300 - 4)  # one second per remaining step, not 8
