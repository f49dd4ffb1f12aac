"""The data panel's Augmentation section: a switch and the parameters of every augmentation
(derived from `engine.data.augment.AUGMENTATIONS`), and a grid of augmented versions of one
sample, drawn as training would draw them.

Each change is sent as the new ``dataset.augment`` object (`changed`); the window makes it
an undoable edit of the project and hands the project back (`set_spec`). An augmentation
that does not fit the loaded data (flips on token ids, mixup for segmentation) is named
under the switches, as training would refuse it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QCheckBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from torchloom.engine.data.augment import AUGMENTATIONS, data_problem, parse
from torchloom.engine.errors import DataError

from ..inspector import ParamField

#: Augmented versions shown, and per row.
VERSIONS, COLUMNS = 16, 8


def versions_grid(images: np.ndarray, masks: np.ndarray | None, low: float,
                  high: float) -> QImage:
    """[k, C, H, W] images on one fixed scale (`low`..`high`: the original sample's range,
    so a brighter or darker version looks it), each followed by its mask if given."""
    import torch

    from torchloom.engine.data.preview import mask_images

    from .data_panel import tile

    x = np.clip((images - low) / max(high - low, 1e-8), 0.0, 1.0)
    x = np.repeat(x[:, :1], 3, axis=1) if x.shape[1] < 3 else x[:, :3]
    if masks is not None:
        pictures = mask_images(torch.from_numpy(masks)).numpy()
        x = np.stack([x, pictures], 1).reshape(-1, *x.shape[1:])
    return tile((x.transpose(0, 2, 3, 1) * 255).round().astype(np.uint8), COLUMNS)


class AugmentPanel(QWidget):
    #: the new dataset.augment object (None: no augmentation), what Edit → Undo calls the
    #: change, and what it is about (changes about one thing in a row merge)
    changed = Signal(object, str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec: dict[str, Any] = {}
        self.data: Any = None
        self.targets = "classification"
        self.draw = 0
        self._quiet = False
        self._grid: QImage | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        title = QLabel("Augmentation")
        title.setObjectName("section")
        layout.addWidget(title)
        note = QLabel("Random changes to the training batches only; validation sees the "
                      "data as it is.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        layout.addWidget(note)
        self.problem = QLabel("")
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        head = QHBoxLayout()
        self.caption = QLabel("")
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        self.redraw = QPushButton("New draws")
        self.redraw.setToolTip("Show other random versions of the same sample")
        self.redraw.clicked.connect(self._new_draws)
        head.addWidget(self.caption, 1)
        head.addWidget(self.redraw)
        layout.addLayout(head)
        self.preview = QLabel()
        self.preview.setAccessibleName("Augmented versions of one sample")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.preview)
        #: the switches and their parameters, hidden for data no augmentation works on
        self.switch_area = QWidget()
        area = QVBoxLayout(self.switch_area)
        area.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.switch_area)
        self.switches: dict[str, QCheckBox] = {}
        self.fields: dict[str, dict[str, ParamField]] = {}
        #: each augmentation's parameters, shown while it is on
        self.param_rows: dict[str, QWidget] = {}
        for name, aug in AUGMENTATIONS.items():
            box = QCheckBox(name)
            box.setObjectName(f"augment_{name}")
            box.setToolTip(aug.doc)
            box.setAccessibleDescription(aug.doc)
            box.toggled.connect(lambda on, n=name: self._toggled(n, on))
            self.switches[name] = box
            area.addWidget(box)
            form = QFormLayout()
            form.setContentsMargins(26, 0, 0, 4)
            self.fields[name] = {}
            for key, decl in aug.params.items():
                field = ParamField(key, decl, lambda k, v, n=name: self._param_set(n, k, v))
                field.widget.setObjectName(f"augment_{name}_{key}")
                field.widget.setMaximumWidth(90)
                label = QLabel(key)
                label.setObjectName("muted")
                label.setToolTip(decl.doc)
                form.addRow(label, field.widget)
                form.addRow("", field.error)
                self.fields[name][key] = field
            holder = QWidget()
            holder.setLayout(form)
            holder.hide()
            self.param_rows[name] = holder
            area.addWidget(holder)
        self._show()

    # ---- from the project ----------------------------------------------------------------

    def set_spec(self, augment: Any) -> None:
        """The project's dataset.augment (as the file has it)."""
        self.spec = dict(augment) if isinstance(augment, dict) else {}
        self._quiet = True
        try:
            try:
                chosen = parse(self.spec)
            except DataError:
                chosen = {}
            for name, box in self.switches.items():
                on = name in chosen
                box.setChecked(on)
                self.param_rows[name].setVisible(on)
                for key, field in self.fields[name].items():
                    field.set_value(chosen[name][key] if on else
                                    AUGMENTATIONS[name].params[key].default)
        finally:
            self._quiet = False
        self._show()

    def set_data(self, data: Any, targets: str) -> None:
        """The loaded dataset (None while loading or on an error)."""
        self.data, self.targets = data, targets
        self._show()

    # ---- edits ---------------------------------------------------------------------------

    def _toggled(self, name: str, on: bool) -> None:
        if self._quiet:
            return
        spec = dict(self.spec)
        self.param_rows[name].setVisible(on)
        if on:
            spec[name] = {key: field.decl.default for key, field in self.fields[name].items()}
        else:
            spec.pop(name, None)
        self._send(spec, f"{'Augment with' if on else 'Stop augmenting with'} {name}",
                   f"augment.{name}")

    def _param_set(self, name: str, key: str, value: Any) -> str | None:
        spec = dict(self.spec)
        spec[name] = dict(spec.get(name) or {}, **{key: value})
        try:
            parse(spec)
        except DataError as exc:
            return exc.message
        self._send(spec, f"Set {name} {key} to {value}", f"augment.{name}.{key}")
        return None

    def _send(self, spec: dict[str, Any], text: str, about: str) -> None:
        self.spec = spec
        self.changed.emit(spec or None, text, about)
        self._show()

    def _new_draws(self) -> None:
        self.draw += 1
        self._show()

    # ---- showing -------------------------------------------------------------------------

    def _show(self) -> None:
        try:
            chosen = parse(self.spec)
        except DataError as exc:
            chosen, error = {}, exc.describe()
        else:
            error = ""
        data = self.data
        if not error and data is not None and chosen:
            problem = data_problem(chosen, data, self.targets)
            error = problem.describe() if problem is not None else ""
        tokens = (data is not None and not data.several
                  and not data.dtype.startswith(("float", "bfloat")))
        self.switch_area.setVisible(not tokens or bool(chosen))  # nothing works on token ids
        if tokens and not chosen:
            error = ""
            self.caption.setText("Augmentation works on images and numbers; this data holds "
                                 "token ids.")
        self.problem.setText(error)
        self.problem.setVisible(bool(error))
        images = (data is not None and not data.several and len(data.input_shape) == 3
                  and data.dtype.startswith("float") and len(data) > 0)
        if not chosen or error or not images:
            self._grid = None
            self.preview.clear()
            self.redraw.setVisible(False)
            if not (tokens and not chosen):
                self.caption.setText("" if not chosen or error else
                                     "A preview shows for image data.")
            return
        import torch

        from torchloom.engine.data.augment_ops import preview_versions

        x, masks = preview_versions(chosen, data, index=0, count=VERSIONS, draw=self.draw)
        original = data.read(torch.tensor([0])).float()
        low, high = float(original.min()), float(original.max())
        self._grid = versions_grid(x.numpy(), None if masks is None else masks.numpy(), low,
                                   high)
        self.caption.setText(f"{VERSIONS} versions of sample 0 with "
                             + ", ".join(chosen) + (" (each beside its mask)"
                                                    if masks is not None else ""))
        self.redraw.setVisible(True)
        self.scale_to(self.width())

    def scale_to(self, width: int) -> None:
        if self._grid is None:
            return
        width = max(width - 8, 160)
        sharp = self._grid.width() < 8 * 40
        mode = (Qt.TransformationMode.FastTransformation if sharp
                else Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(QPixmap.fromImage(self._grid).scaledToWidth(width, mode))
