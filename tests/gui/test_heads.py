"""Several outputs in the window: the one-click fix that gives each output a head, and the
Plots tab drawing each head's metrics, as the heads' tasks declare them."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt

from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks import task_class_of
from torchloom.engine.project import load_project
from torchloom.gui.training.plots import PlotsPanel

from .conftest import settle

#: Where the rendered pictures go, to be looked at (not compared).
SHOTS = Path(os.environ.get("TORCHLOOM_SHOTS", "/tmp/torchloom-shots"))


def headless_copy(tmp_path: Path) -> Path:
    """The two-head template without its heads: two outputs, the error."""
    data = json.loads((examples_dir() / "shape_sizes_heads.json").read_text())
    del data["heads"]
    path = tmp_path / "two_outputs.json"
    path.write_text(json.dumps(data))
    return path


def test_the_fix_gives_each_output_a_head_and_undo_takes_them_back(window, qtbot, tmp_path):
    assert window.open_path(headless_copy(tmp_path))
    settle()
    doc = window.document
    assert not doc.analysis.ok
    assert window.scene.node_items["shape"].severity == "error"
    (button,) = [b for b in window.problems.fix_buttons()
                 if b.text() == "Give each output a head"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.problems.grab().save(str(SHOTS / "heads_fix_problems.png"))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle()
    assert list(doc.project.heads) == ["shape", "size"] and doc.analysis.ok
    assert window.scene.node_items["shape"].severity is None
    assert window.act_undo.text().endswith("Give each output a head")
    window.act_undo.trigger()
    settle()
    assert doc.project.heads == {} and not doc.analysis.ok


def test_the_plots_tab_draws_each_heads_metrics(qtbot):
    project = load_project(examples_dir() / "shape_sizes_heads.json")
    panel = PlotsPanel(task_class_of(project))
    qtbot.addWidget(panel)
    titles = [plot.plotItem.titleLabel.text for plot in panel.plots]
    assert titles == ["Loss (all heads)", "shape: Loss", "shape: Accuracy", "size: Loss",
                      "size: Validation MAE", "size: Validation R²"]
    rows = [{"epoch": float(e), "val_loss": 1.0 / e, "val_acc/shape": 0.5 + e / 10,
             "val_loss/shape": 0.9 / e, "val_loss/size": 2.0 / e, "val_mae/size": 1.0 / e,
             "val_r2/size": 0.2 * e} for e in (1, 2, 3)]
    panel.show_metrics(rows)
    assert panel.series["val_acc/shape"].ys.tolist() == [0.6, 0.7, 0.8]
    assert panel.series["val_r2/size"].ys.tolist() == [0.2, 0.4, 0.6000000000000001]
    panel.resize(1500, 360)
    SHOTS.mkdir(parents=True, exist_ok=True)
    panel.grab().save(str(SHOTS / "heads_plots.png"))


def test_the_training_tab_shows_several_outputs_as_the_task(window, example, tmp_path):
    example("shape_sizes_heads.json")
    panel = window.training_panel
    assert panel.task.name == "heads"
    assert panel.task_box.count() == 1 and not panel.task_box.isEnabled()
    assert panel.task_box.currentText() == "Several outputs"
    assert not panel.form.isRowVisible(panel.fields["loss"].widget)  # each head's own
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.resize(1600, 1000)
    window.show()
    settle()
    window.grab().save(str(SHOTS / "heads_window.png"))
