"""The inspector: a form generated from the selected block's parameter declarations.

Ints get spin boxes with the declared range, choices combo boxes, bools check boxes, sizes
and tuples a small text editor. Every change is an undoable engine edit; a value the engine
refuses stays in the field with the reason beside it. Sizes that follow from the input
(`in_channels`...) are shown read-only.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (QFormLayout, QFrame, QHBoxLayout, QLabel, QScrollArea,
                               QVBoxLayout, QWidget)

from torchloom.engine.edits import plan_set_param
from torchloom.engine.errors import TorchloomError

from . import theme
from .rename_field import IdField
from .text import rich
from .canvas.style import format_count, format_shape
from .block_training_fields import BlockTrainingFields
from .document import Document
from .inspector_fields import INT_LIMIT, ParamField, parse_text, show_text

__all__ = ["INT_LIMIT", "Inspector", "ParamField", "parse_text", "show_text"]


class Inspector(QScrollArea):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.document: Document | None = None
        self.node_id: str | None = None
        self.fields: dict[str, ParamField] = {}
        self.training: BlockTrainingFields | None = None
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.rebuild)
        self.rebuild()

    def set_document(self, document: Document | None) -> None:
        if self.document is not None:
            self.document.graph_event.disconnect(self._on_event)
            self.document.analysis_changed.disconnect(self._refresh_header_only)
            self.document.title_changed.disconnect(self._refresh_header_only)
        self.document, self.node_id = document, None
        if document is not None:
            document.graph_event.connect(self._on_event)
            document.analysis_changed.connect(self._refresh_header_only)
            document.title_changed.connect(self._refresh_header_only)  # the name, on a save
        self.rebuild()

    def show_nodes(self, node_ids: list[str]) -> None:
        node_id = node_ids[0] if len(node_ids) == 1 else None
        if node_id != self.node_id:
            self.node_id = node_id
            self.rebuild()

    def _renamed(self, new: str) -> None:
        self.node_id = new
        self._pending.start()

    def _on_event(self, event: Any) -> None:
        if event.kind == "node_renamed" and event.old == self.node_id:
            self.node_id = event.new  # an undo or redo of a rename: follow the block
            self._pending.start()
        elif event.kind == "node_removed" and event.node.id == self.node_id:
            self.node_id = None
            self._pending.start()
        elif event.kind == "node_changed" and event.node.id == self.node_id:
            self.sync_values()

    def sync_values(self) -> None:
        if self.document is None or self.node_id not in self.document.graph:
            return
        resolved = self.document.graph.node(self.node_id).resolved_params()
        for name, field in self.fields.items():
            field.set_value(resolved.get(name))
        if self.training is not None:
            self.training.sync()

    # ---- building the form ------------------------------------------------------------

    def rebuild(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(8)
        self.fields = {}
        self.training = None
        self._form_key = self._key()
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.header)
        doc = self.document
        if doc is None or self.node_id is None or self.node_id not in doc.graph:
            self.header.setText(self._overview())
            layout.addStretch(1)
            self.setWidget(page)
            return
        node = doc.graph.node(self.node_id)
        block = node.block
        self.header.setText(self._node_header())
        self.id_field = IdField(doc, node.id, hasattr(doc, "promoted_targets"), self._renamed)
        ids = QFormLayout()
        ids.addRow(QLabel("id"), self.id_field.widget)
        ids.addRow("", self.id_field.error)
        ids.addRow("", self.id_field.note)
        layout.addLayout(ids)
        if block is not None and block.params:
            title = QLabel("Parameters")
            title.setObjectName("section")
            layout.addWidget(title)
            form = QFormLayout()
            form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
            resolved = node.resolved_params()
            fed = getattr(doc, "promoted_targets", dict)()  # inside a unit (gui.units)
            tool = getattr(doc, "param_tool", None)  # inside a unit: promote (gui.units)
            for name, decl in block.params.items():
                field = ParamField(name, decl, self._commit)
                field.set_value(node.params.get(name, resolved.get(name)))
                label = QLabel(name)
                label.setToolTip(decl.doc)
                if (node.id, name) in fed:  # the unit node's own parameter decides it
                    pname, value, where = fed[(node.id, name)]
                    if value is not None:
                        field.set_value(value)
                    field.widget.setEnabled(False)
                    field.error.setText(f"← the unit's {pname}{where}: change it there")
                    field.error.setStyleSheet(f"color: {theme.current().node_subtext}")
                    field.error.show()
                button = tool(node.id, name, page) if tool is not None else None
                if button is not None:
                    row = QHBoxLayout()
                    row.setContentsMargins(0, 0, 0, 0)
                    row.setSpacing(2)
                    row.addWidget(field.widget, 1)
                    row.addWidget(button)
                    form.addRow(label, row)
                else:
                    form.addRow(label, field.widget)
                form.addRow("", field.error)
                promoted = getattr(getattr(block, "defn", None), "params", {}).get(name)
                if promoted is not None:  # a unit node's promoted parameter: where it goes
                    note = QLabel("→ " + ", ".join(f"{t.node}.{t.param}"
                                                   for t in promoted.targets))
                    note.setObjectName(f"targets_{name}")
                    note.setWordWrap(True)
                    note.setStyleSheet(f"color: {theme.current().node_subtext}")
                    form.addRow("", note)
                self.fields[name] = field
            layout.addLayout(form)
        if block is not None and not block.is_input:  # inside a unit too: every copy
            self.training = BlockTrainingFields(doc, node.id, page)
            layout.addWidget(self.training.title)
            layout.addLayout(self.training.form)
        self.inferred = QLabel()
        self.inferred.setWordWrap(True)
        self.inferred.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.inferred)
        self._refresh_header_only()
        layout.addStretch(1)
        self.setWidget(page)

    def _key(self) -> Any:
        """What the form is built from beyond values: the parameter names (a unit gains or
        loses promoted ones) and, inside a unit, which inner parameters the unit sets."""
        doc = self.document
        if doc is None or self.node_id is None or self.node_id not in doc.graph:
            return None
        block = doc.graph.node(self.node_id).block
        fed = getattr(doc, "promoted_targets", dict)()
        return (tuple(block.params) if block is not None else (),
                sorted((k, v[0], repr(v[1])) for k, v in fed.items()))

    def _refresh_header_only(self) -> None:
        """New shapes or problems: update the text, keep the fields (one may be in use).
        Rebuilt instead when the parameters themselves changed (promoted, un-promoted)."""
        if self._key() != self._form_key:
            self.rebuild()
            return
        if self.document is None or self.node_id is None or self.node_id not in \
                self.document.graph:
            self.header.setText(self._overview())
            return
        self.header.setText(self._node_header())
        self.inferred.setText(self._inferred_text())

    def _overview(self) -> str:
        muted = theme.current().node_subtext
        if self.document is None:
            return f"<span style='color:{muted}'>No project open.</span>"
        doc = self.document
        if getattr(doc, "unit_name", None):  # an opened unit (gui.units)
            from .units.unit_document import unit_overview

            return unit_overview(doc)
        text = f"<h3>{rich(doc.project.name)}</h3>"
        network = f"{doc.active.capitalize()}: " if len(doc.graphs()) > 1 else ""  # its tab
        text += f"<p>{network}{len(doc.graph)} blocks, {len(doc.graph.edges)} wires"
        if doc.analysis is not None:
            text += f", {format_count(doc.analysis.total_params)} parameters"
        text += "</p>"
        data = doc.project.dataset
        if data:
            text += f"<p>Dataset: {rich(data.get('name') or data.get('path'))}</p>"
        text += (f"<p style='color:{muted}'>Select a block to edit its parameters. Drag blocks "
                 "from the palette, wire an output port to an input port, press Tab to add a "
                 "block at the cursor.</p>")
        return text

    def _node_header(self) -> str:
        assert self.document is not None and self.node_id is not None
        node = self.document.graph.node(self.node_id)
        block = node.block
        colors = theme.current()
        colour = theme.category_color(block.category if block else "").name()
        title = node.type[5:] + " (unit)" if node.type.startswith("unit:") else node.type
        html = (f"<div><span style='color:{colour}; font-size:15pt; font-weight:600'>"
                f"{rich(title)}</span> &nbsp;<span style='color:{colors.node_subtext}'>"
                f"{rich(node.id)}"
                "</span></div>")
        if block is not None:
            html += f"<p style='color:{colors.node_subtext}'>{block.doc}</p>"
        if getattr(block, "is_unit", False):  # gui.units: what a unit node holds
            defn = block.defn  # type: ignore[union-attr]
            inside = len(defn.graph) - len(defn.inputs)
            html += (f"<p style='color:{colors.node_subtext}'>{inside} blocks inside. "
                     "Double-click the node to open it; Ctrl+Shift+G ungroups it."
                     + ("" if defn.params else " Inside, ⋯ beside a block's parameter "
                        "makes it a parameter of the unit, set here per node.") + "</p>")
        analysis = self.document.analysis
        info = analysis.nodes.get(node.id) if analysis is not None else None
        if info is not None:
            inputs = ", ".join(format_shape(s.shape) for s in info.input_specs)
            out = format_shape(info.spec.shape) if info.spec else "?"
            html += "<p>"
            if inputs:
                html += f"in {inputs} &rarr; "
            frozen = " (frozen)" if not node.trainable and info.num_params else ""
            html += (f"out <b>{out}</b> &nbsp;·&nbsp; {format_count(info.num_params)} params"
                     f"{frozen}</p>")
            for err in info.errors:
                tone = colors.error if err.severity == "error" else colors.warning
                html += f"<p style='color:{tone}'>{err.message}</p>"
        elif analysis is None:
            html += f"<p style='color:{colors.node_subtext}'>Loading PyTorch for shapes…</p>"
        return html

    def _inferred_text(self) -> str:
        assert self.document is not None and self.node_id is not None
        node = self.document.graph.node(self.node_id)
        analysis = self.document.analysis
        info = analysis.nodes.get(node.id) if analysis is not None else None
        if node.block is None or info is None or not info.input_specs:
            return ""
        sizes = node.block.inferred([s.shape for s in info.input_specs])
        if not sizes:
            return ""
        muted = theme.current().node_subtext
        rows = "".join(f"<tr><td style='color:{muted}; padding-right:12px'>{k}</td>"
                       f"<td>{v}</td></tr>" for k, v in sizes.items())
        return (f"<p style='color:{muted}; font-weight:600'>FROM THE INPUT (read-only)</p>"
                f"<table>{rows}</table>")

    def _commit(self, name: str, value: Any) -> str | None:
        """Apply one parameter through the engine; the refusal's reason, or None."""
        doc = self.document
        if doc is None or self.node_id is None:
            return None
        node_id = self.node_id
        current = doc.graph.node(node_id).params.get(name)
        if value == current and name in doc.graph.node(node_id).params:
            return None
        try:
            ops = plan_set_param(doc.graph, node_id, name, value)
        except TorchloomError as exc:
            return exc.message
        doc.edit(ops, f"Set {node_id}.{name}", merge_key=f"{node_id}.{name}")
        return None
