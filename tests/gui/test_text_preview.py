"""The data panel previews text: samples as text and as token ids, the vocabulary size,
tokens per sample and the share of unknown tokens."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument

from torchloom.engine.data import load_dataset
from torchloom.gui.training.text_preview import TextPreview

from .conftest import HANG_GUARD_MS


def visible(label) -> str:
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def test_text_preview_shows_samples_ids_and_vocabulary(qtbot, tmp_path):
    data = load_dataset({"name": "reviews", "n": 300})
    view = TextPreview()
    qtbot.addWidget(view)
    view.resize(760, 420)
    view.show_data(data)
    view.show()
    facts = visible(view.facts)
    assert f"{data.tokenizer.vocab_size} tokens in the vocabulary" in facts
    assert "word tokenizer" in facts and "0.0% unknown" in facts
    assert "<pad> = 0" in facts and "<unk> = 1" in facts
    table = view.table
    assert table.rowCount() >= 2
    labels = {table.item(r, 0).text() for r in range(table.rowCount())}
    assert labels == {"negative", "positive"}
    text, ids = table.item(0, 1).text(), table.item(0, 2).text()
    assert text in data.texts
    first = [int(v) for v in ids.split() if v != "…"]
    assert data.tokenizer.decode(first).split()[0] == text.split()[0]
    assert not table.isColumnHidden(0)


def test_a_corpus_preview_counts_tokens_per_window(qtbot):
    data = load_dataset({"name": "shakespeare", "context": 64}, None, "tokens")
    view = TextPreview()
    qtbot.addWidget(view)
    view.show_data(data)
    facts = visible(view.facts)
    assert "65 tokens in the vocabulary (char tokenizer)" in facts
    assert "64 tokens per window" in facts
    assert view.table.item(0, 1).text().startswith("First Citizen")
    assert view.table.isColumnHidden(0)  # a window of text has no label to show


def test_the_canvas_shows_the_vocab_size_on_the_embedding(qtbot, window, tmp_path):
    from torchloom.engine.resources import examples_dir

    path = tmp_path / "project.json"
    path.write_bytes((examples_dir() / "review_sentiment.json").read_bytes())
    assert window.open_path(path)
    qtbot.waitUntil(lambda: window.document.project.graph.vocab_size is not None, timeout=10000)
    item = window.scene.node_items["embed"]
    qtbot.waitUntil(lambda: item.params_text.startswith("73 (vocab)"), timeout=HANG_GUARD_MS)
    assert not item.errors
