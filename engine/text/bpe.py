"""Byte-level BPE through the Hugging Face `tokenizers` library (Rust, Apache-2.0): fast
enough to train on a few megabytes of text in a second, and a standard JSON form that the
run folder's ``tokenizer.json`` embeds as it is."""

from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np

from ..errors import DataError

#: Every byte is a token before any merge, so a vocabulary must hold these and more.
ALPHABET = 256


def _library() -> Any:
    try:
        import tokenizers
    except ImportError:  # a broken install: say what is missing, not a traceback
        raise DataError('the "bpe" tokenizer needs the tokenizers package: pip install '
                        "'tokenizers>=0.15'", where="dataset.tokenizer.kind") from None
    return tokenizers


def train_bpe(texts: Sequence[str], vocab_size: int, specials: Sequence[str]) -> Any:
    """A byte-level BPE with `specials` as ids 0, 1... then the 256 bytes, then merges."""
    lib = _library()
    least = ALPHABET + len(specials) + 1
    if vocab_size < least:
        raise DataError(f"a byte-level BPE needs a vocab_size of at least {least} (the 256 "
                        f"bytes, the special tokens and one merge), got {vocab_size}",
                        where="dataset.tokenizer.vocab_size")
    model = lib.Tokenizer(lib.models.BPE())
    model.pre_tokenizer = lib.pre_tokenizers.ByteLevel(add_prefix_space=False)
    model.decoder = lib.decoders.ByteLevel()
    trainer = lib.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
        initial_alphabet=lib.pre_tokenizers.ByteLevel.alphabet())
    model.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return model


def bpe_encode(model: Any, texts: Sequence[str]) -> list[np.ndarray]:
    return [np.asarray(e.ids, dtype=np.int64)
            for e in model.encode_batch(list(texts), add_special_tokens=False)]


def bpe_from_json(data: Any, path: str) -> Any:
    lib = _library()
    if not isinstance(data, dict):
        raise DataError("has no 'bpe' model", path=path)
    try:
        return lib.Tokenizer.from_str(json.dumps(data))
    except Exception as exc:  # noqa: BLE001 - the library raises plain Exceptions
        raise DataError(f"holds a BPE model that cannot be read ({str(exc)[:80]})",
                        path=path) from None
