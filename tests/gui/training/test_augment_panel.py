"""The data panel's Augmentation section (issue 22, part 3): switches and parameters from the
engine's declaration, a preview of augmented versions of one sample, undoable edits that do
not reload the data, and the refusal training would give, shown before training."""

from __future__ import annotations

import os
import shutil

from PySide6.QtCore import QPoint, Qt

from torchloom.engine.data.augment import AUGMENTATIONS
from torchloom.engine.resources import examples_dir

from ..conftest import settle

SHOT = os.environ.get("TORCHLOOM_AUGMENT_PNG", "")


def click(qtbot, box) -> None:
    """Click a switch on its box, where a person clicks it."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_alone_a_switch_sends_the_setting_and_shows_versions(qtbot):
    from torchloom.engine.data.builtin import load_builtin
    from torchloom.gui.training.augment_panel import VERSIONS, AugmentPanel

    panel = AugmentPanel()
    qtbot.addWidget(panel)
    panel.resize(560, 700)
    panel.show()
    assert list(panel.switches) == list(AUGMENTATIONS)  # every declared one, in order
    panel.set_data(load_builtin("shapes", {"n": 60}), "classification")
    sent = []
    panel.changed.connect(lambda spec, text, about: sent.append(spec))
    click(qtbot, panel.switches["hflip"])
    assert sent == [{"hflip": {"p": 0.5}}]
    assert not panel.problem.isVisible()
    assert panel.fields["hflip"]["p"].widget.isVisible()  # its parameters show while on
    assert not panel.fields["vflip"]["p"].widget.isVisible()
    assert not panel.preview.pixmap().isNull() and "16 versions" in panel.caption.text()
    before = panel.preview.pixmap().toImage()
    qtbot.mouseClick(panel.redraw, Qt.MouseButton.LeftButton)
    assert panel.preview.pixmap().toImage() != before  # other draws
    assert VERSIONS == 16


def test_a_bad_value_is_refused_under_its_field(qtbot):
    from torchloom.gui.training.augment_panel import AugmentPanel

    panel = AugmentPanel()
    qtbot.addWidget(panel)
    panel.set_spec({"crop": {"padding": 4}, "noise": {"std": 0.05}})
    sent = []
    panel.changed.connect(lambda spec, text, about: sent.append(spec))
    field = panel.fields["noise"]["std"]
    field.widget.setFocus()
    field.widget.selectAll()
    qtbot.keyClicks(field.widget, "-1")
    qtbot.keyClick(field.widget, Qt.Key.Key_Return)
    assert sent == [] and "must be a number > 0.0" in field.error.text()


def open_example(window, tmp_path, name):
    path = tmp_path / name
    shutil.copy(examples_dir() / name, path)
    assert window.open_path(path)
    settle()
    panel = window.data_panel
    window.side_tabs.setCurrentWidget(panel)
    assert panel.wait_loaded()
    return panel


def test_in_the_window_an_edit_is_undoable_and_does_not_reload_the_data(window, qtbot,
                                                                        tmp_path):
    panel = open_example(window, tmp_path, "shapes_cnn.json")
    data = panel.data
    click(qtbot, panel.augment.switches["crop"])
    click(qtbot, panel.augment.switches["hflip"])
    settle()
    doc = window.document
    assert doc.project.dataset == {"name": "shapes", "augment": {"crop": {"padding": 4},
                                                                 "hflip": {"p": 0.5}}}
    assert panel.data is data  # the same data, augmented: nothing was read again
    assert not panel.augment.preview.pixmap().isNull()
    if SHOT:
        panel.widget().grab().save(SHOT)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert doc.project.dataset == {"name": "shapes", "augment": {"crop": {"padding": 4}}}
    assert doc.undo_stack.undoText() == "Augment with crop"  # each switch its own step
    assert panel.augment.switches["crop"].isChecked()
    assert not panel.augment.switches["hflip"].isChecked()


def test_augmentation_that_does_not_fit_the_data_is_named_before_training(window, qtbot,
                                                                          tmp_path):
    import json

    panel = open_example(window, tmp_path, "review_sentiment.json")
    assert not panel.augment.switch_area.isVisible()  # nothing works on token ids
    assert "this data holds token ids" in panel.augment.caption.text()
    data = json.loads((tmp_path / "review_sentiment.json").read_text())
    data["dataset"]["augment"] = {"hflip": {}}  # a file that asks for it anyway
    (tmp_path / "asks.json").write_text(json.dumps(data))
    assert window.open_path(tmp_path / "asks.json")
    settle()
    assert panel.wait_loaded()
    assert panel.augment.switch_area.isVisible()  # so it can be switched off
    assert panel.augment.problem.isVisible()
    assert "cannot augment token ids" in panel.augment.problem.text()
    assert panel.augment.preview.pixmap().isNull()
