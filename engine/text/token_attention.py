"""Where a generated token looked: for one position of a text, the attention of every head
of every attention layer over the tokens before it.

The text (prompt and continuation, as token ids) is cut to the model's context ending at the
chosen token, exactly as generation fed the model when it chose the next token, and run
once with the attention probes (`probe.activations.capture`). The query is the chosen
token's position; the keys are the tokens of its window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ..probe.activations import attention_layers, capture
from .generate import GenerateError, context_of


@dataclass
class TokenAttention:
    """`layers`: attention node id -> weights [heads, S] of the query over its keys (NaN
    where it may not look); `keys`: the S tokens' texts; `query`: the chosen token's."""

    position: int
    query: str
    keys: list[str]
    layers: dict[str, torch.Tensor]


def token_attention(trained: Any, ids: Sequence[int], position: int) -> TokenAttention:
    """The attention of token `position` of `ids` (a `probe.loaded.TrainedModel` of a
    language model). Raises `GenerateError` for a model without attention or a position
    outside the text."""
    if not 0 <= position < len(ids):
        raise GenerateError(f"there is no token {position} in a text of {len(ids)} tokens",
                            where="position")
    layers = attention_layers(trained.model, trained.names)
    if not layers:
        raise GenerateError("the model has no attention layer (MultiheadAttention or "
                            "TransformerEncoderLayer) to show")
    start = max(0, position + 1 - context_of(trained))
    window = [int(i) for i in ids[start:position + 1]]
    x = torch.tensor([window], dtype=torch.int64, device=trained.device)
    result = capture(trained.model, x, layers)
    layers = {node: probe.attention[0, :, -1, :] for node, probe in result.nodes.items()
              if probe.attention is not None}
    decode = trained.tokenizer.decode
    keys = [decode([i]) for i in window]
    return TokenAttention(position, keys[-1], keys, layers)
