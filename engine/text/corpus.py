"""A plain text corpus for language models, as windows of token ids.

The interface the language-model task builds on:

- ``data.x`` [n, context] int64: window i is tokens ``i*context .. i*context+context-1`` of
  its part of the text (non-overlapping: stride = context);
- ``data.y`` [n, context] int64: the same window shifted by one token (the next token at
  every position), so ``y[i, :-1] == x[i, 1:]``;
- ``data.split_at``: windows before it come from the training text, the rest from the last
  ``val_split`` of the text (split by position, never by random windows, so the validation
  text is unseen; `data.split_dataset` keeps this split whatever the seed);
- ``data.tokenizer``: the `Tokenizer`, fitted on the training text only
  (``data.tokenizer.vocab_size``, ``encode``, ``decode``);
- ``data.info``: ``context``, ``vocab_size``, ``tokens`` (the whole corpus),
  ``train_tokens``, ``val_tokens``.

An epoch is one shuffled pass over the training windows, so ``samples_per_s`` counts windows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.dataset import Dataset
from ..errors import DataError
from .fitting import TextFit, tokenizer_spec
from .reading import read_text
from .tokenizers import Tokenizer, fit_tokenizer

MAX_CONTEXT = 1 << 16
#: What one token of a corpus takes in memory: its int64 id, and the windows copied from
#: the ids (inputs and shifted targets share one copy, joining the split makes another).
TOKEN_BYTES = 3 * 8


def context_of(spec: dict[str, Any], default: int = 128) -> int:
    value = spec.get("context", default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_CONTEXT:
        raise DataError(f"must be a whole number of tokens from 1 to {MAX_CONTEXT}, got "
                        f"{value!r}", where="dataset.context")
    return value


def load_corpus(path: Path, spec: dict[str, Any], fit: TextFit) -> Dataset:
    """The file is read only as far as its tokens could fit the data limit: one per byte at
    most (`TOKEN_BYTES` each), so a gzip bomb of text stops there, not at the limit."""
    text = read_text(path, spec, TOKEN_BYTES + 1, f"a corpus takes up to {TOKEN_BYTES + 1} "
                     "bytes per byte of text, as text and as token ids")
    return corpus_dataset(text, spec, fit, path.name, str(path))


def corpus_dataset(text: str, spec: dict[str, Any], fit: TextFit, name: str,
                   shown: str | None = None, default_context: int = 128) -> Dataset:
    """Windows of `text` (see the module docstring). `shown` names the file in errors."""
    context = context_of(spec, default_context)
    if not text.strip():
        raise DataError("is empty: a corpus needs text to learn from", path=shown or name)
    cut = len(text) - int(len(text) * max(0.0, fit.val_split))
    train_text, val_text = text[:cut], text[cut:]
    tok = fit.tokenizer
    if tok is None:
        tok = fit_tokenizer(tokenizer_spec(spec, "char"), _chunks(train_text), padded=False,
                            corpus_text=text)
    train_ids, val_ids = _encode(tok, train_text), _encode(tok, val_text)
    x_train, y_train = windows(train_ids, context)
    if not len(x_train):
        raise DataError(f"is smaller than one window: its training part has {len(train_ids)} "
                        f"tokens, and a window needs context + 1 = {context + 1} (lower "
                        "dataset.context, or give more text)", path=shown or name)
    x_val, y_val = windows(val_ids, context)
    if fit.val_split > 0 and not len(x_val):
        raise DataError(f"its validation part (the last {fit.val_split:g} of the text) has "
                        f"{len(val_ids)} tokens, fewer than one window of {context + 1}: lower "
                        "dataset.context, raise val_split or give more text",
                        path=shown or name)
    info = {"format": "text", "context": context, "vocab_size": tok.vocab_size,
            "tokenizer": tok.kind, "tokens": len(train_ids) + len(val_ids),
            "train_tokens": len(train_ids), "val_tokens": len(val_ids),
            "unknown_share": round(tok.unknown_share(torch.from_numpy(val_ids)), 4)}
    data = Dataset(torch.cat([x_train, x_val]), torch.cat([y_train, y_val]), name, [], info,
                   tokenizer=tok, split_at=len(x_train))
    return data


def windows(ids: np.ndarray, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping [n, context] windows and their one-token-shifted targets."""
    n = max(0, (len(ids) - 1) // context)
    t = torch.from_numpy(np.ascontiguousarray(ids[:n * context + 1], dtype=np.int64))
    if n == 0:
        empty = torch.zeros((0, context), dtype=torch.int64)
        return empty, empty.clone()
    return t[:n * context].reshape(n, context), t[1:n * context + 1].reshape(n, context)


def _encode(tok: Tokenizer, text: str) -> np.ndarray:
    if tok.kind == "bpe":  # the library works best on many short pieces, in parallel
        from .bpe import bpe_encode

        pieces = _chunks(text.lower() if tok.lowercase else text)
        return np.concatenate([np.zeros(0, np.int64), *bpe_encode(tok.bpe, pieces)])
    return tok.encode(text)


def _chunks(text: str) -> list[str]:
    """Lines with their line ends, so the pieces join back into the text exactly."""
    return text.splitlines(keepends=True) or [text]
