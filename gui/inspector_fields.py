"""The inspector's fields: one editor per declared parameter (`engine.params.Param`).

Ints get spin boxes with the declared range, choices combo boxes, bools check boxes, sizes
and tuples a small text editor. A field hands each value to a `commit` callback and shows
the reason beside it when the engine refuses it. The parameter form and the Training
section (`block_training_fields`) are both made of these.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox, QWidget

from torchloom.engine.params import Param

INT_LIMIT = 2**31 - 1


def parse_text(text: str) -> Any:
    """What a person types for sizes and tuples: ``3``, ``3, 5``, ``[1, 28, 28]``, ``same``."""
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text if not ("," in text and not text.startswith("[")) else f"[{text}]")
    except ValueError:
        return text


def show_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


class ParamField:
    """One parameter's editor and the label that says why a value was refused."""

    def __init__(self, name: str, decl: Param, commit: Callable[[str, Any], str | None]) -> None:
        self.name, self.decl, self.commit = name, decl, commit
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self.error.hide()
        self._quiet = False
        kind = decl.kind
        if kind == "bool":
            self.widget: QWidget = QCheckBox()
            self.widget.toggled.connect(lambda v: self._send(bool(v)))
        elif kind == "choice":
            self.widget = QComboBox()
            self.widget.addItems(list(decl.choices))  # type: ignore[attr-defined]
            self.widget.currentTextChanged.connect(self._send)
        elif kind == "int":
            box = QSpinBox()
            low = decl.min if decl.min is not None else -INT_LIMIT  # type: ignore[attr-defined]
            high = decl.max if decl.max is not None else INT_LIMIT  # type: ignore[attr-defined]
            if decl.optional:
                low -= 1
                box.setSpecialValueText("none")
            elif getattr(decl, "vocab", False):  # one below the range: the data's size
                low -= 1
                box.setSpecialValueText("vocab")
            box.setRange(max(low, -INT_LIMIT), min(high, INT_LIMIT))
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._send_int)
            self.widget = box
        else:  # float, ints, shape, text, json: typed text, checked by the engine
            self.widget = QLineEdit()
            self._typed = False  # the person changed the text since it was last sent or set
            self.widget.textEdited.connect(self._text_typed)
            self.widget.editingFinished.connect(self._send_text)
            if kind == "json":
                self.widget.setPlaceholderText('{"name": value}')
        self.widget.setToolTip(f"{decl.doc}\nAccepts {decl.expects()}.")
        self.widget.setObjectName(f"param_{name}")
        self.widget.setAccessibleName(name)  # the parameter's name, as the form's label
        self.widget.setAccessibleDescription(decl.doc)

    def set_value(self, value: Any) -> None:
        self._quiet = True
        try:
            w = self.widget
            if isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                w.setCurrentText(str(value))
            elif isinstance(w, QSpinBox):
                w.setValue(w.minimum() if value is None or value == "vocab" else int(value))
            elif not w.hasFocus():
                w.setText(self._show(value))
                self._typed = False
        finally:
            self._quiet = False

    def _send_int(self, value: int) -> None:
        box = self.widget
        assert isinstance(box, QSpinBox)
        if getattr(self.decl, "vocab", False) and value == box.minimum():
            self._send("vocab")
            return
        self._send(None if self.decl.optional and value == box.minimum() else value)

    def _show(self, value: Any) -> str:
        if self.decl.kind == "json":
            return json.dumps(value if value is not None else {})
        if self.decl.kind == "text":
            return "" if value is None else str(value)
        return show_text(value)

    def _text_typed(self, _text: str) -> None:
        self._typed = True

    def _send_text(self) -> None:
        """Enter, or the focus leaving, after the person typed. Qt also emits
        `editingFinished` on the first focus-out after a `setText` (filling the form): that
        is no edit, so nothing is sent unless the text was typed."""
        assert isinstance(self.widget, QLineEdit)
        if not self._typed:
            return
        self._typed = False
        text = self.widget.text()
        if self.decl.kind == "text":
            self._send(text.strip())
        elif self.decl.kind == "json":
            try:
                self._send(json.loads(text) if text.strip() else {})
            except ValueError:
                self._send(text)  # the engine refuses it, with what it expects
        else:
            self._send(parse_text(text))

    def _send(self, value: Any) -> None:
        if self._quiet:
            return
        problem = self.commit(self.name, value)
        self.error.setText(problem or "")
        self.error.setVisible(bool(problem))
        self.widget.setProperty("invalid", bool(problem))
        self.widget.style().unpolish(self.widget)
        self.widget.style().polish(self.widget)
