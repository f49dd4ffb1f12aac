"""Training faults in the window: a loss that diverges and a device out of memory end the
run with the message and its hint in the Training panel and the plots; the window lives on,
and the next run (with saner settings) trains."""

from __future__ import annotations

import json
import os

import torch

from torchloom.engine.tasks.classify import Classify

from .conftest import settle
from .test_training import open_copy, wait_idle

#: where the rendered fault is saved for a person to look at (TORCHLOOM_FAULT_PNG=path)
PNG = os.environ.get("TORCHLOOM_FAULT_PNG")


def assert_ready_for_the_next_run(window):
    assert not window.controller.running and window.controller.state == "idle"
    assert window.act_train.isEnabled() and window.training_panel.train_button.isEnabled()
    assert not window.training_panel.resume_button.isEnabled()  # a failed run resumes not
    assert not window.document.locked and window.inspector.isEnabled()


def train_and_wait(window, qtbot):
    assert window.train()
    wait_idle(qtbot, window)
    return window.controller.last_result


def test_a_diverging_loss_says_which_settings_to_lower_and_a_saner_run_trains(
        window, tmp_path, qtbot):
    open_copy(window, tmp_path, optimizer="sgd", lr=10.0, momentum=0.0, weight_decay=1.0,
              epochs=1, device="cpu")
    result = train_and_wait(window, qtbot)
    assert result.status == "failed" and result.error.kind == "nan"
    shown = window.training_panel.message.text()
    assert f"the loss became NaN or infinite at step {result.error.step} (epoch 1" in shown
    assert "lower the learning rate (now 10)" in shown and "lower weight_decay (now 1" in shown
    assert window.plots.status.text() == "Training failed: " + \
        result.error.message.split(": ")[0]
    assert "No checkpoint was saved before the failure." in shown
    assert window.side_tabs.currentWidget() is window.training_panel
    assert_ready_for_the_next_run(window)
    for key, value in {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.0}.items():
        window._set_training_setting(key, value)
    settle()
    again = train_and_wait(window, qtbot)
    assert again.status == "finished" and again.final.val_acc > 0.8
    assert "Finished" in window.training_panel.message.text()


def test_out_of_memory_shows_the_hint_keeps_the_checkpoint_and_the_next_run_trains(
        window, tmp_path, qtbot, monkeypatch):
    loss = Classify.loss

    def loss_until_oom(self, loop, out, y):  # the device fills up at step 50, in epoch 2
        if loop.model.training and loop.step == 49:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return loss(self, loop, out, y)

    monkeypatch.setattr(Classify, "loss", loss_until_oom)
    open_copy(window, tmp_path, epochs=3, device="cpu")
    result = train_and_wait(window, qtbot)
    assert result.status == "failed" and result.error.kind == "oom"
    message = ("out of memory at step 50 with batch size 32 on cpu (epoch 2): try a smaller "
               "batch size (set batch_size to 16, now 32); set amp to bf16; or use a smaller "
               "model")
    assert result.error.message == message
    shown = window.training_panel.message.text()
    assert "<b>Training failed</b>" in shown and message in shown
    assert "The run folder keeps its last checkpoint, from step 45." in shown
    assert window.plots.status.text() == ("Training failed: out of memory at step 50 with "
                                          "batch size 32 on cpu (epoch 2)")
    assert window.plots.status.toolTip() == message
    assert window.plots.progress.format().endswith(" · failed")
    assert message in window.statusBar().currentMessage()
    assert_ready_for_the_next_run(window)
    info = json.loads((result.run_dir / "run.json").read_text())
    assert info["status"] == "failed" and info["checkpoint"] == {"epoch": 1, "step": 45}
    assert "failed" in window.runs_panel.list.item(0).text()
    if PNG:
        window.grab().save(PNG)
    monkeypatch.undo()
    again = train_and_wait(window, qtbot)
    assert again.status == "finished" and len(again.epochs) == 3
