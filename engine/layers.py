"""The few torch modules Torchloom adds to `torch.nn`, used by blocks that torch lacks.

They live apart from the block declarations so that reading the catalogue (the palette, a
project file) never imports torch: the GUI shows its window before torch has loaded.
Every class here is plain PyTorch, so exported code can carry it as it is.
"""

from __future__ import annotations

import torch
from torch import nn


class PositionalEmbedding(nn.Module):
    """A learned table of position vectors, added to a [N, L, E] sequence.

    Attention alone cannot tell positions apart; this gives each position its own vector.
    """

    def __init__(self, max_len: int, embedding_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_len, embedding_dim))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[: x.shape[1]]


class LSTMSequence(nn.LSTM):
    """nn.LSTM that returns only the output sequence [N, L, H * directions]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)[0]


class GRUSequence(nn.GRU):
    """nn.GRU that returns only the output sequence [N, L, H * directions]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)[0]


class RNNSequence(nn.RNN):
    """nn.RNN that returns only the output sequence [N, L, H * directions]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)[0]


class SequencePool(nn.Module):
    """Reduce [N, L, H] to [N, H]: the last step, the mean or the max over time."""

    def __init__(self, mode: str = "last") -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "last":
            return x[:, -1]
        if self.mode == "mean":
            return x.mean(dim=1)
        return x.amax(dim=1)

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


class SequenceAttention(nn.MultiheadAttention):
    """Batch-first multi-head attention; `key` defaults to `query` and `value` to `key`.

    With only the query wired it is self-attention. Weights are not returned, so torch can
    use its fused kernels; probes ask the parent class for them on a probe batch only.
    """

    def forward(self, query: torch.Tensor, key: torch.Tensor | None = None,  # type: ignore[override]
                value: torch.Tensor | None = None) -> torch.Tensor:
        key = query if key is None else key
        value = key if value is None else value
        return super().forward(query, key, value, need_weights=False)[0]


class Add(nn.Module):
    """Element-wise sum of any number of equally shaped tensors (a residual join)."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Concat(nn.Module):
    """Concatenate along `dim`, counted without the batch dimension (0 is channels)."""

    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim + 1 if self.dim >= 0 else self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
