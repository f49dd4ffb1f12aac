"""The training panel: settings (from the engine's declarations), the device, and the
Train / Stop / Resume / Reset weights buttons, with the run's messages underneath."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QLabel, QPushButton,
                               QScrollArea, QVBoxLayout, QWidget)

from torchloom.engine.project import TRAINING_FIELDS

from torchloom.engine.train.early_stop import KEEP_SETTINGS
from torchloom.engine.train.schedules import SCHEDULE_SETTINGS

from ..actions import plain_name, tool_tip
from ..inspector import ParamField
from ..text import plain

#: Settings whose value decides which others are shown: value -> the settings it reads.
DEPENDENT = {"schedule": SCHEDULE_SETTINGS, "keep": KEEP_SETTINGS}


class TrainingPanel(QScrollArea):
    train_clicked = Signal()
    stop_clicked = Signal()
    resume_clicked = Signal()
    reset_clicked = Signal()
    find_lr_clicked = Signal()
    #: (key, value) the person set; the window makes it an undoable project edit.
    setting_changed = Signal(str, object)
    #: the task the person chose (its name); the window makes it an undoable edit
    task_changed = Signal(str)

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
        for button, action in ((self.train_button, "train"), (self.stop_button, "stop"),
                               (self.resume_button, "resume"), (self.reset_button, "reset")):
            button.setAccessibleName(plain_name(action))
            button.setToolTip(tool_tip(action))  # the window's action, declared once
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.resume_button, 1, 0)
        buttons.addWidget(self.reset_button, 1, 1)
        self.find_lr_button = QPushButton("Find learning rate…")
        self.find_lr_button.setAccessibleName(plain_name("find_lr"))
        self.find_lr_button.setToolTip(tool_tip("find_lr"))
        buttons.addWidget(self.find_lr_button, 2, 0, 1, 2)
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
        self.task_box = QComboBox()
        self.task_box.setObjectName("task")
        self.task_box.setAccessibleName("Task")
        self.task_box.setToolTip("What kind of model this is: what it is trained to output "
                                 "and how it is scored")
        form.addRow(QLabel("task"), self.task_box)
        self.task_about = QLabel("")
        self.task_about.setObjectName("muted")
        self.task_about.setWordWrap(True)
        form.addRow("", self.task_about)
        self.fields: dict[str, ParamField] = {}
        for name in TRAINING_FIELDS:  # in the order they are declared
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
        self.find_lr_button.clicked.connect(self.find_lr_clicked)
        self.device.currentIndexChanged.connect(self._device_chosen)
        self.task_box.currentIndexChanged.connect(self._task_chosen)
        self._quiet = False
        self.task: Any = None
        #: the value of each setting that decides which others show (schedule, keep)
        self._chosen = {name: TRAINING_FIELDS[name].default for name in DEPENDENT}
        from torchloom.engine.tasks import task_class

        self.set_task(task_class("classify"))
        self.set_state("idle", can_resume=False)

    def set_task(self, task: Any) -> None:
        """Show the settings the project's task declares and no others (a GAN's Adam pair
        and steps, a regression's choice of loss), each as the task takes it."""
        if task is self.task:
            return
        self.task = task
        self._fill_task_box(task)
        for name in self.fields:
            decl = task.setting(name)
            if decl is not self.fields[name].decl:  # the loss: this task's own choices
                self._replace_field(name, decl)
        self._show_rows()

    def _show_rows(self) -> None:
        """The task's settings; of those that only one value of another setting reads
        (step_size with the step schedule, keep_metric with keep best), only the chosen
        value's."""
        hidden = set()
        for owner, readers in DEPENDENT.items():
            hidden |= {n for names in readers.values() for n in names}
            hidden -= set(readers.get(str(self._chosen[owner]), ()))
        shown = {n for n in self.task.settings() if n not in hidden}
        for name, field in self.fields.items():
            self.form.setRowVisible(field.widget, name in shown)
            self.form.setRowVisible(field.error, name in shown)
            field.error.setVisible(name in shown and bool(field.error.text()))

    def _fill_task_box(self, task: Any) -> None:
        """The tasks this project can become: those with the same graphs (a classifier can
        become a regression; a GAN is made with File → New GAN)."""
        from torchloom.engine.tasks import task_class, task_names

        quiet, self._quiet = self._quiet, True
        self.task_box.clear()
        names = task_names() if task.name in task_names() else ()  # several heads: their own
        if not names:
            self.task_box.addItem(task.title, task.name)
        for name in names:
            other = task_class(name)
            if other.graph_keys() == task.graph_keys():
                self.task_box.addItem(other.title, name)
                self.task_box.setItemData(self.task_box.count() - 1, other.summary,
                                          Qt.ItemDataRole.ToolTipRole)
        self.task_box.setCurrentIndex(max(self.task_box.findData(task.name), 0))
        self.task_box.setEnabled(self.task_box.count() > 1)
        self.task_about.setText(task.summary)
        self._quiet = quiet

    def _task_chosen(self, _index: int) -> None:
        name = self.task_box.currentData()
        if not self._quiet and name and (self.task is None or name != self.task.name):
            self.task_changed.emit(name)

    def _replace_field(self, name: str, decl: Any) -> None:
        old = self.fields[name]
        row = self.form.getWidgetPosition(old.widget)[0]
        self.form.removeRow(row + 1)  # the error line under it
        self.form.removeRow(row)
        field = ParamField(name, decl, self._commit)
        self.form.insertRow(row, QLabel(name), field.widget)
        self.form.insertRow(row + 1, "", field.error)
        self.fields[name] = field

    def _commit(self, name: str, value: Any) -> str | None:
        decl = self.task.setting(name)
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
        chosen = {name: config.get(name, TRAINING_FIELDS[name].default) for name in DEPENDENT}
        if chosen != self._chosen:
            self._chosen = chosen
            self._show_rows()
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
            self.device.addItem(f"{plain(device)} (not available here)", device)
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
        self.find_lr_button.setEnabled(not training)
        for field in self.fields.values():
            field.widget.setEnabled(not training)
        self.device.setEnabled(not training)
        self.task_box.setEnabled(not training and self.task_box.count() > 1)

    def say(self, text: str, error: bool = False) -> None:
        from .. import theme

        colour = theme.current().error if error else theme.current().node_subtext
        self.message.setText(f"<span style='color:{colour}'>{text}</span>" if text else "")
