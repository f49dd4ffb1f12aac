"""What the data panel shows of text data: a few samples as text and as token ids, and the
facts that say whether the tokenizer fits the text (vocabulary, tokens per sample, unknowns)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.dataset import Dataset
from ..data.preview import preview_indices


@dataclass(frozen=True)
class TextSample:
    label: str
    text: str
    ids: list[int]


def text_facts(data: Dataset) -> dict[str, Any]:
    tok = data.tokenizer
    info = data.info
    out = {"tokenizer": tok.kind, "vocab_size": tok.vocab_size,
           "specials": {s: tok.vocab.index(s) for s in tok.specials},
           "unknown_share": info.get("unknown_share", 0.0)}
    if "context" in info:
        out.update(tokens_per_sample=info["context"], tokens=info.get("tokens"))
    else:
        out.update(tokens_per_sample=info.get("mean_tokens"), max_len=tok.max_len,
                   truncated=info.get("truncated", 0))
    return out


def text_samples(data: Dataset, limit: int = 6, shown_ids: int = 24) -> list[TextSample]:
    """Samples of each class (or the first windows of a corpus), their text as read (a
    corpus window: decoded) and their first `shown_ids` ids, padding left out."""
    tok = data.tokenizer
    index = preview_indices(data, per_class=max(1, limit // max(1, data.num_classes)),
                            limit=limit)
    out = []
    for i in index.tolist():
        ids = data.x[i] if data.x is not None else torch.zeros(0, dtype=torch.int64)
        if tok.pad_id is not None:
            ids = ids[ids != tok.pad_id]
        text = data.texts[i] if data.texts is not None else tok.decode(ids)
        label = data.classes[int(data.y[i])] if data.is_classification else ""
        out.append(TextSample(label, text, [int(v) for v in ids[:shown_ids]]))
    return out
