"""A few samples to show in the data panel: some of every class, always the same ones."""

from __future__ import annotations

import torch

from .dataset import Dataset


def preview_indices(data: Dataset, per_class: int = 4, limit: int = 40) -> torch.Tensor:
    """The first `per_class` samples of each class (or the first `limit` samples for
    regression), in class order."""
    if not data.is_classification:
        return torch.arange(min(limit, len(data)))
    chosen: list[int] = []
    for k in range(data.num_classes):
        chosen += (data.y == k).nonzero().flatten()[:per_class].tolist()
        if len(chosen) >= limit:
            break
    return torch.tensor(chosen[:limit], dtype=torch.int64)


def preview(data: Dataset, per_class: int = 4, limit: int = 40) -> tuple[torch.Tensor,
                                                                            torch.Tensor]:
    index = preview_indices(data, per_class, limit)
    return data.read(index), data.y[index]
