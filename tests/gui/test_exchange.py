"""File → Export and Import, and the trust step for code files, driven through the window."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from torchloom.gui.exchange.export_dialog import ExportDialog
from torchloom.gui.exchange.export_done import ExportDoneDialog
from torchloom.gui.exchange.import_dialog import ImportDialog, module_classes

from .conftest import settle


def _quiet_messages(monkeypatch) -> list[str]:
    """The messages after an export or import, recorded instead of waiting for a click."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information",
                        lambda _parent, title, text: shown.append(f"{title}: {text}"))
    monkeypatch.setattr(ExportDoneDialog, "exec",
                        lambda self: shown.append(f"{self.windowTitle()}: {self.message}") or 1)
    return shown


def test_the_export_dialog_follows_the_format(window, example, tmp_path):
    doc = example(tmp=tmp_path)
    dialog = ExportDialog(doc.project, [], "onnx", window)
    assert dialog.choice().out == tmp_path / "mnist_cnn.onnx"
    assert "ONNX Runtime" in dialog.about.text()
    assert dialog.weights.currentText().startswith("Untrained")
    dialog.format.setCurrentIndex(dialog.format.findData("torchrun"))
    assert dialog.choice().out == tmp_path / "mnist_cnn-torchrun"
    dialog.path.setText(str(tmp_path / "elsewhere" / "net.onnx"))
    dialog.format.setCurrentIndex(dialog.format.findData("python"))
    assert dialog.choice().out == tmp_path / "elsewhere" / "net.py"


def test_export_runs_beside_the_window_and_says_what_it_verified(window, example, tmp_path,
                                                                  qtbot, monkeypatch):
    shown = _quiet_messages(monkeypatch)
    example(tmp=tmp_path)
    monkeypatch.setattr(ExportDialog, "exec", lambda self: 1)  # the person presses Export
    window.export_actions["python"].trigger()
    assert window._export_dialog.format.currentData() == "python"
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert (tmp_path / "mnist_cnn.py").exists()
    assert "outputs identical" in shown[0] and str(tmp_path / "mnist_cnn.py") in shown[0]
    assert window.act_export.isEnabled() and window.act_import.isEnabled()


def test_one_exchange_at_a_time_and_none_while_training(window, example, tmp_path, qtbot,
                                                        monkeypatch):
    shown = _quiet_messages(monkeypatch)
    doc = example(tmp=tmp_path)
    choice = ExportDialog(doc.project, [], "onnx", window).choice()
    window.start_export(doc.project, choice)
    busy = [a.isEnabled() for a in (window.act_export, window.act_import,
                                    *window.export_actions.values())]
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert not any(busy)
    reports: list[str] = []
    window.report = lambda title, text: reports.append(title)
    monkeypatch.setattr(type(window.controller), "running", property(lambda self: True))
    window.export_dialog("python")
    window.import_dialog()
    assert reports == ["Cannot export now", "Cannot import now"]


def test_a_failed_export_is_reported_and_the_window_goes_on(window, example, tmp_path, qtbot):
    doc = example(tmp=tmp_path)
    reports: list[str] = []
    window.report = lambda title, text: reports.append(f"{title}: {text}")
    dialog = ExportDialog(doc.project, [], "python", window)
    choice = dialog.choice()
    choice.weights = tmp_path / "no-such-run"
    window.start_export(doc.project, choice)
    qtbot.waitUntil(lambda: bool(reports), timeout=60_000)
    assert reports[0].startswith("Export failed") and "no-such-run" in reports[0]
    assert window.act_export.isEnabled()


CODE = ("from torch import nn\n\n\nclass Twice(nn.Module):\n"
        "    def forward(self, x):\n        return 2 * x\n")


