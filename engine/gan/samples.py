"""Sample grids: a batch of generated samples tiled into one picture, written as PNG.

Images [C, H, W] with 1 or 3 channels are drawn as they are; anything else (feature vectors,
other channel counts) is drawn as grey strips, one per sample. Values are in [0, 1] here
(`DataRange` maps back from the model's [-1, 1] first). PIL writes the PNG, as the probes'
pictures are written (`probe.render.save_png`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from PIL import Image

from ..probe.render import BACKGROUND, save_png

#: Samples in the fixed latent batch that make each epoch's grid (8 x 8).
GRID_SAMPLES = 64


def _array(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def _cells(x: np.ndarray) -> np.ndarray:
    """[N, h, w, 3] uint8 pictures of the samples."""
    n = x.shape[0]
    if x.ndim == 4 and x.shape[1] in (1, 3):
        pics = np.transpose(x, (0, 2, 3, 1))
    elif x.ndim == 3:
        pics = x[..., None]
    else:
        flat = x.reshape(n, -1)
        width = flat.shape[1]
        side = math.ceil(math.sqrt(width))
        pad = np.zeros((n, side * side), dtype=np.float32)
        pad[:, :width] = flat
        pics = pad.reshape(n, side, side, 1)
    pics = np.clip(pics, 0.0, 1.0)
    if pics.shape[-1] == 1:
        pics = np.repeat(pics, 3, axis=-1)
    return (pics * 255.0 + 0.5).astype(np.uint8)


def render_grid(x01: Any, cols: int | None = None, cell: int = 56, gap: int = 2) -> np.ndarray:
    """Tile samples in [0, 1] into an RGB uint8 picture [H, W, 3].

    Each sample is upscaled by an integer factor (nearest neighbour) so its longer side is
    at least `cell` pixels; a 28x28 digit becomes 56x56.
    """
    pics = _cells(_array(x01))
    n, h, w, _ = pics.shape
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    scale = max(1, math.ceil(cell / max(h, w, 1)))
    ch, cw = h * scale, w * scale
    page = np.empty((rows * ch + (rows + 1) * gap, cols * cw + (cols + 1) * gap, 3), np.uint8)
    page[:] = BACKGROUND
    for i in range(n):
        r, k = divmod(i, cols)
        big = np.repeat(np.repeat(pics[i], scale, axis=0), scale, axis=1)
        top, left = gap + r * (ch + gap), gap + k * (cw + gap)
        page[top:top + ch, left:left + cw] = big
    return page


def save_grid(x01: Any, path: str | os.PathLike[str]) -> np.ndarray:
    """Render and write the grid as PNG (atomically); returns the picture."""
    page = render_grid(x01)
    save_png(Image.fromarray(page), path)
    return page


def mean_pairwise_distance(x: Any) -> float:
    """Mean Euclidean distance between every two samples (flattened), the diversity measure
    of the mode-collapse check."""
    import torch

    flat = x.reshape(x.shape[0], -1).float()
    n = flat.shape[0]
    if n < 2:
        return 0.0
    dist = torch.cdist(flat, flat)
    return float(dist.sum() / (n * (n - 1)))
