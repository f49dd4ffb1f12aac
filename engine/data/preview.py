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


#: Colours of mask classes 0, 1, 2... (0, the background, dark), cycled past the end.
MASK_PALETTE = ((0.08, 0.08, 0.1), (0.36, 0.55, 0.94), (0.94, 0.55, 0.23), (0.25, 0.64, 0.48),
                (0.85, 0.28, 0.42), (0.66, 0.42, 0.84), (0.93, 0.82, 0.26), (0.18, 0.62, 0.62))


def mask_images(masks: torch.Tensor) -> torch.Tensor:
    """[n, H, W] class indices as [n, 3, H, W] colour pictures in [0, 1] (`MASK_PALETTE`)."""
    palette = torch.tensor(MASK_PALETTE)
    return palette[masks.long() % len(palette)].permute(0, 3, 1, 2).contiguous()


def with_masks(x: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Each image followed by its mask, for one grid: [2n, 3, H, W]. Grey images are shown
    in colour so both halves of a pair share the grid's channels."""
    images = x.float().expand(-1, 3, -1, -1) if x.shape[1] == 1 else x.float()[:, :3]
    return torch.stack([images, mask_images(masks)], 1).flatten(0, 1)
