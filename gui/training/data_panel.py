"""The data panel: choose a built-in dataset or open a file, see a preview, the class counts
and the input shape, and fix the Input node in one click when they disagree.

Loading runs on a plain thread (an image folder can take seconds); the panel shows the
result, or the loader's one-line error, when it arrives.
"""

from __future__ import annotations

import os
import threading
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from .. import theme
from .data_inputs import InputsTable, input_rows

OWN_FILE, OWN_FOLDER = "__file__", "__folder__"


class _Loaded(QObject):
    # token, Dataset or None, error text or None, the arrays feeding several Inputs or None
    done = Signal(int, object, object, object)
    # token, bytes read so far (`engine.data.progress`, from the loading thread)
    progress = Signal(int, object)


#: What the panel says while a load is on its way (with the megabytes read, once known).
LOADING = "Loading…"


def image_grid(x: np.ndarray, columns: int) -> QImage:
    """[k, C, H, W] floats to one RGB image, each sample stretched to its own range."""
    from ..inspect.sample_views import to_rgb

    return tile(np.stack([to_rgb(sample) for sample in x]), columns)


def tile(pictures: np.ndarray, columns: int) -> QImage:
    """uint8 [k, H, W, 3] pictures in rows of `columns`, 2 px apart on a dark ground."""
    from ..inspect.sample_views import qimage

    k, h, w, _ = pictures.shape
    rows = (k + columns - 1) // columns
    pad = 2
    canvas = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), 40, np.uint8)
    for i in range(k):
        r, c = divmod(i, columns)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top:top + h, left:left + w] = pictures[i]
    return qimage(canvas)


