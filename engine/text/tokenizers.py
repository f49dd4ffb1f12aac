"""Tokenizers fitted on a dataset's training split: characters, words, byte-level BPE.

A tokenizer is fitted once, on the training split only (so the validation text may hold
tokens it never saw, as new text will), saved in the run folder as ``tokenizer.json``, and
everything after training reads that file back instead of fitting again: a refit on other
text would give the same ids to other tokens and the trained Embedding would read nonsense.

Special tokens come first, so their ids do not depend on the text:

- ``<pad>`` (id 0) where samples are padded to ``max_len`` (text classification). Pad id 0
  is what SequencePool's ``mask`` input and an Embedding's ``padding_idx`` expect;
- ``<unk>`` (the next id) where a token can be unknown: words past ``vocab_size``, characters
  the training split never showed. Byte-level BPE never has an unknown (every byte is in its
  alphabet), so a corpus's BPE has no ``<unk>``, and a corpus's character tokenizer only has
  one when the corpus holds a character that its training part does not.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import DataError
from ..train.runfiles import TOKENIZER_FILE

KINDS = ("char", "word", "bpe")
PAD, UNK = "<pad>", "<unk>"
FORMAT = "torchloom-tokenizer"
#: The file is a vocabulary and, for BPE, its merges: a few MB at most.
MAX_TOKENIZER_BYTES = 64 * 2**20
MAX_VOCAB = 1 << 20
MAX_LEN = 1 << 16
#: Words and single punctuation marks: "don't!" is "don", "'", "t", "!".
WORD = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class TokenizerSpec:
    """The project's ``dataset.tokenizer`` object, checked."""

    kind: str = "char"
    vocab_size: int = 8000
    max_len: int = 200
    lowercase: bool = False

    @classmethod
    def parse(cls, raw: Any, where: str = "dataset.tokenizer") -> "TokenizerSpec":
        """Raises `DataError` naming the key for anything a tokenizer cannot be made of."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise DataError('must be an object such as {"kind": "char"}', where=where)
        unknown = sorted(set(raw) - {"kind", "vocab_size", "max_len", "lowercase"})
        if unknown:
            raise DataError(f"has no setting '{unknown[0]}' (settings: kind, vocab_size, "
                            "max_len, lowercase)", where=where)
        kind = raw.get("kind", "char")
        if kind not in KINDS:
            raise DataError(f"must be one of {', '.join(KINDS)}, got {kind!r}",
                            where=f"{where}.kind")
        values = {}
        for key, low, high, default in (("vocab_size", 2, MAX_VOCAB, 8000),
                                        ("max_len", 1, MAX_LEN, 200)):
            value = raw.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise DataError(f"must be a whole number from {low} to {high}, got {value!r}",
                                where=f"{where}.{key}")
            values[key] = value
        lowercase = raw.get("lowercase", kind == "word")
        if not isinstance(lowercase, bool):
            raise DataError(f"must be true or false, got {lowercase!r}", where=f"{where}.lowercase")
        return cls(kind, values["vocab_size"], values["max_len"], lowercase)


@dataclass
class Tokenizer:
    """Text to token ids and back. `vocab[i]` is token i (specials first). BPE keeps its
    model in the Hugging Face `tokenizers` object (`engine.text.bpe`)."""

    kind: str
    vocab: list[str]
    lowercase: bool = False
    max_len: int = 200
    specials: tuple[str, ...] = ()
    bpe: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index = {token: i for i, token in enumerate(self.vocab)}
        if self.kind == "char":  # a sorted code-point table: encoding is one searchsorted
            points = [(ord(t), i) for i, t in enumerate(self.vocab) if t not in self.specials]
            points.sort()
            self._points = np.array([p for p, _ in points], dtype=np.int64)
            self._ids = np.array([i for _, i in points], dtype=np.int64)

    # ---- facts ---------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def pad_id(self) -> int | None:
        return self._index.get(PAD) if PAD in self.specials else None

    @property
    def unk_id(self) -> int | None:
        return self._index.get(UNK) if UNK in self.specials else None

    # ---- encoding ------------------------------------------------------------------------

    def encode(self, text: str) -> np.ndarray:
        """One text's token ids (int64), unpadded and untruncated. A token the vocabulary
        lacks becomes ``<unk>``; where there is none, `DataError` names it."""
        if self.lowercase:
            text = text.lower()
        if self.kind == "bpe":
            from .bpe import bpe_encode

            return bpe_encode(self.bpe, [text])[0]
        if self.kind == "char":
            points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
            if not len(self._points):
                return self._unknowns(points.size, text[:1])
            where = np.searchsorted(self._points, points).clip(0, len(self._points) - 1)
            found = self._points[where] == points
            ids = self._ids[where]
            if not found.all():
                missing = text[int(np.argmin(found))]
                ids = np.where(found, ids, self._unknown(missing))
            return ids
        ids = [self._index.get(word) for word in WORD.findall(text)]
        if any(i is None for i in ids):
            unk = self._unknown(next(w for w, i in zip(WORD.findall(text), ids) if i is None))
            ids = [unk if i is None else i for i in ids]
        return np.array(ids, dtype=np.int64)

    def _unknown(self, token: str) -> int:
        if self.unk_id is None:
            raise DataError(f"the text holds {token!r}, which the tokenizer's vocabulary "
                            "(fitted on the training text) does not have")
        return self.unk_id

    def _unknowns(self, n: int, first: str) -> np.ndarray:
        return np.full(n, self._unknown(first), dtype=np.int64)

    def encode_batch(self, texts: Sequence[str], max_len: int | None = None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Texts as [n, max_len] int64 ids, truncated and padded at the end with ``<pad>``
        (id 0), and each text's length in tokens before truncation [n]."""
        width = max_len or self.max_len
        pad = self.pad_id if self.pad_id is not None else 0
        if self.kind == "bpe":
            from .bpe import bpe_encode

            rows = bpe_encode(self.bpe, [t.lower() if self.lowercase else t for t in texts])
        else:
            rows = [self.encode(t) for t in texts]
        out = np.full((len(rows), width), pad, dtype=np.int64)
        lengths = np.zeros(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            lengths[i] = len(row)
            row = row[:width]
            out[i, :len(row)] = row
        return torch.from_numpy(out), torch.from_numpy(lengths)

    def decode(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> str:
        """Token ids as text; padding is dropped, ``<unk>`` is shown as itself."""
        values = [int(i) for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]
        pad = self.pad_id
        values = [i for i in values if i != pad]
        if self.kind == "bpe":
            return self.bpe.decode(values, skip_special_tokens=False)
        tokens = [self.vocab[i] if 0 <= i < len(self.vocab) else UNK for i in values]
        return ("" if self.kind == "char" else " ").join(tokens)

    def tokens(self, ids: Sequence[int] | np.ndarray | torch.Tensor) -> list[str]:
        """Each id as the token it stands for (for a preview)."""
        values = ids.tolist() if hasattr(ids, "tolist") else list(ids)
        return [self.vocab[int(i)] if 0 <= int(i) < len(self.vocab) else UNK for i in values]

    def unknown_share(self, ids: torch.Tensor, lengths: torch.Tensor | None = None) -> float:
        """The share of real (not padding) tokens that are ``<unk>``."""
        if self.unk_id is None or ids.numel() == 0:
            return 0.0
        real = (ids != self.pad_id if self.pad_id is not None
                else torch.ones_like(ids, dtype=torch.bool))
        count = int(real.sum())
        return int(((ids == self.unk_id) & real).sum()) / count if count else 0.0

    # ---- files ---------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": FORMAT, "version": 1, "kind": self.kind,
                               "lowercase": self.lowercase, "max_len": self.max_len,
                               "specials": {s.strip("<>"): self._index[s] for s in self.specials},
                               "vocab_size": self.vocab_size}
        if self.kind == "bpe":
            out["bpe"] = json.loads(self.bpe.to_str())
        else:
            out["vocab"] = list(self.vocab)
        return out

    def save(self, path: str | Path) -> None:
        """Written atomically: a crash leaves the old file or the new one, never half."""
        from ..fileio import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_json(), ensure_ascii=False))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_json() == other.to_json()


