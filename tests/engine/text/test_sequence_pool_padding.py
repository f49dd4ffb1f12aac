"""SequencePool with the token ids wired in leaves padding (id 0) out."""

from __future__ import annotations

import torch

from torchloom.engine.layers import SequencePool


def _batch():
    x = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1) + 1  # 1..8
    tokens = torch.tensor([[5, 6, 0, 0], [7, 8, 9, 3]])
    return x, tokens


def test_mean_is_over_real_tokens_only():
    x, tokens = _batch()
    out = SequencePool("mean")(x, tokens)
    assert out.flatten().tolist() == [1.5, 6.5]


def test_last_is_the_last_real_token():
    x, tokens = _batch()
    assert SequencePool("last")(x, tokens).flatten().tolist() == [2.0, 8.0]
    assert SequencePool("last")(x).flatten().tolist() == [4.0, 8.0]  # unwired: as before


def test_max_ignores_padding_and_an_all_padding_text_pools_to_zero():
    x = torch.tensor([[[-1.0], [5.0]], [[2.0], [3.0]]])
    tokens = torch.tensor([[4, 0], [0, 0]])
    assert SequencePool("max")(x, tokens).flatten().tolist() == [-1.0, 0.0]
    assert SequencePool("mean")(x, tokens).flatten().tolist() == [-1.0, 0.0]
