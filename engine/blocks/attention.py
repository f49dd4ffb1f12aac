"""Attention blocks. `embed_dim`/`d_model` come from the input.

On the training path attention runs without returning weights, so torch can take its fused
kernels; the probes ask for per-head weights separately, on a probe batch only.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..params import Bool, Choice, Float, Int
from .base import (Block, BlockCheckError, NoBlockSetting, Port, SampleShape, TensorSpec,
                   register)


def _divisor_hint(size: int) -> str:
    divisors = [d for d in range(1, min(size, 64) + 1) if size % d == 0]
    return ", ".join(map(str, divisors[:8]))


def check_heads(heads: int, size: int, param: str) -> None:
    if size % heads:
        raise BlockCheckError(
            f"{param}={heads} does not divide the embedding size {size}: choose one of "
            f"{_divisor_hint(size)}")


_SEQ = "[N, L, E]"

_CAUSAL = Bool(False, "Causal: each position attends only to itself and earlier ones (a "
                      "decoder, a GPT).")


def _tokens(attended: str) -> Port:
    return Port("tokens", ranks=(2,), layout="token ids [N, S]", dtype="int", optional=True,
                doc=f"The token ids behind the {attended}: padding (id 0) is never attended to.")


def check_tokens(inputs: Sequence[TensorSpec], keys: int) -> None:
    """The token ids wired to attention must be as long as the sequence they mask."""
    tokens = inputs[-1]
    if tokens.is_int and tokens.shape[0] != keys:
        raise BlockCheckError(f"the token ids {tokens.show()} must be as long as the "
                              f"sequence they mask ({keys})")


@register
class MultiheadAttentionBlock(Block):
    type_name = "MultiheadAttention"
    category = "Attention"
    module = "torchloom.engine.layers.SequenceAttention"
    fixed = {"batch_first": True}
    doc = ("Multi-head attention over [N, L, E]. Wire only `query` for self-attention; wire "
           "`key` (and `value`) for cross-attention; wire the token ids to `tokens` so "
           "padding is ignored.")
    inputs = (
        Port("query", ranks=(3,), layout=_SEQ, doc="The sequence that asks."),
        Port("key", ranks=(3,), layout=_SEQ, optional=True, doc="Defaults to the query."),
        Port("value", ranks=(3,), layout=_SEQ, optional=True, doc="Defaults to the key."),
        _tokens("keys"),
    )
    params = {
        "num_heads": Int(4, "Attention heads; must divide the embedding size.", min=1,
                         max=1024),
        "dropout": Float(0.0, "Dropout on the attention weights while training.", min=0.0,
                         max=1.0, max_open=True),
        "bias": Bool(True, "Learn biases in the projections."),
        "causal": _CAUSAL,
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        check_heads(params["num_heads"], inputs[0].shape[-1], "num_heads")
        seqs = [s for s in inputs if not s.is_int]
        if len(seqs) == 3 and seqs[1].shape[0] != seqs[2].shape[0]:
            raise BlockCheckError(
                f"key {seqs[1].show()} and value {seqs[2].show()} need the same sequence "
                "length")
        check_tokens(inputs, seqs[-1].shape[0] if len(seqs) > 1 else seqs[0].shape[0])

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        input_shapes = [s for s in input_shapes if len(s) == 2]  # token ids [S] are not embedded
        embed = input_shapes[0][-1]
        kdim = input_shapes[1][-1] if len(input_shapes) > 1 else embed
        vdim = input_shapes[2][-1] if len(input_shapes) > 2 else kdim
        return {"embed_dim": embed, "kdim": kdim, "vdim": vdim}

    def read_module(self, module: Any) -> dict[str, Any]:
        if module.bias_k is not None:  # torch keeps add_bias_kv only as these tensors
            raise NoBlockSetting("add_bias_kv=True has no block setting")
        return {**super().read_module(module), "bias": module.in_proj_bias is not None}


@register
class TransformerEncoderLayerBlock(Block):
    type_name = "TransformerEncoderLayer"
    category = "Attention"
    module = "torchloom.engine.layers.MaskedEncoderLayer"
    fixed = {"batch_first": True}
    doc = ("One transformer encoder layer (self-attention + feed-forward) over [N, L, E]; "
           "`causal` makes it a decoder layer (a GPT's). Wire the token ids to `tokens` so "
           "padding is ignored.")
    inputs = (Port("in", ranks=(3,), layout=_SEQ), _tokens("sequence"))
    params = {
        "nhead": Int(4, "Attention heads; must divide the embedding size.", min=1, max=1024),
        "dim_feedforward": Int(2048, "Hidden size of the feed-forward part.", min=1,
                               max=1 << 20),
        "dropout": Float(0.1, "Dropout while training.", min=0.0, max=1.0, max_open=True),
        "activation": Choice("relu", "Feed-forward activation.", choices=("relu", "gelu")),
        "layer_norm_eps": Float(1e-5, "LayerNorm epsilon.", min=0.0, min_open=True),
        "norm_first": Bool(False, "Normalise before attention (pre-norm), often more stable."),
        "bias": Bool(True, "Learn biases in the linear layers and norms."),
        "causal": _CAUSAL,
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        check_heads(params["nhead"], inputs[0].shape[-1], "nhead")
        check_tokens(inputs, inputs[0].shape[0])

    def read_module(self, module: Any) -> dict[str, Any]:
        """torch keeps these settings only inside the layer's parts."""
        activation = {1: "relu", 2: "gelu"}.get(module.activation_relu_or_gelu)
        if activation is None:
            raise NoBlockSetting("its activation is neither relu nor gelu")
        return {"nhead": module.self_attn.num_heads,
                "dim_feedforward": module.linear1.out_features,
                "dropout": float(module.dropout.p), "activation": activation,
                "layer_norm_eps": module.norm1.eps, "norm_first": module.norm_first,
                "bias": module.linear1.bias is not None,
                "batch_first": module.self_attn.batch_first,
                "causal": bool(getattr(module, "causal", False))}

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"d_model": input_shapes[0][-1]}