def _code_project(tmp_path: Path) -> Path:
    (tmp_path / "net_code.py").write_text(CODE)
    data = {"format": "torchloom-project", "version": 1, "dataset": {"name": "digits"},
            "graph": {"nodes": [
                {"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
                {"id": "flat", "type": "Flatten"},
                {"id": "twice", "type": "Code",
                 "params": {"file": "net_code.py", "class_name": "Twice"}},
                {"id": "fc", "type": "Linear", "params": {"out_features": 10}}],
                "edges": [{"from": "x", "to": "flat"}, {"from": "flat", "to": "twice"},
                          {"from": "twice", "to": "fc"}]}}
    path = tmp_path / "net.json"
    path.write_text(json.dumps(data))
    return path


def test_opening_a_project_with_code_asks_before_running_it(window, tmp_path, monkeypatch):
    asked: list[list[Path]] = []
    window.ask_trust = lambda files: asked.append(files) or False
    assert window.open_path(_code_project(tmp_path))
    settle()
    assert asked == [[tmp_path / "net_code.py"]]
    errors = window.document.analysis.errors
    assert [e.node for e in errors] == ["twice"] and "not trusted" in errors[0].message
    assert window.act_trust.isEnabled()
    window.ask_trust = lambda files: True  # File → Trust code files…
    window.act_trust.trigger()
    settle()
    assert window.document.analysis.ok
    assert window.document.analysis.nodes["twice"].shape == (64,)
    assert not window.act_trust.isEnabled()


def test_the_import_dialog_lists_classes_without_running_the_file(window, tmp_path):
    source = tmp_path / "mine.py"
    source.write_text("import torch\nfrom torch import nn\nraise SystemExit('ran!')\n\n"
                      "class Helper:\n    pass\n\nclass Net(nn.Module):\n    pass\n")
    assert module_classes(source.read_text()) == ["Net"]
    dialog = ImportDialog(window, start=source)
    assert dialog.cls.currentText() == "Net"
    assert dialog.out.text() == str(tmp_path / "Net.json")
    assert "runs this Python file" in dialog.findChild(type(dialog.problem), "warning").text()
    dialog.shape.setText("1, a, 28")
    dialog._accept()
    assert "input shape" in dialog.problem.text() and not dialog.result()
    dialog.shape.setText("1, 28, 28")
    dialog.kwargs.setText('{"num_classes": 10}')
    request = dialog.request()
    assert request.source == f"{source}:Net" and request.input_shape == [1, 28, 28]
    assert request.kwargs()["kwargs"] == {"num_classes": 10}


def test_importing_a_new_users_cnn_gives_an_editable_trainable_canvas(window, tmp_path, qtbot,
                                                                       monkeypatch):
    from tests.engine.importer.models import mnist_cnn

    shown = _quiet_messages(monkeypatch)
    source = tmp_path / "my_cnn.py"
    source.write_text(Path(mnist_cnn.__file__).read_text())

    def fill_in(dialog) -> int:  # what the person types before pressing the button
        dialog.file.setText(str(source))
        dialog.shape.setText("1, 28, 28")
        return 1

    monkeypatch.setattr(ImportDialog, "exec", fill_in)
    window.act_import.trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    settle()
    doc = window.document
    assert doc.path == tmp_path / f"{window._import_dialog.cls.currentText()}.json"
    assert doc.analysis.ok and not doc.dirty
    assert doc.analysis.total_params == sum(p.numel() for p in mnist_cnn.Net().parameters())
    assert "outputs identical" in shown[0]
    assert [n.type for n in doc.graph.nodes][:3] == ["Input", "Conv2d", "ReLU"]
    assert doc.project.dataset == {"name": "mnist5k"} and window.act_train.isEnabled()


def test_an_exported_program_imports_without_class_or_shape(window, tmp_path, qtbot,
                                                            monkeypatch):
    from torchloom.engine.export import export_project
    from torchloom.engine.project import load_project
    from torchloom.engine.resources import examples_dir

    export_project(load_project(examples_dir() / "mlp_digits.json"), "pt2",
                   tmp_path / "digits.pt2")
    dialog = ImportDialog(window, start=tmp_path / "digits.pt2")
    assert not dialog.shape.isEnabled() and not dialog.cls.isEnabled()
    assert "read, not run" in dialog.warning.text() and dialog.ok.text() == "Import"
    request = dialog.request()
    assert request.source == str(tmp_path / "digits.pt2") and request.input_shape is None
    shown = _quiet_messages(monkeypatch)
    window.start_import(request)
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    settle()
    assert window.document.path == tmp_path / "digits.json"
    assert window.document.analysis.ok


def test_files_that_exist_are_replaced_only_when_the_person_says_so(window, example, tmp_path,
                                                                    qtbot, monkeypatch):
    from tests.engine.importer.models import mnist_cnn

    shown = _quiet_messages(monkeypatch)
    source = tmp_path / "my_cnn.py"
    source.write_text(Path(mnist_cnn.__file__).read_text())
    (tmp_path / "Net.safetensors").write_bytes(b"mine")
    asked: list[list[Path]] = []
    window.ask_replace = lambda paths: asked.append(paths) or False

    def fill_in(dialog) -> int:
        dialog.file.setText(str(source))
        return 1

    monkeypatch.setattr(ImportDialog, "exec", fill_in)
    window.act_import.trigger()
    assert asked == [[tmp_path / "Net.safetensors"]] and not shown
    assert (tmp_path / "Net.safetensors").read_bytes() == b"mine"
    window.ask_replace = lambda paths: True
    window.act_import.trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    assert (tmp_path / "Net.safetensors").read_bytes() != b"mine"

    example(tmp=tmp_path)
    (tmp_path / "mnist_cnn.py").write_text("# the person's own script\n")
    window.ask_replace = lambda paths: asked.append(paths) or False
    monkeypatch.setattr(ExportDialog, "exec", lambda self: 1)
    window.export_actions["python"].trigger()
    assert asked[-1] == [tmp_path / "mnist_cnn.py"]
    assert (tmp_path / "mnist_cnn.py").read_text() == "# the person's own script\n"
