"""The training panel: settings (from the engine's declarations), the device, and the
Train / Stop / Resume / Reset weights buttons, with the run's messages underneath."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QLabel, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from torchloom.engine.project import TRAINING_FIELDS

from ..inspector import ParamField

#: Shown in this order; the rest of TRAINING_FIELDS follow.
ORDER = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "momentum", "schedule",
         "loss", "val_split", "seed", "amp")
#: Settings only one recipe reads; the other recipe's form leaves them out.
GAN_ONLY = ("betas", "d_steps", "label_smoothing")
CLASSIFIER_ONLY = ("optimizer", "momentum", "loss", "val_split")


class TrainingPanel(QScrollArea):
    train_clicked = Signal()
    stop_clicked = Signal()
    resume_clicked = Signal()
    reset_clicked = Signal()
    #: (key, value) the person set; the window makes it an undoable project edit.
    setting_changed = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        buttons = QGridLayout()
        self.train_button = QPushButton("▶  Train")
        self.train_button.setProperty("primary", True)
        self.stop_button = QPushButton("■  Stop")
        self.resume_button = QPushButton("⟳  Resume")
        self.reset_button = QPushButton("Reset weights")
        self.train_button.setToolTip("Compile the graph and train a new run (Ctrl+Return)")
        self.stop_button.setToolTip("Stop after the current batch; a checkpoint is kept")
        self.resume_button.setToolTip("Continue the stopped run from its checkpoint")
        self.reset_button.setToolTip("The next run starts from fresh weights instead of the "
                                     "last run's")
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.resume_button, 1, 0)
        buttons.addWidget(self.reset_button, 1, 1)
        layout.addLayout(buttons)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)
        title = QLabel("Device")
        title.setObjectName("section")
        layout.addWidget(title)
        self.device = QComboBox()
        self.device.setToolTip("Where to train; auto picks the first GPU if there is one")
        self.device_note = QLabel("Looking for devices…")
        self.device_note.setObjectName("muted")
        self.device_note.setWordWrap(True)
        layout.addWidget(self.device)
        layout.addWidget(self.device_note)
        title = QLabel("Settings")
        title.setObjectName("section")
        layout.addWidget(title)
        form = self.form = QFormLayout()
        self.fields: dict[str, ParamField] = {}
        for name in [*ORDER, *(k for k in TRAINING_FIELDS if k not in ORDER)]:
            field = ParamField(name, TRAINING_FIELDS[name], self._commit)
            form.addRow(QLabel(name), field.widget)
            form.addRow("", field.error)
            self.fields[name] = field
        layout.addLayout(form)
        layout.addStretch(1)
        self.setWidget(page)
        self.train_button.clicked.connect(self.train_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.resume_button.clicked.connect(self.resume_clicked)
        self.reset_button.clicked.connect(self.reset_clicked)
        self.device.currentIndexChanged.connect(self._device_chosen)
        self._quiet = False
        self.set_recipe("classifier")
        self.set_state("idle", can_resume=False)

    def set_recipe(self, recipe: str) -> None:
        """Show the settings the project's recipe uses (a GAN's Adam pair and steps)."""
        hidden = CLASSIFIER_ONLY if recipe == "gan" else GAN_ONLY
        for name, field in self.fields.items():
            self.form.setRowVisible(field.widget, name not in hidden)
            self.form.setRowVisible(field.error, name not in hidden)
            field.error.setVisible(name not in hidden and bool(field.error.text()))

    def _commit(self, name: str, value: Any) -> str | None:
        decl = TRAINING_FIELDS[name]
        try:
            value = decl.validate(value)
        except ValueError as exc:
            return f"{name} {exc}"
        self.setting_changed.emit(name, list(value) if isinstance(value, tuple) else value)
        return None

    def show_settings(self, config: dict[str, Any]) -> None:
        """Fill the form from the project (defaults filled in)."""
        self._quiet = True
        for name, field in self.fields.items():
            field.set_value(config.get(name))
        self._select_device(str(config.get("device", "auto")))
        self._quiet = False

    def set_devices(self, devices: list[dict[str, Any]]) -> None:
        self._quiet = True
        current = self.device.currentData()
        self.device.clear()
        gpus = [d for d in devices if d["id"] != "cpu"]
        auto = f"auto ({gpus[0]['id']})" if gpus else "auto (cpu)"
        self.device.addItem(auto, "auto")
        for d in devices:
            memory = f", {d['memory_gb']} GB" if d.get("memory_gb") else ""
            self.device.addItem(f"{d['id']} — {d['name']}{memory}", d["id"])
        self.device_note.setText(f"{len(gpus)} GPU(s) found." if gpus else
                                 "No GPU found: training runs on the CPU.")
        self._select_device(current or "auto")
        self._quiet = False

    def _select_device(self, device: str) -> None:
        index = self.device.findData(device)
        if index < 0 and device not in ("", "auto"):
            self.device.addItem(f"{device} (not available here)", device)
            index = self.device.count() - 1
        self.device.setCurrentIndex(max(index, 0))

    def _device_chosen(self, _index: int) -> None:
        if not self._quiet and self.device.currentData():
            self.setting_changed.emit("device", self.device.currentData())

    def set_state(self, state: str, can_resume: bool) -> None:
        training = state != "idle"
        self.train_button.setEnabled(not training)
        self.stop_button.setEnabled(state == "training")
        self.resume_button.setEnabled(not training and can_resume)
        self.reset_button.setEnabled(not training)
        for field in self.fields.values():
            field.widget.setEnabled(not training)
        self.device.setEnabled(not training)

    def say(self, text: str, error: bool = False) -> None:
        from .. import theme

        colour = theme.current().error if error else theme.current().node_subtext
        self.message.setText(f"<span style='color:{colour}'>{text}</span>" if text else "")