def from_json(data: Any, path: str = TOKENIZER_FILE) -> Tokenizer:
    """A tokenizer from its saved form; `DataError` naming the file for anything else."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError("is not a Torchloom tokenizer file", path=path)
    kind, specials = data.get("kind"), data.get("specials")
    if kind not in KINDS or not isinstance(specials, dict):
        raise DataError("has no valid 'kind' and 'specials'", path=path)
    names = tuple(f"<{name}>" for name, _ in sorted(specials.items(), key=lambda kv: kv[1]))
    if kind == "bpe":
        from .bpe import bpe_from_json

        model = bpe_from_json(data.get("bpe"), path)
        vocab = bpe_vocab_list(model)
        return Tokenizer("bpe", vocab, bool(data.get("lowercase")), int(data.get("max_len", 200)),
                         names, model)
    vocab = data.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(t, str) for t in vocab) \
            or len(vocab) < 2 or len(vocab) > MAX_VOCAB:
        raise DataError("has no valid 'vocab' list", path=path)
    if kind == "char" and any(len(t) != 1 for t in vocab if t not in names):
        raise DataError("a character tokenizer's vocabulary holds more than characters",
                        path=path)
    return Tokenizer(kind, vocab, bool(data.get("lowercase")), int(data.get("max_len", 200)),
                     names)


def bpe_vocab_list(model: Any) -> list[str]:
    vocab = model.get_vocab()
    out = [""] * len(vocab)
    for token, i in vocab.items():
        out[i] = token
    return out


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Read ``tokenizer.json`` (bounded, a regular file only)."""
    from ..safe_read import read_limited

    shown = str(path)
    try:
        raw = read_limited(path, MAX_TOKENIZER_BYTES)
    except FileNotFoundError:
        raise DataError("no such tokenizer file", path=shown) from None
    except OSError as exc:
        raise DataError(f"cannot be read ({exc.strerror or exc})", path=shown) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise DataError("is not valid JSON", path=shown) from None
    return from_json(data, shown)


