"""Text datasets: a CSV's text column and a plain text corpus, and what is refused."""

from __future__ import annotations

import gzip

import pytest
import torch

from torchloom.engine.data import load_dataset, split_dataset
from torchloom.engine.errors import DataError
from torchloom.engine.text.fitting import TextFit

CSV = "review,sentiment\n" + "".join(
    f'"{t}",{s}\n' for t, s in [("a great film", "pos"), ("a dull film", "neg"),
                                ("not great at all", "neg"), ("great fun", "pos")] * 5)


def test_a_csv_text_column_becomes_padded_token_ids_and_named_classes(tmp_path):
    (tmp_path / "reviews.csv").write_text(CSV)
    spec = {"path": "reviews.csv", "text": "review", "target": "sentiment",
            "tokenizer": {"kind": "word", "max_len": 6}}
    data = load_dataset(spec, tmp_path)
    assert data.classes == ["neg", "pos"] and data.x.shape == (20, 6)
    assert data.x.dtype == torch.int64 and data.tokenizer.pad_id == 0
    assert data.tokenizer.decode(data.x[0]) == "a great film"
    assert data.texts[0] == "a great film"
    assert data.info["vocab_size"] == data.tokenizer.vocab_size


def test_the_csv_tokenizer_is_fitted_on_the_training_rows_only(tmp_path):
    rows = "text,label\n" + "".join(f"word{i},{i % 2}\n" for i in range(40))
    (tmp_path / "t.csv").write_text(rows)
    data = load_dataset({"path": "t.csv", "text": "text", "target": "label"}, tmp_path,
                        fit=TextFit(0.25, 3))
    split = split_dataset(data, 0.25, 3)
    unk = data.tokenizer.unk_id
    assert (split.train.x[:, 0] != unk).all()  # every training word is known
    assert (split.val.x[:, 0] == unk).all()  # validation words were never seen


def test_a_missing_text_column_lists_the_columns(tmp_path):
    (tmp_path / "reviews.csv").write_text(CSV)
    with pytest.raises(DataError) as info:
        load_dataset({"path": "reviews.csv", "text": "body", "target": "sentiment"}, tmp_path)
    assert "'body'" in info.value.message and "review, sentiment" in info.value.message


def _corpus(tmp_path, text, **spec):
    (tmp_path / "corpus.txt").write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_dataset({"path": "corpus.txt", **spec}, tmp_path, "tokens",
                        TextFit(spec.pop("val", 0.25), 0))


def test_a_corpus_is_windows_whose_target_is_shifted_by_one(tmp_path):
    text = "".join(chr(97 + i % 26) for i in range(401))
    data = _corpus(tmp_path, text, context=10)
    assert data.x.shape[1] == 10 and data.x.dtype == torch.int64
    assert torch.equal(data.y[:, :-1], data.x[:, 1:])
    tok = data.tokenizer
    assert tok.decode(data.x[0]) == text[:10] and tok.decode(data.y[0]) == text[1:11]


def test_the_corpus_validation_windows_are_the_last_part_of_the_text(tmp_path):
    text = "a" * 300 + "b" * 100 + "ab"  # the last quarter is b's
    data = _corpus(tmp_path, text, context=8)
    split = split_dataset(data, 0.25, seed=123)
    val_text = "".join(data.tokenizer.decode(w) for w in split.val.x)
    train_text = "".join(data.tokenizer.decode(w) for w in split.train.x)
    assert set(val_text) <= {"b", "a"} and val_text.count("b") >= len(val_text) - 2
    assert set(train_text) == {"a"}
    assert len(split.train) == (302 - 1) // 8  # the first 302 characters, stride 8


@pytest.mark.parametrize("content, words", [
    ("", "is empty"),
    ("  \n", "is empty"),
    ("abcabc", "smaller than one window"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
    (b"good text " * 20 + b"\xff\xfe bad", "byte offset 200"),
])
def test_bad_corpora_are_refused_naming_the_file(tmp_path, content, words):
    with pytest.raises(DataError) as info:
        _corpus(tmp_path, content, context=16)
    assert words in info.value.describe() and "corpus.txt" in info.value.describe()


def test_an_encoding_option_reads_other_text(tmp_path):
    text = ("café crème " * 40).encode("latin-1")
    data = _corpus(tmp_path, text, context=16, encoding="latin-1")
    assert "é" in data.tokenizer.vocab


def test_a_corpus_is_not_for_classification(tmp_path):
    (tmp_path / "corpus.txt").write_text("abc" * 100)
    with pytest.raises(DataError, match="language_model"):
        load_dataset({"path": "corpus.txt"}, tmp_path, "classification")


def test_shakespeare_is_a_char_corpus_of_65_tokens_with_context_128():
    data = load_dataset({"name": "shakespeare"}, None, "tokens")
    assert data.tokenizer.kind == "char" and data.tokenizer.vocab_size == 65
    assert data.x.shape[1] == 128 and data.split_at is not None
    with gzip.open(__import__("torchloom.engine.resources", fromlist=["x"]).data_dir()
                   / "tinyshakespeare.txt.gz", "rt") as f:
        assert data.tokenizer.decode(data.x[0]) == f.read(128)


def test_reviews_is_generated_text_with_two_classes():
    data = load_dataset({"name": "reviews", "n": 200, "seed": 1})
    again = load_dataset({"name": "reviews", "n": 200, "seed": 1})
    assert data.classes == ["negative", "positive"] and data.x.shape == (200, 32)
    assert data.texts == again.texts and torch.equal(data.x, again.x)
