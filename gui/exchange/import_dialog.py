"""File → Import PyTorch module: choose a .py file, a class, the input shape, and agree to
run the file.

The class list is read with `ast` (the file is parsed, not run), so browsing is harmless;
only the import button, which says so, runs the person's code.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)


def module_classes(source: str) -> list[str]:
    """Top-level classes that look like nn.Module subclasses (a base named ``*Module``), or
    every top-level class when none does; parsed, never executed."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]

    def base_names(node: ast.ClassDef) -> list[str]:
        return [ast.unparse(b) for b in node.bases]

    modules = [c.name for c in classes
               if any(name.split(".")[-1] == "Module" for name in base_names(c))]
    return modules or [c.name for c in classes]


def parse_shape(text: str) -> list[int] | None:
    try:
        values = [int(v) for v in text.replace("[", "").replace("]", "").replace("x", ",")
                  .split(",") if v.strip()]
    except ValueError:
        return None
    return values if values and all(v > 0 for v in values) else None


RUNS_CODE = ("Importing <b>runs this Python file</b> on your computer, with your permissions. "
             "Import only code you trust. The project it makes stays plain data; its Code "
             "blocks run only from files you trust.")
READS_PROGRAM = ("An exported program is read, not run: Torchloom takes its plain tensors and "
                 "refuses a file that holds pickled objects.")


@dataclass
class ImportRequest:
    source: str
    out: Path
    input_shape: list[int] | None
    input_dtype: str = "float32"
    kwargs_: dict[str, Any] = field(default_factory=dict)
    force: bool = False

    def kwargs(self) -> dict[str, Any]:
        return {"source": self.source, "out": self.out, "input_shape": self.input_shape,
                "input_dtype": self.input_dtype, "kwargs": self.kwargs_, "force": self.force}

    def outputs(self) -> list[Path]:
        """The files the import may write (the project, its weights, its code)."""
        stem = self.out.with_suffix("")
        return [self.out, stem.with_name(stem.name + ".safetensors"),
                stem.with_name(stem.name + "_code.py")]


class ImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, start: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a PyTorch module")
        self.setMinimumWidth(600)
        layout = QVBoxLayout(self)
        intro = QLabel("Turn an nn.Module class from your own Python file into blocks on the "
                       "canvas. Layers Torchloom knows become blocks; the rest become Code "
                       "blocks that keep your code.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.file = QLineEdit(str(start or ""))
        self.file.setObjectName("import_file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        self.cls = QComboBox()
        self.cls.setEditable(True)
        self.cls.setObjectName("import_class")
        self.shape = QLineEdit("1, 28, 28")
        self.shape.setObjectName("import_shape")
        self.shape.setToolTip("One sample's shape without the batch dimension: 1, 28, 28 for "
                              "MNIST images, 64 for 64 token ids.")
        self.dtype = QComboBox()
        self.dtype.addItems(["float32", "int64"])
        self.dtype.setToolTip("int64 for token ids (a model that starts with an Embedding).")
        self.kwargs = QLineEdit("{}")
        self.kwargs.setObjectName("import_kwargs")
        self.kwargs.setToolTip('Constructor keyword arguments as JSON: {"num_classes": 10}')
        self.out = QLineEdit()
        self.out.setObjectName("import_out")
        form.addRow("Python file", row)
        form.addRow("Class", self.cls)
        form.addRow("Input shape", self.shape)
        form.addRow("Input dtype", self.dtype)
        form.addRow("Arguments", self.kwargs)
        form.addRow("New project", self.out)
        layout.addLayout(form)
        warning = self.warning = QLabel(RUNS_CODE)
        warning.setObjectName("warning")
        warning.setWordWrap(True)
        layout.addWidget(warning)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Run file and import")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.file.textChanged.connect(self._file_changed)
        self.cls.currentTextChanged.connect(self._class_changed)
        self._file_changed()

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Your model", self.file.text(),
            "Python files (*.py);;Exported programs (*.pt2);;All files (*)")
        if path:
            self.file.setText(path)

    def _is_program(self) -> bool:
        return self.file.text().strip().lower().endswith(".pt2")

    def _file_changed(self) -> None:
        path = Path(self.file.text()).expanduser()
        self.cls.clear()
        program = self._is_program()  # a .pt2 knows its own class and input shapes
        for widget in (self.cls, self.shape, self.dtype, self.kwargs):
            widget.setEnabled(not program)
        self.warning.setText(READS_PROGRAM if program else RUNS_CODE)
        self.ok.setText("Import" if program else "Run file and import")
        if program and path.is_file():
            self.out.setText(str(path.with_suffix(".json")))
            return
        if path.is_file():
            try:
                self.cls.addItems(module_classes(path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError):
                pass
        self._class_changed()

    def _class_changed(self) -> None:
        path = Path(self.file.text()).expanduser()
        name = self.cls.currentText() or path.stem or "imported"
        if path.is_file():
            self.out.setText(str(path.with_name(f"{name}.json")))

    def request(self) -> ImportRequest:
        """What the person asked for; raises ValueError with a sentence when it is not
        usable yet."""
        path = Path(self.file.text()).expanduser()
        if not path.is_file():
            raise ValueError("Choose the .py file that holds your model (or an exported "
                             ".pt2).")
        out = Path(self.out.text()).expanduser()
        if out.suffix != ".json":
            out = out.with_name(out.name + ".json")
        if self._is_program():
            return ImportRequest(str(path), out, None)
        name = self.cls.currentText().strip()
        if not name.isidentifier():
            raise ValueError("Choose the class to import (an nn.Module in that file).")
        shape = parse_shape(self.shape.text())
        if shape is None:
            raise ValueError("The input shape must be positive whole numbers, e.g. 1, 28, 28.")
        try:
            kwargs = json.loads(self.kwargs.text() or "{}")
        except ValueError as exc:
            raise ValueError(f"The arguments are not valid JSON: {exc}") from None
        if not isinstance(kwargs, dict):
            raise ValueError('The arguments must be a JSON object, e.g. {"num_classes": 10}.')
        return ImportRequest(f"{path}:{name}", out, shape, self.dtype.currentText(), kwargs)

    def _accept(self) -> None:
        try:
            self.request()
        except ValueError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.accept()
