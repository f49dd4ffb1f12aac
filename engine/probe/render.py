"""Pictures of what a probe captured, as PIL images: feature maps, attention per head, and a
heatmap strip for everything else.

`torchloom probe` writes these as PNGs, so a person (or a report, or a test) can see inside
a model without the GUI. Only numpy and Pillow are used, no matplotlib and no Qt: the colour
map is a small table of viridis anchors, interpolated once to 256 entries. Viridis because
it reads as dark-to-bright in grey too, and is fair to colour-blind eyes.
"""

from __future__ import annotations

import io
import math
import os
from typing import Any, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..fileio import atomic_write_bytes

# viridis at 0, 1/8, ..., 1 (the published palette); linear interpolation between them is
# within a few levels of the full 256-entry table.
_VIRIDIS_ANCHORS = np.array([
    (68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 144, 140),
    (39, 173, 129), (93, 200, 99), (170, 220, 50), (253, 231, 37),
], dtype=np.float64)


def _make_lut(anchors: np.ndarray, size: int = 256) -> np.ndarray:
    where = np.linspace(0.0, 1.0, len(anchors))
    t = np.linspace(0.0, 1.0, size)
    lut = np.stack([np.interp(t, where, anchors[:, c]) for c in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


VIRIDIS: np.ndarray = _make_lut(_VIRIDIS_ANCHORS)
"""The colour map: uint8 [256, 3], index 0 darkest."""

BACKGROUND = (22, 22, 26)
"""The dark page the cells sit on (close to the GUI's dark theme)."""
TEXT = (220, 220, 225)
MASKED = (58, 58, 64)
"""Attention cells a query may not look at (NaN weights): grey with a diagonal, never a
colour of the scale, so a causal triangle does not read as learned zeros."""
GAP = 2
MAX_SIDE = 2048  # no picture grows past this; huge maps are shown smaller, not cropped


def _array(a: Any) -> np.ndarray:
    """A float64 numpy array from a tensor (any device) or an array."""
    if hasattr(a, "detach"):  # a torch tensor; keeps torch out of this module's imports
        a = a.detach().float().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _levels(a: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    """Values -> LUT indices 0..255. A constant (or empty, or all-NaN) map becomes 0 rather
    than dividing by zero; NaN and inf are shown as the darkest colour."""
    finite = np.isfinite(a)
    if lo is None:
        lo = float(a[finite].min()) if finite.any() else 0.0
    if hi is None:
        hi = float(a[finite].max()) if finite.any() else 0.0
    span = hi - lo
    if not span > 0:
        return np.zeros(a.shape, dtype=np.uint8)
    scaled = np.where(finite, (a - lo) / span, 0.0)
    return np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)


def colorize(a2d: Any, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """A 2-D array as uint8 RGB [H, W, 3] through viridis.

    `lo`/`hi` fix the scale (values outside are clipped); by default the map's own minimum
    and maximum, so every map uses the whole colour range.
    """
    a = _array(a2d)
    if a.ndim != 2:
        raise ValueError(f"colorize takes a 2-D array, got shape {list(a.shape)}")
    return VIRIDIS[_levels(a, lo, hi)]


def _scale_for(h: int, w: int, cell: int) -> int:
    """The integer upscale that makes the longer side at least `cell` pixels."""
    return max(1, math.ceil(cell / max(h, w, 1)))


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of the near-square grid that holds `n` cells, wider than tall."""
    cols = max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


def feature_grid(act: Any, cell: int = 48, gap: int = GAP) -> Image.Image:
    """Every channel of one sample's [C, H, W] activation, tiled in a near-square grid.

    Each channel is normalised on its own (a channel's pattern matters, not its scale next
    to the others) and upscaled with nearest-neighbour so that a 4x4 map is still readable:
    each cell's longer side is at least `cell` pixels. Cells are `gap` pixels apart and from
    the border, on a dark background.
    """
    a = _array(act)
    if a.ndim != 3:
        raise ValueError(f"feature_grid takes [C, H, W], got shape {list(a.shape)}")
    channels, h, w = a.shape
    rows, cols = grid_shape(channels)
    scale = _scale_for(h, w, cell)
    cw, ch = w * scale, h * scale
    width, height = cols * cw + (cols + 1) * gap, rows * ch + (rows + 1) * gap
    page = np.empty((height, width, 3), dtype=np.uint8)
    page[:] = BACKGROUND
    for c in range(channels):
        r, k = divmod(c, cols)
        rgb = VIRIDIS[_levels(a[c], None, None)]
        big = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
        top, left = gap + r * (ch + gap), gap + k * (cw + gap)
        page[top:top + ch, left:left + cw] = big
    return _fit(Image.fromarray(page))


def _fit(image: Image.Image, limit: int = MAX_SIDE) -> Image.Image:
    """Shrink a picture whose longer side passes `limit` (area-averaged, so it stays honest)."""
    side = max(image.size)
    if side <= limit:
        return image
    f = limit / side
    return image.resize((max(1, round(image.width * f)), max(1, round(image.height * f))),
                        Image.Resampling.BOX)


def _font(size: int = 11) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _short(label: Any, limit: int = 10) -> str:
    text = str(label)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_size(font: Any, text: str) -> tuple[int, int]:
    left, top, right, bottom = font.getbbox(text)
    return right - left, bottom - top


def _text_image(text: str, font: Any, rotate: bool = False) -> Image.Image:
    """`text` on a transparent tile (turned to read bottom-up with `rotate`)."""
    left, top, right, bottom = font.getbbox(text)
    tile = Image.new("RGBA", (max(1, right - left + 2), max(1, bottom - top + 2)), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((1 - left, 1 - top), text, font=font, fill=TEXT)
    return tile.rotate(90, expand=True) if rotate else tile


def _labels(labels: Sequence[Any] | None, n: int) -> list[str] | None:
    if labels is None:
        return None
    out = [_short(x) for x in labels]
    if len(out) != n:
        raise ValueError(f"{len(out)} labels for {n} rows/columns")
    return out


def head_heatmaps(weights: Any, query_labels: Sequence[Any] | None = None,
                  key_labels: Sequence[Any] | None = None, cell: int = 28) -> list[Image.Image]:
    """One picture per attention head from weights [heads, L, S] (rows: queries, columns:
    keys).

    The colour scale is fixed at 0..1 for every head, because the weights are
    probabilities: a head that spreads its attention looks dim, one that locks on a single
    key shows one bright cell, and heads compare at a glance. NaN cells (masked: a causal
    layer's later positions, padding) are grey with a diagonal. Labels (token ids, words)
    go along the left (queries) and the top (keys, turned upright), cut to 10 characters;
    long sequences get smaller cells and lose their labels when they would not fit.
    """
    w = _array(weights)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(f"head_heatmaps takes [heads, L, S], got shape {list(w.shape)}")
    heads, length, source = w.shape
    cell = max(2, min(cell, 1024 // max(length, source, 1)))
    font = _font()
    q_text, k_text = _labels(query_labels, length), _labels(key_labels, source)
    line = _text_size(font, "Hg")[1] + 2
    if cell < line:  # labels would overlap: drop them
        q_text = k_text = None
    q_tiles = [_text_image(t, font) for t in q_text] if q_text else []
    k_tiles = [_text_image(t, font, rotate=True) for t in k_text] if k_text else []
    left = GAP * 4 + max((t.width for t in q_tiles), default=0)
    title_h = line + GAP * 4
    top = title_h + max((t.height for t in k_tiles), default=0) + GAP * 2
    bar_w = 12
    map_w, map_h = source * cell, length * cell
    width = left + map_w + GAP * 6 + bar_w + _text_size(font, "1.0")[0] + GAP * 6
    height = top + map_h + GAP * 4
    bar = VIRIDIS[np.linspace(255, 0, map_h).round().astype(np.uint8)][:, None, :]
    bar = np.repeat(bar, bar_w, axis=1)
    images = []
    for h in range(heads):
        page = Image.new("RGB", (width, height), BACKGROUND)
        rgb = colorize(w[h], 0.0, 1.0)
        hidden = np.isnan(w[h])
        rgb[hidden] = MASKED
        page.paste(Image.fromarray(rgb).resize((map_w, map_h), Image.Resampling.NEAREST),
                   (left, top))
        draw = ImageDraw.Draw(page)
        if cell >= 6:
            for i, j in zip(*np.nonzero(hidden)):
                x0, y0 = left + j * cell, top + i * cell
                draw.line((x0 + 1, y0 + cell - 2, x0 + cell - 2, y0 + 1), fill=BACKGROUND)
        draw.text((left, GAP * 2), f"head {h}", font=font, fill=TEXT)
        for i, tile in enumerate(q_tiles):
            y = top + i * cell + (cell - tile.height) // 2
            page.paste(tile, (left - GAP * 2 - tile.width, y), tile)
        for j, tile in enumerate(k_tiles):
            x = left + j * cell + (cell - tile.width) // 2
            page.paste(tile, (x, top - GAP * 2 - tile.height), tile)
        bx = left + map_w + GAP * 6
        page.paste(Image.fromarray(bar), (bx, top))
        draw.text((bx + bar_w + GAP * 2, top), "1.0", font=font, fill=TEXT)
        draw.text((bx + bar_w + GAP * 2, top + map_h - line), "0.0", font=font, fill=TEXT)
        images.append(page)
    return images


def vector_strip(act: Any, cell: int = 16, max_width: int = 1024) -> Image.Image:
    """A heatmap strip of one sample's activations, for nodes that are not feature maps or
    attention: [F] is one row, [L, F] (a sequence) one row per position, and anything with
    more axes is folded to [rows, last axis]. One colour scale for the whole strip (these
    units are comparable); each value gets at least a few pixels, and very wide vectors
    are area-averaged down to `max_width`.
    """
    a = _array(act)
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a[None]
    elif a.ndim > 2:
        a = a.reshape(-1, a.shape[-1])
    rows, features = a.shape
    cw = max(1, min(cell, max_width // max(features, 1)))
    rh = max(cw, min(cell, 8 if rows > 32 else cell))
    image = Image.fromarray(colorize(a))
    image = image.resize((features * cw, rows * rh), Image.Resampling.NEAREST)
    if image.width > max_width:
        image = image.resize((max_width, image.height), Image.Resampling.BOX)
    page = Image.new("RGB", (image.width + 2 * GAP, image.height + 2 * GAP), BACKGROUND)
    page.paste(image, (GAP, GAP))
    return _fit(page)


def save_png(image: Image.Image, path: str | os.PathLike[str]) -> None:
    """Write `image` as a PNG atomically: a reader never sees half a picture."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    atomic_write_bytes(path, buffer.getvalue())


__all__ = ["BACKGROUND", "VIRIDIS", "colorize", "feature_grid", "grid_shape", "head_heatmaps",
           "save_png", "vector_strip"]
