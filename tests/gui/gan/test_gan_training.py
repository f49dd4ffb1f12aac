"""Training a GAN from the window: one click, live d_loss/g_loss, the discriminator's
accuracies, the sample grid after every epoch, the mode-collapse warning, and Stop."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from ..conftest import settle
from .test_gan_canvas import open_gan

TIMEOUT = 120_000


def wait_idle(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.controller.running, timeout=TIMEOUT)
    settle()


def test_one_click_trains_the_gan_and_shows_its_curves_and_samples(window, qtbot, tmp_path):
    doc = open_gan(window)
    assert window.save_to(tmp_path / "gan.json")  # the run goes beside the project
    window._set_training_setting("epochs", 2)
    settle()
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert window.controller.running and doc.locked
    assert all(s.read_only for s in window.canvas_scenes())  # both canvases, not only the shown
    wait_idle(qtbot, window)
    plots = window.plots
    assert plots.task.name == "gan" and window.bottom_tabs.currentWidget() is window.plots_holder
    assert [p.plotItem.titleLabel.text for p in plots.plots] == ["Loss",
                                                                 "Discriminator accuracy"]
    d_loss, g_loss, real = (plots.series[k] for k in ("d_loss", "g_loss", "d_real_acc"))
    assert d_loss.n > 0 and g_loss.n == d_loss.n
    assert np.all(np.isfinite(d_loss.ys)) and np.all(np.diff(d_loss.xs) > 0)
    assert real.n > 0 and 0 <= real.ys[-1] <= 1
    smooth_d, smooth_g = plots.batch_curves["d_loss"][1], plots.batch_curves["g_loss"][1]
    assert smooth_d.getData()[0] is not None and len(smooth_g.getData()[1]) == g_loss.n
    # the grid of the last epoch, read from the run folder, shown
    grid = plots.samples
    assert grid.pixmap is not None and not grid.pixmap.isNull() and grid.epoch == 2
    assert grid.path.parent == tmp_path / "runs" / grid.path.parent.parent.name / "samples"
    shown = grid.image.pixmap()
    assert not shown.isNull() and shown.width() <= grid.image.width()  # fits its place
    assert "Samples after epoch 2" == grid.caption.text()
    assert plots.progress.value() == 1000
    result = window.controller.last_result
    assert result.status == "finished" and len(result.epochs) == 2
    message = window.training_panel.message.text()
    assert "d_loss" in message and "g_loss" in message and "Run folder" in message
    # a short run's samples are far less varied than digits: said, not hidden
    warning = (result.final.extra or {}).get("warning")
    if warning:
        assert plots.warning.isVisible() and "mode collapse" in plots.warning.text()
        assert "mode collapse" in message
    assert not doc.locked and not any(s.read_only for s in window.canvas_scenes())
    assert window.runs_panel.list.count() == 1
    window.plots.grab().save(str(tmp_path / "plots.png"))  # paints without error


def test_stop_ends_a_gan_run_and_resume_finishes_it(window, qtbot):
    open_gan(window)
    window._set_training_setting("epochs", 2)
    settle()
    assert window.train()
    qtbot.waitUntil(lambda: window.plots.series["d_loss"].n > 0, timeout=TIMEOUT)
    qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    result = window.controller.last_result
    assert result.status == "stopped" and result.checkpoint is not None
    assert "stopped" in window.plots.progress.format()
    assert window.training_panel.resume_button.isEnabled()
    assert window.training_panel.train_button.isEnabled()
    qtbot.mouseClick(window.training_panel.resume_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, window)
    result = window.controller.last_result
    assert result.status == "finished" and result.step > 0
    assert window.plots.samples.epoch == 2 and window.plots.progress.value() == 1000


def test_the_panel_shows_the_mode_collapse_warning_and_each_epochs_grid(window, qtbot, tmp_path):
    from types import SimpleNamespace

    from PySide6.QtGui import QColor, QImage

    from torchloom.engine.tasks import task_class
    from torchloom.gui.training.plots import PlotsPanel

    panel = PlotsPanel(task_class("gan"))
    qtbot.addWidget(panel)
    panel.resize(1200, 360)
    panel.show()
    grids = []
    for epoch, shade in ((1, "#202020"), (2, "#e0e0e0")):
        image = QImage(58, 58, QImage.Format.Format_RGB32)
        image.fill(QColor(shade))
        grids.append(tmp_path / f"epoch_{epoch:03d}.png")
        assert image.save(str(grids[-1]))
    collapse = "possible mode collapse at epoch 1: the generated samples are 0.20x as varied"
    panel.add_epoch(SimpleNamespace(epoch=1, extra={
        "samples_png": str(grids[0]), "warning": collapse, "mode_collapse": True}))
    assert panel.warning.isVisible() and panel.warning.text() == f"⚠ P{collapse[1:]}"
    assert panel.samples.epoch == 1 and panel.samples.caption.text() == "Samples after epoch 1"
    panel.add_epoch(SimpleNamespace(epoch=2, extra={
        "samples_png": str(grids[1]), "warning": None, "mode_collapse": False}))
    assert panel.samples.path == grids[1]  # the newest grid replaces the last
    assert panel.warning.text().endswith("(gone at epoch 2)")
    shown = panel.samples.image.pixmap().toImage()
    assert QColor(shown.pixel(shown.width() // 2, shown.height() // 2)).name() == "#e0e0e0"
    assert not panel.samples.show_file(tmp_path / "missing.png", 3)
    assert "Cannot read" in panel.samples.caption.text()
    panel.reset()
    assert not panel.warning.isVisible() and panel.samples.pixmap is None
