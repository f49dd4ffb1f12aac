"""Token embeddings and learned positions, for text and other token sequences."""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Int
from .base import (Block, BlockCheckError, NoBlockSetting, Port, SampleShape, TensorSpec,
                   register)


@register
class EmbeddingBlock(Block):
    type_name = "Embedding"
    category = "Embedding"
    module = "torch.nn.Embedding"
    doc = "Look up a learned vector for each token id: [N, L] int64 becomes [N, L, embedding_dim]."
    inputs = (Port("in", dtype="int", layout="int64 token ids [N, L]"),)
    params = {
        "num_embeddings": Int(1000, "Vocabulary size: token ids run from 0 to this minus 1; "
                              '"vocab": the text data\'s vocabulary size.', min=1, max=1 << 24,
                              vocab=True),
        "embedding_dim": Int(64, "Length of each token's vector.", min=1, max=1 << 16),
        "padding_idx": Int(None, "A token id whose vector stays zero (e.g. padding); empty for "
                           "none.", min=0, optional=True),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        pad = params["padding_idx"]
        if pad is not None and pad >= params["num_embeddings"]:
            raise BlockCheckError(f"padding_idx={pad} must be below num_embeddings="
                                  f"{params['num_embeddings']}")


@register
class PositionalEmbeddingBlock(Block):
    type_name = "PositionalEmbedding"
    category = "Embedding"
    module = "torchloom.engine.layers.PositionalEmbedding"
    doc = "Add a learned vector per position to a [N, L, E] sequence; L may not exceed max_len."
    inputs = (Port("in", ranks=(3,), layout="[N, L, E]"),)
    params = {"max_len": Int(512, "Longest sequence the table covers.", min=1, max=1 << 20)}

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        length = inputs[0].shape[0]
        if length > params["max_len"]:
            raise BlockCheckError(
                f"the sequence has {length} positions but max_len is {params['max_len']}: "
                f"raise max_len to at least {length}")

    def read_module(self, module: Any) -> dict[str, Any]:
        weight = getattr(module, "weight", None)  # the table's rows are the positions
        if weight is None or len(weight.shape) != 2:
            raise NoBlockSetting("it has no [max_len, embedding_dim] weight table")
        return {"max_len": int(weight.shape[0])}

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"embedding_dim": input_shapes[0][-1]}
