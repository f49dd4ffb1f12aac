"""Generated datasets: seeded, made in well under a second, each built to show one idea.

- `shapes`: colour images of circles, squares and triangles. Convolutions and feature maps.
- `sequences`: token sequences whose class needs memory across time. LSTM and GRU.
- `retrieval`: key/value pairs and a query. Attention, and the attention maps show it.
- `shape_scenes`: several shapes per image, with a mask (segmentation) and tags (multi-label).
- `shape_sizes`: `shapes` with each shape's size too (a model with two heads).
- `waves`: noisy sines and their amplitude and frequency (regression).
"""

from __future__ import annotations

import math

import torch

SHAPE_CLASSES = ["circle", "square", "triangle"]


def make_shapes(n: int = 3000, seed: int = 0, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, 3, size, size] float images in [0, 1]; classes balanced. Chance accuracy: 1/3.

    Each image is a noisy background of one colour with one filled shape of another; the
    shape's size, position, rotation (squares and triangles) and both colours are jittered,
    so colour and position say nothing about the class.
    """
    img, y, _ = make_sized_shapes(n, seed, size)
    return img, y


def make_sized_shapes(n: int = 3000, seed: int = 0, size: int = 32
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`make_shapes`'s images and classes, and each shape's size: its circumradius in
    pixels, 0.16-0.32 of the image side (5.1-10.2 for 32 pixels): a number to regress beside
    the class."""
    g = torch.Generator().manual_seed(seed)

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=g)

    y = torch.arange(n) % 3
    y = y[torch.randperm(n, generator=g)]
    radius = uniform(size * 0.16, size * 0.32, n)
    cx = uniform(0, 1, n) * (size - 2 * radius) + radius
    cy = uniform(0, 1, n) * (size - 2 * radius) + radius
    angle = uniform(0, 2 * math.pi, n)
    mask = shape_masks(y, cx, cy, radius, angle, size)
    fg = uniform(0.35, 1.0, n, 3)
    bg = uniform(0.0, 0.3, n, 3)
    swap = torch.rand(n, generator=g) < 0.3  # sometimes dark shape on a light background
    fg, bg = torch.where(swap[:, None], bg, fg), torch.where(swap[:, None], fg, bg)
    img = torch.where(mask[:, None], fg[:, :, None, None], bg[:, :, None, None])
    img = img + 0.05 * torch.randn(img.shape, generator=g)
    return img.clamp(0, 1).float(), y, radius.float()


