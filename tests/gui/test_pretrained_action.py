"""Run → Start from pretrained weights… (issue 22 §2.3): the file is matched to the blocks
at once and the message says which load and which start fresh, and why; a file with no
name in common is refused in words naming it, and changes nothing."""

from __future__ import annotations

import os

import torch
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from torchloom.engine.compile import compile_graph

from .conftest import settle


def pick(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))


def test_the_action_reports_what_the_file_loads_and_the_next_run_starts_from_it(
        window, example, monkeypatch, tmp_path):
    doc = example()
    assert window.act_pretrained in window.run_menu.actions()
    state = compile_graph(doc.graph, seed=5).state_dict()
    state["fc2.weight"] = torch.zeros(3, 128)  # another head: re-initialised
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "backbone.pt")
    pick(monkeypatch, tmp_path / "backbone.pt")
    window.act_pretrained.trigger()
    settle()
    box = window._pretrained_box
    assert box.isVisible() and box.icon() == QMessageBox.Icon.Information
    assert "Started from backbone.pt: 3 block(s) loaded" in box.text()
    assert "re-initialised fc2: shape differs (weight: [10, 128] here, [3, 128] in the file)" \
        in box.informativeText()
    assert window.weights_from == tmp_path / "backbone.pt"
    assert "backbone.pt" in window.training_panel.message.text()
    out = os.environ.get("TORCHLOOM_PNG_DIR")
    if out:
        box.grab().save(os.path.join(out, "pretrained_report.png"))
    box.close()
    window.reset_weights()
    assert window.weights_from is None


def test_a_file_with_no_name_in_common_is_refused_naming_it(window, example, monkeypatch,
                                                             tmp_path):
    example()
    torch.save({"encoder.w": torch.zeros(2)}, tmp_path / "other.pt")
    pick(monkeypatch, tmp_path / "other.pt")
    window.act_pretrained.trigger()
    settle()
    box = window._pretrained_box
    assert box.icon() == QMessageBox.Icon.Warning
    assert "other.pt cannot be used" in box.text()
    assert "none of its 1 tensor names" in box.informativeText()
    assert window.weights_from is None
    out = os.environ.get("TORCHLOOM_PNG_DIR")
    if out:
        box.grab().save(os.path.join(out, "pretrained_refused.png"))
    box.close()


def test_cancelling_the_dialog_changes_nothing(window, example, monkeypatch):
    example()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    window.act_pretrained.trigger()
    settle()
    assert window.weights_from is None


def test_a_run_after_choosing_the_file_starts_from_it_with_frozen_blocks_kept(
        window, monkeypatch, tmp_path, qtbot):
    """mlp_digits: fc1 loaded from the file and frozen; after one epoch it still equals
    the file's tensors, and the run's notes say where it started from."""
    from safetensors.torch import load_file

    from torchloom.engine.resources import examples_dir

    path = tmp_path / "mlp_digits.json"
    path.write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    assert window.open_path(path)
    settle()
    doc = window.document
    window._set_training_setting("epochs", 1)
    window.scene.select_nodes(["fc1"])
    settle()
    box = window.inspector.training.fields["trainable"].widget
    box.window().show()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(box.height() // 2,
                                                              box.height() // 2))
    settle()
    assert not doc.graph.node("fc1").trainable
    state = compile_graph(doc.graph, seed=9).state_dict()
    torch.save(state, tmp_path / "start.pt")
    pick(monkeypatch, tmp_path / "start.pt")
    window.act_pretrained.trigger()
    settle()
    window._pretrained_box.close()
    window.train()
    qtbot.waitUntil(lambda: not window.controller.running, timeout=60_000)
    settle()
    result = window.controller.last_result
    assert result.status == "finished", result.error
    trained = load_file(result.run_dir / "model.safetensors")
    assert torch.equal(trained["fc1.weight"], state["fc1.weight"])
    assert not torch.equal(trained["fc2.weight"], state["fc2.weight"])
    assert "start.pt" in window.training_panel.message.text()
    out = os.environ.get("TORCHLOOM_PNG_DIR")
    if out:
        window.resize(1400, 900)
        window.side_tabs.setCurrentWidget(window.training_panel)
        settle()
        window.grab().save(os.path.join(out, "pretrained_run_window.png"))
