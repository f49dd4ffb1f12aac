"""Recurrent encoders that read both the sequence and the final hidden state, as people
write them: ``out, (h, c) = self.lstm(x)`` and ``out, h = self.gru(x)``."""

from __future__ import annotations

import torch
from torch import nn


class LSTMAttentionPool(nn.Module):
    """Attention over the steps, queried by the final state (a small text classifier)."""

    def __init__(self, features: int = 5, hidden: int = 12, num_classes: int = 3,
                 num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, num_layers=num_layers, batch_first=True)
        self.score = nn.Linear(hidden, 1)
        self.head = nn.Linear(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (h, c) = self.lstm(x)
        weights = torch.softmax(self.score(out), dim=1)
        context = (weights * out).sum(dim=1)
        return self.head(torch.cat([context, h[-1]], dim=1))


class GRUSummary(nn.Module):
    def __init__(self, features: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, h = self.gru(x)
        return self.head(torch.cat([out.mean(dim=1), h[-1]], dim=1))


class LSTMCellState(nn.Module):
    """Reads the cell state, which no block gives: the LSTM stays code."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.head = nn.Linear(12, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (h, c) = self.lstm(x)
        return self.head(torch.cat([out[:, -1], c[-1]], dim=1))


class GRUSqueezed(nn.Module):
    """One layer, its final state taken with ``h.squeeze(0)``."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(4, 6, batch_first=True)
        self.head = nn.Linear(12, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, h = self.gru(x)
        return self.head(torch.cat([out[:, -1], h.squeeze(0)], dim=1))


class LSTMFinalState(nn.Module):
    """Only the final state: ``_, (h, _) = self.lstm(x)``."""

    def __init__(self, bidirectional: bool = False) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


class GRUScored(nn.Module):
    """Each step scored against the final state by code no block expresses (an einsum),
    which reads both outputs of the GRU; used three times, so it becomes a unit."""

    def __init__(self, d: int = 6, length: int = 5) -> None:
        super().__init__()
        self.gru = nn.GRU(d, d, batch_first=True)
        self.mix = nn.Linear(length, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, h = self.gru(x)
        scores = torch.einsum("nld,nd->nl", out, h[-1])
        return x + self.mix(scores).unsqueeze(1)


class ScoredStack(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b, self.c = GRUScored(), GRUScored(), GRUScored()
        self.head = nn.Linear(6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.c(self.b(self.a(x))).mean(dim=1))
