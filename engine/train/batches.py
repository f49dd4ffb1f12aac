"""The order and size of an epoch's batches, from the seed alone, so a resumed run sees the
same batches as one that was never interrupted."""

from __future__ import annotations

import torch


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffle of one epoch, from (seed, epoch) alone, so a resumed run reshuffles alike."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Batch offsets. A last batch of one sample is dropped: BatchNorm cannot train on it."""
    starts = list(range(0, n, batch_size))
    if starts and n - starts[-1] == 1 and len(starts) > 1:
        starts.pop()
    return starts
