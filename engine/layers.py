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


class _RecurrentOutput:
    """What a recurrent layer passes on, so that one tensor flows along the edge.

    ``output="sequence"``: every step, [N, L, H * directions]. ``output="hidden"``: the last
    layer's final hidden state, [N, H * directions], the directions side by side (forward
    first): a classifier's one vector per sample, which for the backward direction is its
    state after reading the whole sequence, not the output at the last step. Only a plain
    attribute is added, so the weights' names are those of the torch class.
    """

    def __init__(self, *args: object, output: str = "sequence", **kwargs: object) -> None:
        if output not in ("sequence", "hidden"):
            raise ValueError(f"output must be 'sequence' or 'hidden', got {output!r}")
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sequence, state = super().forward(x)  # type: ignore[misc]
        if self.output == "sequence":
            return sequence
        h_n = state[0] if isinstance(state, tuple) else state  # an LSTM's is (h_n, c_n)
        directions = 2 if self.bidirectional else 1  # type: ignore[attr-defined]
        return h_n[-directions:].transpose(0, 1).flatten(1)

    def extra_repr(self) -> str:
        text = super().extra_repr()  # type: ignore[misc]
        return text if self.output == "sequence" else f"{text}, output={self.output!r}"


class LSTMSequence(_RecurrentOutput, nn.LSTM):
    """nn.LSTM that returns one tensor: the output sequence or the final hidden state."""


class GRUSequence(_RecurrentOutput, nn.GRU):
    """nn.GRU that returns one tensor: the output sequence or the final hidden state."""


class RNNSequence(_RecurrentOutput, nn.RNN):
    """nn.RNN that returns one tensor: the output sequence or the final hidden state."""


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
