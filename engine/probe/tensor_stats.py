"""One tensor's summary and histogram: what every weight, gradient and activation view
draws. Its own module, with nothing above torch, so the run loop's recorder
(`train.layer_stats`) uses it without the probes that load runs and tasks."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

#: Bins of every histogram.
BINS = 30


@dataclass
class TensorStats:
    """Summary and histogram of one tensor (a parameter, a gradient, an activation).

    `counts` has `BINS` entries and `edges` one more. Only finite values are described;
    `nonfinite` counts the NaN and infinite ones (a sign that training blew up).
    """

    name: str
    numel: int
    mean: float
    std: float
    min: float
    max: float
    counts: list[int] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)
    nonfinite: int = 0


def tensor_stats(values: torch.Tensor, name: str = "", bins: int = BINS) -> TensorStats:
    """Mean, standard deviation (over all values), range and a `bins`-bin histogram."""
    flat = values.detach().reshape(-1).to("cpu", torch.float64)
    finite = flat[torch.isfinite(flat)]
    nonfinite = int(flat.numel() - finite.numel())
    if finite.numel() == 0:
        return TensorStats(name, int(flat.numel()), 0.0, 0.0, 0.0, 0.0, [0] * bins,
                           [float(i) for i in range(bins + 1)], nonfinite)
    low, high = float(finite.min()), float(finite.max())
    lo, hi = (low - 0.5, high + 0.5) if low == high else (low, high)  # all equal: one bin
    counts, edges = torch.histogram(finite, bins=bins, range=(lo, hi))
    return TensorStats(name, int(flat.numel()), float(finite.mean()),
                       float(finite.std(unbiased=False)), low, high,
                       [int(c) for c in counts.tolist()], [float(e) for e in edges.tolist()],
                       nonfinite)
