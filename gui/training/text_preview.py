"""The data panel's view of text data: samples as text and as token ids, the vocabulary
size, tokens per sample and the share of unknown tokens (`engine.text.preview`)."""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtWidgets import (QHeaderView, QLabel, QTableWidget, QTableWidgetItem,
                               QVBoxLayout, QWidget)

from .. import theme


class TextPreview(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.facts = QLabel()
        self.facts.setObjectName("text_facts")
        self.facts.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setAccessibleName("Text samples")
        self.table.setColumnCount(3)
        self.table.setHorizontalHeaderLabels(["label", "text", "token ids"])
        self.table.verticalHeader().hide()
        self.table.setWordWrap(True)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.facts)
        layout.addWidget(self.table)

    def show_data(self, data: Any) -> None:
        from torchloom.engine.text.preview import text_facts, text_samples

        facts = text_facts(data)
        muted = theme.current().node_subtext
        specials = ", ".join(f"{escape(k)} = {v}" for k, v in facts["specials"].items())
        per = facts["tokens_per_sample"]
        per_text = (f"{per} tokens per window" if "tokens" in facts else
                    f"{per} tokens per sample on average (max_len {facts['max_len']}, "
                    f"{facts['truncated']} truncated)")
        html = (f"<p><b>{facts['vocab_size']:,}</b> tokens in the vocabulary "
                f"({escape(facts['tokenizer'])} tokenizer) · {per_text} · "
                f"<b>{facts['unknown_share']:.1%}</b> unknown</p>")
        if specials:
            html += f"<p style='color:{muted}'>special tokens: {specials}</p>"
        self.facts.setText(html)
        samples = text_samples(data)
        self.table.setRowCount(len(samples))
        for r, sample in enumerate(samples):
            self.table.setItem(r, 0, QTableWidgetItem(sample.label))
            self.table.setItem(r, 1, QTableWidgetItem(sample.text[:300]))
            ids = " ".join(map(str, sample.ids)) + (" …" if len(sample.ids) >= 24 else "")
            self.table.setItem(r, 2, QTableWidgetItem(ids))
        # a language model's samples have no label (the target is the text itself, shifted)
        self.table.setColumnHidden(0, not any(sample.label for sample in samples))
        self.table.resizeColumnToContents(0)
        self.table.resizeRowsToContents()
