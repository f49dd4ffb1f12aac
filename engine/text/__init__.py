"""Raw text in: tokenizers, a CSV's text column, and plain text corpora.

- `tokenizers`: ``char``, ``word`` and ``bpe`` tokenizers fitted on the training split, their
  special tokens (``<pad>`` = 0 where samples are padded, ``<unk>``) and ``tokenizer.json``;
- `table_text`: ``{"path": "reviews.csv", "text": "review", "target": "sentiment"}``, each
  row's text as ``max_len`` token ids [n, max_len] int64, padded with 0 at the end;
- `corpus`: ``{"path": "corpus.txt", "context": 128}``, windows of ``context`` token ids
  x [n, context] int64 and the same windows shifted by one token y [n, context] int64,
  split by position (see its docstring for the interface a language model builds on);
- `vocab`: the ``"vocab"`` value of an Embedding's ``num_embeddings`` or a Linear's
  ``out_features``, resolved to the tokenizer's vocabulary size.

A loaded text `Dataset` carries its tokenizer as ``data.tokenizer`` and the vocabulary size
as ``data.tokenizer.vocab_size`` (also ``data.info["vocab_size"]``).
"""

from __future__ import annotations

from ..lazy import lazy_exports

_WHERE = {
    "TextFit": "fitting", "Tokenizer": "tokenizers", "TokenizerSpec": "tokenizers",
    "fit_tokenizer": "tokenizers", "load_tokenizer": "tokenizers",
    "TOKENIZER_FILE": "tokenizers",
}

__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
