"""File → Export: pick a format, the weights to carry and where the file goes.

The weights default to the newest run whose graph still matches the canvas, because that is
what a person means by "export my model"; the untrained model is there too, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from torchloom.engine.project import Project, graph_to_dict
from torchloom.engine.rename import follow_renames
from torchloom.engine.train.history import RunRecord, list_runs

from ..text import plain

#: (format, menu label, what it is, file suffix; "" for a folder)
FORMATS: tuple[tuple[str, str, str, str], ...] = (
    ("python", "PyTorch code (.py)…",
     "One standalone Python file: class Model(nn.Module) and build(). Needs only torch.", ".py"),
    ("onnx", "ONNX (.onnx)…",
     "An ONNX graph with a dynamic batch size, checked against ONNX Runtime.", ".onnx"),
    ("pt2", "torch.export program (.pt2)…",
     "An ahead-of-time torch.export program for deployment, checked after reloading.", ".pt2"),
    ("safetensors", "Weights (.safetensors)…",
     "The weights keyed by node id, with the graph in a JSON file beside them.",
     ".safetensors"),
    ("torchrun", "Multi-GPU training script (torchrun)…",
     "A folder with train.py (DistributedDataParallel), model.py and the data.", ""),
)


#: Why a project of several networks (a GAN) cannot take a one-network format.
GAN_REFUSED = "holds one network; a GAN has two: PyTorch code writes both."


def refused_because(project: Project) -> str:
    """Why a greyed-out format is not offered for `project`."""
    if len(project.graphs()) > 1:
        return GAN_REFUSED
    return f"is not offered for the {project.task} task yet."


def formats_for(project: Project) -> tuple[str, ...]:
    """The format keys `project` can be exported to: those its task says mean something."""
    from torchloom.engine.tasks import task_class_of

    exportable = task_class_of(project).export_formats
    return tuple(key for key, _l, _d, _s in FORMATS if key in exportable)


@dataclass
class ExportChoice:
    fmt: str
    out: Path
    weights: Path | None


def matching_runs(project: Project, runs_dir: Path | None) -> list[RunRecord]:
    """Finished or stopped runs whose graph is the canvas's graph, newest first."""
    if runs_dir is None:
        return []
    def graphs(p: Project) -> dict[str, object]:
        return {key: graph_to_dict(graph) for key, graph in p.graphs().items()}

    current = graphs(project)
    out = []
    for run in reversed(list_runs(runs_dir)):
        if run.status not in ("finished", "stopped"):
            continue
        saved = run.project()
        if saved is not None:  # a block renamed since the run keeps its weights
            saved = follow_renames(saved, project)
        if saved is not None and saved.task == project.task and graphs(saved) == current:
            out.append(run)
    return out


class ExportDialog(QDialog):
    def __init__(self, project: Project, runs: list[RunRecord], fmt: str = "python",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export model")
        self.setMinimumWidth(560)
        self.project = project
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.format = QComboBox()
        self.format.setObjectName("export_format")
        allowed = formats_for(project)
        why = refused_because(project)
        for key, label, _doc, _suffix in FORMATS:
            self.format.addItem(label.removesuffix("…"), key)
            if key not in allowed:  # listed, greyed out, and the tooltip says why
                item = self.format.model().item(self.format.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(f"{label.removesuffix('…')} {why}")
        labels = {key: label.removesuffix("…") for key, label, _d, _s in FORMATS}
        self.refused = "" if fmt in allowed else f"{labels[fmt]} {why}"
        if fmt not in allowed:
            fmt = allowed[0]
        self.about = QLabel()
        self.about.setObjectName("muted")
        self.about.setWordWrap(True)
        self.weights = QComboBox()
        self.weights.setObjectName("export_weights")
        for run in runs:
            self.weights.addItem(plain(f"Trained: {run.label()}"), str(run.path))
        if project.weights_path() is not None:
            self.weights.addItem(plain(f"The project's weights ({project.weights})"), "")
        else:
            self.weights.addItem("Untrained (fresh initialisation, seeded)", "")
        self.path = QLineEdit()
        self.path.setObjectName("export_path")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        form.addRow("Format", self.format)
        form.addRow("", self.about)
        form.addRow("Weights", self.weights)
        form.addRow("Save to", row)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.path.textChanged.connect(lambda _t: self.ok.setEnabled(bool(self.path.text())))
        self.format.setCurrentIndex(max(0, self.format.findData(fmt)))
        self._format_changed()

    def _suffix(self) -> str:
        return {k: s for k, _l, _d, s in FORMATS}[self.format.currentData()]

    def _default_path(self) -> Path:
        base = self.project.path.parent if self.project.path else Path.home()
        stem = (self.project.path.stem if self.project.path else self.project.name) or "model"
        suffix = self._suffix()
        return base / (f"{stem}{suffix}" if suffix else f"{stem}-torchrun")

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        about = {k: d for k, _l, d, _s in FORMATS}[fmt]
        if len(self.project.graphs()) > 1 and fmt == "python":
            about = ("One Python file with both networks: Generator (noise → sample) and "
                     "Discriminator (sample → logit). Needs only torch.")
        if self.refused:
            about = f"{self.refused}\n{about}"
        self.about.setText(about)
        current = Path(self.path.text()) if self.path.text() else None
        if current is None or current.parent == Path("."):
            self.path.setText(str(self._default_path()))
        else:  # keep the folder and name the person chose, with the new format's suffix
            stem = current.name.split(".")[0].removesuffix("-torchrun")
            suffix = self._suffix()
            self.path.setText(str(current.parent / (f"{stem}{suffix}" if suffix
                                                    else f"{stem}-torchrun")))

    def _browse(self) -> None:
        if self._suffix():
            path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(),
                                                  f"*{self._suffix()}")
        else:
            path = QFileDialog.getExistingDirectory(self, "Export into a folder",
                                                    str(Path(self.path.text()).parent))
            if path:
                path = str(Path(path) / self._default_path().name)
        if path:
            self.path.setText(path)

    def choice(self) -> ExportChoice:
        weights = self.weights.currentData()
        out = Path(self.path.text()).expanduser()
        suffix = self._suffix()
        if suffix and out.suffix != suffix:
            out = out.with_name(out.name + suffix)
        return ExportChoice(self.format.currentData(), out, Path(weights) if weights else None)