class DataPanel(QScrollArea):
    #: The person chose another dataset spec; the window makes it an undoable edit.
    spec_changed = Signal(object)
    #: The dataset spec with another augmentation, what Edit → Undo calls it, and what it
    #: is about (`augment_panel.AugmentPanel.changed`).
    augment_changed = Signal(object, str, str)
    #: "Set the Input to fit the data": (shape, dtype).
    fit_input = Signal(list, str)
    #: "Set the Embedding's num_embeddings to fit the data": (node id, value).
    fit_embedding = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.base_dir: Path | None = None
        self.spec: dict[str, Any] | None = None
        self.data: Any = None
        self.expected: tuple[tuple[int, ...], str] | None = None
        self._token = 0
        #: what the project's task reads from the data (`data.sources.TARGETS`)
        self.targets = "classification"
        #: the model's Input nodes (id -> shape) in the order its forward takes them
        self.wanted: dict[str, tuple[int, ...]] = {}
        #: the Embeddings the Inputs feed: node id -> num_embeddings as the node holds it
        self.embeddings: dict[str, Any] = {}
        self._loaded = _Loaded()
        self._loaded.done.connect(self._on_loaded)
        self._loaded.progress.connect(self._on_progress)
        self._quiet = False
        self._grid: QImage | None = None
        self._sharp = True
        self._waiting = False
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        title = QLabel("Dataset")
        title.setObjectName("section")
        layout.addWidget(title)
        self.source = QComboBox()
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(18)
        layout.addWidget(self.source)
        #: The full path a file dataset is read from, shown before it is read.
        self.where = QLabel("")
        self.where.setWordWrap(True)
        self.where.setTextFormat(Qt.TextFormat.RichText)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.where.hide()
        layout.addWidget(self.where)
        self.options = QFormLayout()
        layout.addLayout(self.options)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.info)
        self.inputs_table = InputsTable()
        layout.addWidget(self.inputs_table)
        fit_row = QHBoxLayout()
        self.fit_message = QLabel("")
        self.fit_message.setWordWrap(True)
        self.fit_message.setObjectName("error")
        self.fit_button = QPushButton("")
        self.fit_button.setAccessibleName("Fit the Input to the data")
        self.fit_button.setProperty("primary", True)
        self.fit_button.hide()
        fit_row.addWidget(self.fit_message, 1)
        layout.addLayout(fit_row)
        layout.addWidget(self.fit_button)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.table = QTableWidget()
        self.table.setAccessibleName("Data preview")
        self.table.setMinimumHeight(180)
        self.table.hide()
        from .text_preview import TextPreview

        self.text_preview = TextPreview()
        self.text_preview.setMinimumHeight(260)
        self.text_preview.hide()
        layout.addWidget(self.preview)
        layout.addWidget(self.table)
        layout.addWidget(self.text_preview)
        from .augment_panel import AugmentPanel

        self.augment = AugmentPanel()
        self.augment.changed.connect(self._augment_set)
        layout.addWidget(self.augment)
        layout.addStretch(1)
        self.setWidget(page)
        self.source.currentIndexChanged.connect(self._source_chosen)
        self.fit_button.clicked.connect(self._fit_clicked)
        self._fill_sources()

    # ---- choosing ------------------------------------------------------------------------

    def _fill_sources(self) -> None:
        from torchloom.engine.data.catalog import BUILTINS

        self._quiet = True
        self.source.clear()
        for name, entry in BUILTINS.items():
            self.source.addItem(name, name)
            self.source.setItemData(self.source.count() - 1, entry.summary,
                                    Qt.ItemDataRole.ToolTipRole)
        self.source.addItem("Open a file (NPZ, CSV, IDX)…", OWN_FILE)
        self.source.addItem("Open an image folder…", OWN_FOLDER)
        self._quiet = False

    def set_project(self, spec: dict[str, Any] | None, base_dir: Path | None,
                    expected: tuple[tuple[int, ...], str] | None,
                    targets: str = "classification") -> None:
        """Show the project's dataset; `expected` is the Input node's (shape, dtype);
        `targets` what the project's task reads from it (its classes, tags, masks...)."""
        from torchloom.engine.data.augment import KEY, without_augment

        self.base_dir, self.expected = base_dir, expected
        changed = targets != self.targets
        self.targets = targets
        self.augment.set_spec((spec or {}).get(KEY))
        if without_augment(spec) != without_augment(self.spec) or self.data is None or changed:
            self.spec = dict(spec) if spec else None
            self._select_spec()
            self._build_options()
            self.reload()
        else:  # the same data: augmentation is applied to it, not read with it
            self.spec = dict(spec) if spec else None
            self._show_fit()

    def set_inputs(self, wanted: dict[str, tuple[int, ...]]) -> None:
        """The model's Inputs (id -> shape); with two or more, an NPZ feeds each from the
        array named after it, so a change of them reads the file again."""
        wanted = dict(wanted)
        if wanted != self.wanted:
            several = len(wanted) >= 2 or len(self.wanted) >= 2
            self.wanted = wanted
            if several and self.spec:
                self.reload()

    def set_expected(self, expected: tuple[tuple[int, ...], str] | None,
                     embeddings: dict[str, Any] | None = None) -> None:
        self.expected = expected
        if embeddings is not None:
            self.embeddings = dict(embeddings)
        self._show_fit()

    def _select_spec(self) -> None:
        self._quiet = True
        spec = self.spec or {}
        if "name" in spec:
            index = self.source.findData(spec["name"])
        elif "path" in spec:
            label = f"file: {spec['path']}"
            index = self.source.findText(label)
            if index < 0:
                self.source.insertItem(self.source.count() - 2, label, {"path": spec["path"]})
                index = self.source.findText(label)
        else:
            index = -1
        self.source.setCurrentIndex(index)
        self._quiet = False

    def _source_chosen(self, _index: int) -> None:
        if self._quiet:
            return
        data = self.source.currentData()
        if data == OWN_FILE:
            path, _ = QFileDialog.getOpenFileName(self, "Open data", str(self.base_dir or ""),
                                                  "Data (*.npz *.csv *.gz *ubyte *.idx);;All (*)")
            self._choose_path(path)
        elif data == OWN_FOLDER:
            path = QFileDialog.getExistingDirectory(self, "Open an image folder",
                                                    str(self.base_dir or ""))
            self._choose_path(path)
        elif isinstance(data, dict):
            self.spec_changed.emit(self._keeping_augment(dict(data)))
        elif data:
            self.spec_changed.emit(self._keeping_augment({"name": data}))

    def _augment_set(self, augment: Any, text: str, about: str) -> None:
        spec = {k: v for k, v in (self.spec or {}).items() if k != "augment"}
        if augment:
            spec["augment"] = augment
        self.augment_changed.emit(spec, text, about)

    def _keeping_augment(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Another dataset keeps the augmentation chosen (the panel says if it does not fit)."""
        augment = (self.spec or {}).get("augment")
        return dict(spec, augment=augment) if augment else spec

    def _choose_path(self, path: str) -> None:
        if not path:
            self._select_spec()
            return
        chosen = Path(path)
        if self.base_dir is not None:
            try:
                chosen = chosen.relative_to(self.base_dir)
            except ValueError:
                pass
        self.spec_changed.emit(self._keeping_augment({"path": chosen.as_posix()}))

    def _build_options(self) -> None:
        while self.options.rowCount():
            self.options.removeRow(0)
        spec = self.spec or {}
        path = str(spec.get("path", "")).lower()
        if not path:
            return
        if path.endswith(".csv") or path.endswith(".tsv"):
            self._text_option("target", "Label column", "target")
        elif path.endswith(".npz"):
            self._text_option("x_key", "x array", "x")
            self._text_option("y_key", "y array", "y")
        elif "idx" in path or "ubyte" in path:
            self._text_option("labels", "Labels file", "")
        else:
            size = spec.get("image_size", [32, 32])
            size = [size, size] if isinstance(size, int) else size
            row = QHBoxLayout()
            boxes = []
            for value in size:
                box = QSpinBox()
                box.setRange(4, 1024)
                box.setValue(int(value))
                boxes.append(box)
                row.addWidget(box)
            for box in boxes:
                box.editingFinished.connect(lambda b=boxes: self._set_option(
                    "image_size", [b[0].value(), b[1].value()]))
            holder = QWidget()
            holder.setLayout(row)
            self.options.addRow("Image size", holder)
            color = QComboBox()
            color.addItems(["rgb", "gray"])
            color.setCurrentText(spec.get("color", "rgb"))
            color.currentTextChanged.connect(lambda v: self._set_option("color", v))
            self.options.addRow("Colour", color)

    def _text_option(self, key: str, label: str, default: str) -> None:
        edit = QLineEdit(str((self.spec or {}).get(key, default)))
        edit.editingFinished.connect(lambda: self._set_option(key, edit.text().strip() or None))
        self.options.addRow(label, edit)

    def _set_option(self, key: str, value: Any) -> None:
        spec = dict(self.spec or {})
        if value in (None, ""):
            spec.pop(key, None)
        else:
            spec[key] = value
        if spec != self.spec:
            self.spec_changed.emit(spec)

    # ---- loading and showing -------------------------------------------------------------

    def reload(self) -> None:
        from ..engine_loader import engine_loader

        self._token += 1
        token, spec, base = self._token, self.spec, self.base_dir
        targets, wanted = self.targets, dict(self.wanted)
        self.data = None
        self.where.hide()
        loader = engine_loader()
        if spec and not loader.is_ready:  # data needs torch: wait for it, do not race it
            self.info.setText(LOADING)
            if not self._waiting:
                self._waiting = True
                loader.ready.connect(self._engine_ready)
            return
        if not spec:
            self.info.setText("No dataset chosen yet.")
            self._grid = None
            self.preview.clear()
            self.table.hide()
            self.inputs_table.show_rows(None)
            self._show_fit()
            return
        self.info.setText(LOADING)
        self._show_where(spec, base)

        def load() -> None:
            try:
                from torchloom.engine.data import load_dataset
                from torchloom.engine.data.progress import reading_progress
                from torchloom.engine.errors import TorchloomError

                rows = input_rows(spec, base, wanted)
                ids = list(wanted) if len(wanted) >= 2 else []

                def tell(_path: str, done: int, _finished: bool) -> None:
                    try:
                        self._loaded.progress.emit(token, done)
                    except RuntimeError:  # the window closed while the data loaded
                        pass

                try:
                    with reading_progress(tell):
                        data = load_dataset(spec, base, targets, inputs=ids)
                    result = (token, data, None, rows)
                except TorchloomError as exc:
                    result = (token, None, exc.describe(), rows)
            except Exception as exc:  # noqa: BLE001 - shown in the panel, never raised
                result = (token, None, f"{type(exc).__name__}: {exc}", None)
            try:
                self._loaded.done.emit(*result)
            except RuntimeError:  # the window closed while the data loaded: nobody to tell
                pass

        self._loading = threading.Thread(target=load, daemon=True, name="data-preview")
        self._loading.start()

    def _show_where(self, spec: dict[str, Any], base: Path | None) -> None:
        """Show the file the spec reads, in full, before it is read. A project names its data
        relative to its own folder; a path that leads out of that folder is pointed out."""
        from torchloom.engine.data.sources import dataset_path
        from torchloom.engine.errors import DataError

        if "name" in spec or "path" not in spec:
            return
        try:
            path = dataset_path(spec["path"], base)
        except DataError:
            return  # the loader's error says what is wrong with it
        colors = theme.current()
        full = Path(os.path.abspath(path))
        text = f"Reads <b>{escape(str(full))}</b>"
        inside = Path(os.path.realpath(full)).is_relative_to(os.path.realpath(base or "."))
        if base is not None and not inside:
            text += (f"<br><span style='color:{colors.warning}'>outside the project folder"
                     "</span>")
        self.where.setText(f"<span style='color:{colors.node_subtext}'>{text}</span>")
        self.where.setToolTip(str(full))
        self.where.show()

    def wait(self, timeout: float = 10.0) -> None:
        """Let a data preview that is still loading finish (before the process exits: a
        thread cut off inside torch or numpy at exit can abort the interpreter)."""
        thread = getattr(self, "_loading", None)
        if thread is not None and thread.is_alive():
            thread.join(timeout)

    def _engine_ready(self) -> None:
        from ..engine_loader import engine_loader

        engine_loader().ready.disconnect(self._engine_ready)
        self._waiting = False
        self.reload()

    def wait_loaded(self, timeout_s: float = 30.0) -> bool:
        """Tests and scripts: process events until the current load has arrived."""
        import time

        from PySide6.QtWidgets import QApplication

        end = time.monotonic() + timeout_s
        while self.info.text().startswith(LOADING) and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.01)
        return not self.info.text().startswith(LOADING)

    def _on_progress(self, token: int, done: int) -> None:
        """A long read says how far it has come (the reader reports every few MB)."""
        if token == self._token and self.info.text().startswith(LOADING):
            size = f"{done / 1e6:.1f}" if done < 10**7 else f"{done / 1e6:,.0f}"
            self.info.setText(f"{LOADING} {size} MB read")

    def _on_loaded(self, token: int, data: Any, error: str | None, rows: Any = None) -> None:
        if token != self._token:
            return  # a newer choice is loading
        self.inputs_table.show_rows(rows)
        colors = theme.current()
        self.augment.set_data(data if error is None else None, self.targets)
        if error is not None:
            self.data = None
            self.info.setText(f"<span style='color:{colors.error}'>{escape(error)}</span>")
            self._grid = None  # or a resize would paint the previous dataset's preview again
            self.preview.clear()
            self.table.hide()
            self.text_preview.hide()
            self._show_fit()
            return
        self.data = data
        d = data.describe()
        counts = d.get("class_counts", [])
        classes = d.get("classes", [])
        pairs = ", ".join(f"{c}: {n}" for c, n in list(zip(classes, counts))[:12])
        more = " …" if len(classes) > 12 else ""
        muted = colors.node_subtext
        if data.several:
            shapes = ", ".join(f"{k} <b>{v}</b> {d['dtype'][k]}"
                               for k, v in d["input_shape"].items())
            html = f"<p><b>{d['samples']:,}</b> samples · inputs {shapes}</p>"
        else:
            html = (f"<p><b>{d['samples']:,}</b> samples · input <b>{d['input_shape']}</b> "
                    f"{d['dtype']}</p>")
        if classes:
            what = ("labels (samples with each)" if data.y.is_floating_point() else
                    "classes per pixel (pixels of each)" if data.y.dim() == 3 else "classes")
            html += (f"<p>{len(classes)} {what} <span style='color:{muted}'>({pairs}{more})"
                     "</span></p>")
        elif data.target_shape:
            names = d.get("targets") or []
            html += (f"<p>{data.target_shape[0]} numbers to predict per sample"
                     f"{': ' + escape(', '.join(map(str, names))) if names else ''}</p>")
        if d.get("summary"):
            html += f"<p style='color:{muted}'>{d['summary']}</p>"
        if "chance_accuracy" in d:
            html += f"<p style='color:{muted}'>chance accuracy {d['chance_accuracy']:.3f}</p>"
        if d.get("skipped"):
            names = ", ".join(d.get("skipped_files", [])[:3])
            names += " …" if d["skipped"] > 3 else ""
            html += (f"<p style='color:{colors.warning}'>{d['skipped']} broken image(s) "
                     f"skipped: {escape(names)}</p>")
        self.info.setText(html)
        self._show_preview(data)
        self._show_fit()

    def _show_preview(self, data: Any) -> None:
        from torchloom.engine.data.inputs import shown_samples
        from torchloom.engine.data.preview import preview, with_masks

        self.text_preview.setVisible(data.tokenizer is not None)
        if data.tokenizer is not None:  # text: samples as text and as token ids
            self._grid = None
            self.preview.clear()
            self.table.hide()
            self.text_preview.show_data(data)
            return
        x, y = preview(data, per_class=4, limit=40)
        x = shown_samples(x)  # several Inputs: the images, or the first one
        if x.dim() == 4 and y.dim() == 3:  # segmentation: each image beside its mask
            x = with_masks(x[:16], y[:16])
        if x.dim() == 4:
            self.table.hide()
            self._grid = image_grid(x.float().numpy(), columns=8)
            self._sharp = x.shape[-1] < 24  # small pixels stay sharp when enlarged
            self._scale_preview()
            return
        self._grid = None
        self.preview.clear()
        rows = x.reshape(x.shape[0], -1)[:12]
        columns = data.info.get("columns") or [str(i) for i in range(min(rows.shape[1], 40))]
        width = min(rows.shape[1], 40)
        self.table.setColumnCount(width + 1)
        self.table.setRowCount(rows.shape[0])
        self.table.setHorizontalHeaderLabels(["label" if data.classes else "target",
                                              *columns[:width]])
        for r in range(rows.shape[0]):
            label = target_text(data, y[r])
            self.table.setItem(r, 0, QTableWidgetItem(label))
            for c in range(width):
                value = rows[r, c].item()
                text = str(value) if isinstance(value, int) else f"{value:.3g}"
                self.table.setItem(r, c + 1, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.show()

    def _scale_preview(self) -> None:
        if getattr(self, "_grid", None) is None:
            return
        width = max(self.viewport().width() - 32, 160)
        mode = (Qt.TransformationMode.FastTransformation if self._sharp
                else Qt.TransformationMode.SmoothTransformation)
        self.preview.setPixmap(QPixmap.fromImage(self._grid).scaledToWidth(width, mode))

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self._scale_preview()
        self.augment.scale_to(self.viewport().width() - 24)

    def _show_fit(self) -> None:
        """Say when the data does not fit the Input node (or an Embedding it feeds is too
        small for its token ids), and offer the one-click fix."""
        target = self._fitting_input()
        short = self._short_embedding() if target is None else None
        if short is not None:
            node, size, needed, value = short
            self.fit_message.setText(f"The data's token ids go up to {needed - 1}, but "
                                     f"{node}'s num_embeddings is {size}.")
            shown = (f'"vocab" ({self.data.tokenizer.vocab_size})' if value == "vocab"
                     else str(value))
            self.fit_button.setText(f"Set {node}'s num_embeddings to {shown}")
            self.fit_button.setAccessibleName(self.fit_button.text())
            self.fit_button.show()
            return
        if target is None:
            self.fit_message.setText("")
            self.fit_button.hide()
            return
        shape, dtype = self.expected  # type: ignore[misc]
        have = list(self.data.input_shape)
        self.fit_message.setText(f"The data's samples are {have} {self.data.dtype}, but the "
                                 f"Input expects {list(shape)} {dtype}.")
        self.fit_button.setText(f"Set the Input to {target[0]} {target[1]}")
        self.fit_button.setAccessibleName(self.fit_button.text())
        self.fit_button.show()

    def _fitting_input(self) -> tuple[list[int], str] | None:
        """The (shape, dtype) the Input should take, or None when the data already fits
        (by the engine's own rule, the one training applies)."""
        from torchloom.engine.data.fit import input_mismatch

        if self.data is None or self.expected is None or self.data.several:
            return None  # several Inputs: the table says what does not fit
        shape, dtype = self.expected
        problem = input_mismatch(self.data, shape, dtype)
        if problem is None:
            return None
        return list(self.data.input_shape), "float32" if problem == "dtype" else dtype

    def _short_embedding(self) -> tuple[str, int, int, Any] | None:
        from torchloom.engine.data.fit import embedding_shortfall

        return embedding_shortfall(self.data, self.embeddings) if self.embeddings else None

    def _fit_clicked(self) -> None:
        target = self._fitting_input()
        if target is not None:
            self.fit_input.emit(*target)
            return
        short = self._short_embedding()
        if short is not None:
            self.fit_embedding.emit(short[0], short[3])


def target_text(data: Any, y: Any) -> str:
    """One sample's target in the preview table: its class, its tags, its numbers."""
    if y.dim() == 0:
        return data.classes[int(y)] if data.classes else f"{float(y):.3g}"
    if data.classes and y.is_floating_point():  # tags
        return ", ".join(name for name, on in zip(data.classes, y.tolist()) if on) or "none"
    return ", ".join(f"{float(v):.3g}" for v in y.flatten()[:4])
