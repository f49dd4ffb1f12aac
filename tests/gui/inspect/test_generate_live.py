"""Generate while a language model trains (issue 21 §3): in the window, the Evaluate tab's
Generate continues the prompt with a copy of the weights of the latest step, and once the
run ends the run's own evaluation takes over."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from ...engine.tasks.test_language_model import _project
from ..conftest import HANG_GUARD_MS, settle

SHOT = os.environ.get("TORCHLOOM_LIVE_GENERATE_PNG", "")


def test_generate_during_training_uses_the_latest_weights(window, qtbot, tmp_path):
    path = _project(tmp_path, repeats=200)
    assert window.open_path(path)
    settle()
    window._set_training_setting("epochs", 200)  # long enough to generate while it runs
    settle()
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.controller.worker is not None
                    and window.controller.worker.job is not None, timeout=60_000)
    window.show_tab(window.evaluate_panel)
    settle()
    view = window.evaluate_panel.task_view.views["generate"]
    qtbot.waitUntil(lambda: view.live is not None, timeout=HANG_GUARD_MS)
    assert window.evaluate_panel.stack.currentWidget() is window.evaluate_panel.task_view
    view.prompt.setText("the ")
    view.length.setValue(20)
    qtbot.mouseClick(view.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.status.text().startswith("Done"), timeout=60_000)
    assert "with the weights of step" in view.status.text()
    assert len(view.output.toPlainText()) == len("the ") + 20
    assert window.controller.running  # training went on meanwhile
    if SHOT:
        window.grab().save(SHOT)
    window.controller.stop()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    settle()