# ---- fitting ---------------------------------------------------------------------------


def fit_tokenizer(spec: TokenizerSpec, texts: Sequence[str], *, padded: bool,
                  corpus_text: str | None = None) -> Tokenizer:
    """Fit on `texts` (the training split). `padded`: samples are padded to ``max_len``
    (classification), so ``<pad>`` is id 0. `corpus_text`: the whole corpus, only to decide
    whether a character tokenizer needs ``<unk>`` at all (see the module docstring).

    Raises `DataError` for a vocabulary of one token: nothing to tell apart.
    """
    lower = [t.lower() for t in texts] if spec.lowercase else list(texts)
    if spec.kind == "bpe":
        from .bpe import train_bpe

        specials = (PAD, UNK) if padded else ()
        model = train_bpe(lower, spec.vocab_size, specials)
        tok = Tokenizer("bpe", bpe_vocab_list(model), spec.lowercase, spec.max_len, specials,
                        model)
    elif spec.kind == "char":
        seen: set[str] = set()
        for text in lower:
            seen.update(text)
        chars = sorted(seen)
        if padded:
            specials: tuple[str, ...] = (PAD, UNK)
        else:
            rest = corpus_text.lower() if corpus_text is not None and spec.lowercase \
                else corpus_text
            specials = (UNK,) if rest is not None and set(rest) - seen else ()
        tok = Tokenizer("char", [*specials, *chars], spec.lowercase, spec.max_len, specials)
        if len(chars) < 2:
            raise _too_small(len(chars), "distinct character")
    else:
        counts: Counter[str] = Counter()
        for text in lower:
            counts.update(WORD.findall(text))
        specials = (PAD, UNK) if padded else (UNK,)
        keep = max(0, spec.vocab_size - len(specials))
        words = [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep]]
        if len(words) < 2:
            raise _too_small(len(words), "distinct word")
        tok = Tokenizer("word", [*specials, *words], spec.lowercase, spec.max_len, specials)
    return tok


def _too_small(n: int, what: str) -> DataError:
    return DataError(f"the training text has {n} {what}{'' if n == 1 else 's'}: a vocabulary "
                     "needs at least 2 tokens to tell anything apart", where="dataset.tokenizer")
