"""A CSV (or TSV) with a text column: ``{"path": "reviews.csv", "text": "review",
"target": "sentiment", "tokenizer": {...}}``.

Each row's text becomes ``max_len`` token ids, padded at the end with ``<pad>`` (id 0) and
truncated past it; labels are read as for any CSV (text labels become classes, kept by
name). The tokenizer is fitted on the rows of the training split only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..data.dataset import Dataset, split_indices
from ..data.files import printable, targets
from ..data.limits import check_data_bytes
from ..data.table import _records
from ..errors import DataError
from ..safe_read import size_text
from .fitting import TextFit, tokenizer_spec
from .reading import decode_text, encoding_of
from .tokenizers import fit_tokenizer

DELIMITERS = (",", ";", "\t")


def load_text_csv(path: Path, spec: dict[str, Any], task: str, fit: TextFit) -> Dataset:
    from ..data.files import read_data

    shown = str(path)
    text = decode_text(read_data(path), encoding_of(spec), shown)
    if not text.strip():
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    header_line = next(line for line in text.splitlines() if line.strip())
    delimiter = max(DELIMITERS, key=header_line.count)
    records = _records(text, delimiter, shown)
    head_row, header = next(records)
    header = [h.strip() for h in header]
    column = spec.get("text")
    if not isinstance(column, str) or column not in header:
        raise DataError(f"has no text column '{printable(str(column))}' (columns: "
                        f"{printable(', '.join(header), 200)}): name it in dataset.text",
                        path=shown, where=f"row {head_row}")
    t_col = header.index(column)
    target = spec.get("target", "target")
    y_col = None
    if task != "none" or "target" in spec:
        if target not in header:
            raise DataError(f"has no column '{printable(str(target))}' (columns: "
                            f"{printable(', '.join(header), 200)}): name the label column in "
                            "the project's dataset.target", path=shown, where=f"row {head_row}")
        y_col = header.index(target)
    texts: list[str] = []
    labels: list[str] = []
    rows: list[int] = []
    for line_no, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"has {len(row)} cells but the header has {len(header)}",
                            path=shown, where=f"row {line_no}")
        texts.append(row[t_col])
        if y_col is not None:
            label = row[y_col].strip()
            if not label:
                raise DataError(f"column '{target}' is empty: every row needs a label",
                                path=shown, where=f"row {line_no}")
            labels.append(label)
        rows.append(line_no)
    if not texts:
        raise DataError("has a header but no data rows", path=shown)
    raw = _label_array(labels) if y_col is not None else np.zeros((len(texts), 0))
    y, classes = targets(raw, task, shown, row=lambda i: f"row {rows[i]}")
    return text_dataset(texts, y, classes, spec, fit, path.name,
                        {"format": "csv", "text_column": column}, shown=shown)


#: The padded ids are held twice while training starts: as loaded, and as the split's copy.
IDS_COPIES = 2


def text_dataset(texts: Sequence[str], y: Any, classes: list[str], spec: dict[str, Any],
                 fit: TextFit, name: str, info: dict[str, Any],
                 defaults: dict[str, Any] | None = None, shown: str | None = None) -> Dataset:
    """Texts as padded token ids, with the tokenizer fitted on the training rows (the rows
    `split_dataset` will pick with the same val_split and seed).

    Every row becomes ``max_len`` int64 ids however short its text, so a 6 MB CSV of
    one-word rows would take gigabytes: the size is checked against the data limit first,
    before anything is fitted or encoded."""
    tok = fit.tokenizer
    token_spec = tokenizer_spec(spec, "word", defaults) if tok is None else None
    width = tok.max_len if tok is not None else token_spec.max_len
    need = len(texts) * width * 8 * IDS_COPIES
    check_data_bytes(need, f"{len(texts):,} rows of {width} token ids each (the tokenizer's "
                     f"max_len) take {size_text(need)} (the ids and the split's copy; a "
                     "smaller max_len takes less)", shown or name)
    if tok is None:
        train, _ = split_indices(len(texts), fit.val_split, fit.seed)
        tok = fit_tokenizer(token_spec, [texts[i] for i in train.tolist()], padded=True)
    x, lengths = tok.encode_batch(texts)
    info = dict(info, vocab_size=tok.vocab_size, tokenizer=tok.kind, max_len=tok.max_len,
                mean_tokens=round(float(lengths.float().mean()), 1),
                truncated=int((lengths > tok.max_len).sum()),
                unknown_share=round(tok.unknown_share(x), 4))
    return Dataset(x, y, name, classes, info, tokenizer=tok, texts=list(texts))


def _label_array(labels: list[str]) -> np.ndarray:
    try:
        return np.array([float(v) for v in labels], dtype=np.float64)
    except ValueError:
        return np.array(labels)