def shape_masks(kind: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor, radius: torch.Tensor,
                angle: torch.Tensor, size: int) -> torch.Tensor:
    """[n, size, size] bool: for each i, the pixels inside a shape of `kind[i]` (0 circle, 1
    square, 2 triangle) centred at (cx, cy) with circumradius `radius`, turned by `angle`."""
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    dx = xx[None] - cx[:, None, None]
    dy = yy[None] - cy[:, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy  # rotated coordinates
    r = radius[:, None, None]
    circle = dx**2 + dy**2 <= r**2
    square = (u.abs() <= r * 0.8) & (v.abs() <= r * 0.8)
    # an equilateral triangle with circumradius r: three half-planes
    tri = torch.ones_like(circle)
    for k in range(3):
        theta = 2 * math.pi * k / 3
        tri &= (math.cos(theta) * u + math.sin(theta) * v) <= r * 0.5
    return torch.where((kind == 0)[:, None, None], circle,
                       torch.where((kind == 1)[:, None, None], square, tri))


def make_shape_scenes(n: int = 2000, seed: int = 0, size: int = 32, most: int = 3
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scenes of 1 to `most` shapes each: [n, 3, size, size] images in [0, 1], [n, size,
    size] int64 masks (0 background, 1 + the kind of the shape on top at each pixel) and
    [n, 3] float 0/1 tags (which kinds the scene shows). `shape_masks` has one shape per
    scene (the kind is the outline of the whole shape, so a segmentation model needs a
    receptive field as wide as the shape: a U-Net's); `shape_tags` up to three.

    A shape drawn later covers earlier ones; a shape hidden entirely is not tagged. Sizes,
    places, rotations and colours are jittered as in `make_shapes`, so only the outline
    tells the kinds apart.
    """
    g = torch.Generator().manual_seed(seed)

    def uniform(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(*shape, generator=g)

    count = torch.randint(1, most + 1, (n,), generator=g)
    bg = uniform(0.0, 0.3, n, 3)
    img = bg[:, :, None, None].expand(n, 3, size, size).clone()
    masks = torch.zeros((n, size, size), dtype=torch.int64)
    for k in range(most):
        kind = torch.randint(0, 3, (n,), generator=g)
        radius = uniform(size * 0.14, size * 0.24, n)
        cx = uniform(0, 1, n) * (size - 2 * radius) + radius
        cy = uniform(0, 1, n) * (size - 2 * radius) + radius
        angle = uniform(0, 2 * math.pi, n)
        inside = shape_masks(kind, cx, cy, radius, angle, size) & (k < count)[:, None, None]
        fg = uniform(0.35, 1.0, n, 3)
        img = torch.where(inside[:, None], fg[:, :, None, None], img)
        masks = torch.where(inside, kind[:, None, None] + 1, masks)
    img = img + 0.05 * torch.randn(img.shape, generator=g)
    tags = torch.stack([(masks == kind + 1).flatten(1).any(1) for kind in range(3)], 1)
    return img.clamp(0, 1).float(), masks, tags.float()


def make_waves(n: int = 3000, seed: int = 0, length: int = 64
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy sine waves [n, length] and what made each, [n, 2]: its amplitude (0.5 to 2) and
    its frequency (1 to 4 periods over the window). Predicting them is a regression: a
    model has to measure height and count crossings, not pick a class."""
    g = torch.Generator().manual_seed(seed)
    amplitude = 0.5 + 1.5 * torch.rand(n, generator=g)
    frequency = 1.0 + 3.0 * torch.rand(n, generator=g)
    phase = 2 * math.pi * torch.rand(n, generator=g)
    t = torch.linspace(0, 1, length)
    x = amplitude[:, None] * torch.sin(2 * math.pi * frequency[:, None] * t[None] + phase[:, None])
    x = x + 0.1 * torch.randn(x.shape, generator=g)
    return x.float(), torch.stack([amplitude, frequency], 1).float()


def make_sequences(n: int = 4000, seed: int = 0, length: int = 32,
                   vocab: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, length] int64 token ids; class 1 if marker A (token 0) comes before marker B
    (token 1), else 0. Chance accuracy: 1/2.

    Every sequence holds exactly one A and one B among noise tokens 2..vocab-1, so a model
    that only counts tokens cannot do better than chance: it has to remember which marker it
    saw first.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(2, vocab, (n, length), generator=g)
    pos = torch.argsort(torch.rand(n, length, generator=g), dim=1)[:, :2]
    rows = torch.arange(n)
    x[rows, pos[:, 0]] = 0
    x[rows, pos[:, 1]] = 1
    y = (pos[:, 0] < pos[:, 1]).long()
    return x, y


def sequence_token_names(vocab: int = 16) -> list[str]:
    """Names for `make_sequences` tokens, for axis labels: A, B, then noise n2, n3..."""
    return ["A", "B"] + [f"n{t}" for t in range(2, vocab)]


def retrieval_token_names(keys: int = 16, values: int = 8) -> list[str]:
    """Names for `make_retrieval` tokens, for axis labels: ``k3=v5`` for a pair, ``?k3`` for
    the query, so an attention map reads as "the query looked at its key"."""
    pairs = [f"k{t // values}=v{t % values}" for t in range(keys * values)]
    return pairs + [f"?k{k}" for k in range(keys)]


def make_retrieval(n: int = 4000, seed: int = 0, keys: int = 16, pairs: int = 8,
                   values: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, pairs + 1] int64 tokens: `pairs` key/value pairs, then a query key. The class is
    the value paired with the queried key. Chance accuracy: 1/values.

    Each pair is one token, ``key * values + value`` (0..keys*values-1); the query is
    ``keys * values + key``. Keys within a sequence are distinct. Vocabulary size:
    ``keys * (values + 1)`` (144 by default). To answer, the query position has to find the
    one pair holding its key: what a single attention head does, and what its weights show.
    """
    g = torch.Generator().manual_seed(seed)
    chosen = torch.argsort(torch.rand(n, keys, generator=g), dim=1)[:, :pairs]
    vals = torch.randint(0, values, (n, pairs), generator=g)
    which = torch.randint(0, pairs, (n,), generator=g)
    rows = torch.arange(n)
    query = chosen[rows, which]
    x = torch.cat([chosen * values + vals, (keys * values + query)[:, None]], dim=1)
    return x, vals[rows, which]
