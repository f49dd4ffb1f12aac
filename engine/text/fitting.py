"""What a text loader needs to know beyond the file: which samples are the training split
(the tokenizer is fitted on those only), or the tokenizer a run already fitted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tokenizers import Tokenizer, TokenizerSpec


@dataclass(frozen=True)
class TextFit:
    #: The training settings' fraction held out for validation, and the split's seed.
    val_split: float = 0.2
    seed: int = 0
    #: A run's saved tokenizer: encode with it instead of fitting one (probe, Evaluate,
    #: export, generate all read the run's ``tokenizer.json``; none of them refits).
    tokenizer: Tokenizer | None = None


def tokenizer_spec(spec: dict[str, Any], default_kind: str,
                   defaults: dict[str, Any] | None = None) -> TokenizerSpec:
    raw = spec.get("tokenizer")
    merged = dict(defaults or {})
    merged.setdefault("kind", default_kind)
    if isinstance(raw, dict):
        merged.update(raw)
    elif raw is not None:
        merged = raw
    return TokenizerSpec.parse(merged)
