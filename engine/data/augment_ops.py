"""The augmentations of `augment` as batch operations on the device.

Every augmentation works on the whole batch at once with plain torch ops (masks, gathers,
one `grid_sample` for the affine ones): no per-sample Python and no torchvision. The random
draws come from a generator of the Augmenter's own, seeded from (seed, step, call), so a
run draws the same augmentations every time and a resumed run continues exactly; the global
generator that dropout uses is never touched, so a run without augmentation is unchanged.

Images arrive normalised ((x - mean) / std per channel). Flips, crops and the affine ones do
not care; brightness and contrast work on the raw values (undone and redone around them);
noise is in units of the standard deviation; padding and blanked areas hold zero, which is
the mean. A segmentation mask ([N, H, W] class ids) goes through the geometric ones with the
image (nearest, never blended; areas from outside the image are class 0).
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch
import torch.nn.functional as F

from .augment import AUGMENTATIONS

Tensor = torch.Tensor
#: The whole-pixel moves, done together in one gather (`shift_flip`).
SHIFT_FLIP = ("hflip", "vflip", "crop")


class Augmenter:
    """Apply `chosen` (`augment.parse`) to training batches.

    Args:
        chosen: augmentation name -> its parameters, in running order.
        seed: the run's seed.
        normalization: the split's (mean, std per channel) or None.
        num_classes: classes of the labels, for mixup and cutmix's soft targets.
    """

    def __init__(self, chosen: dict[str, dict[str, Any]], seed: int,
                 normalization: Any = None, num_classes: int = 0) -> None:
        self.chosen = dict(chosen)
        self.seed = int(seed)
        self.num_classes = num_classes
        self.mean = getattr(normalization, "mean", None)
        self.std = getattr(normalization, "std", None)
        self._gen: dict[str, torch.Generator] = {}
        self._calls = (-1, 0)

    def __bool__(self) -> bool:
        return bool(self.chosen)

    def _generator(self, device: torch.device, step: int) -> tuple[torch.Generator, random.Random]:
        last, count = self._calls
        count = count + 1 if step == last else 0
        self._calls = (step, count)
        key = str(device)
        gen = self._gen.get(key)
        if gen is None:
            gen = self._gen[key] = torch.Generator(device=device)
        mixed = (self.seed * 1_000_003 + step * 101 + count) % (2**63 - 1)
        gen.manual_seed(mixed)
        return gen, random.Random(mixed)

    def __call__(self, x: Tensor, y: Tensor, step: int) -> tuple[Tensor, Tensor]:
        """The augmented batch. `y` comes back as soft targets [N, classes] when mixup or
        cutmix ran, and moved with the image when it is a mask [N, H, W]."""
        gen, rng = self._generator(x.device, step)
        mask = y if (y.dim() == 3 and x.dim() == 4) else None
        raw = False
        mixers = [name for name in self.chosen if AUGMENTATIONS[name].mixes]
        moves = {name: self.chosen[name] for name in SHIFT_FLIP if name in self.chosen}
        if moves:  # one gather for all of them (they come first in the running order)
            x, mask = shift_flip(x, mask, gen, moves.get("hflip", {}).get("p", 0.0),
                                 moves.get("vflip", {}).get("p", 0.0),
                                 moves.get("crop", {}).get("padding", 0))
        for name, params in self.chosen.items():
            if AUGMENTATIONS[name].mixes or name in SHIFT_FLIP:
                continue
            if name in ("brightness", "contrast") and not raw:
                x, raw = self._to_raw(x), True
            elif name not in ("brightness", "contrast") and raw:
                x, raw = self._from_raw(x), False
            x, mask = OPS[name](x, mask, gen, **params)
        if raw:
            x = self._from_raw(x)
        if mask is not None:
            y = mask
        if mixers:
            name = mixers[0] if len(mixers) == 1 else mixers[rng.random() < 0.5]
            lam = rng.betavariate(self.chosen[name]["alpha"], self.chosen[name]["alpha"])
            x, y = MIXERS[name](x, y, lam, gen, self.num_classes)
        return x, y

    def _to_raw(self, x: Tensor) -> Tensor:
        if self.mean is None:
            return x
        return x * self.std.to(x.device, x.dtype) + self.mean.to(x.device, x.dtype)

    def _from_raw(self, x: Tensor) -> Tensor:
        if self.mean is None:
            return x
        return (x - self.mean.to(x.device, x.dtype)) / self.std.to(x.device, x.dtype)


# ---- the operations: (x [N, C, H, W], mask [N, H, W] or None, generator) -> both ------------

def _chance(n: int, p: float, gen: torch.Generator, device: torch.device) -> Tensor:
    return torch.rand(n, generator=gen, device=device) < p


def _uniform(n: int, low: float, high: float, gen: torch.Generator,
             device: torch.device) -> Tensor:
    return low + (high - low) * torch.rand(n, generator=gen, device=device)


def crop(x: Tensor, mask: Tensor | None, gen: torch.Generator, padding: int
         ) -> tuple[Tensor, Tensor | None]:
    return shift_flip(x, mask, gen, padding=padding)


def shift_flip(x: Tensor, mask: Tensor | None, gen: torch.Generator, hflip: float = 0.0,
               vflip: float = 0.0, padding: int = 0) -> tuple[Tensor, Tensor | None]:
    """Flips and a padded crop in one gather: each output pixel reads the source pixel its
    sample's flips and offset point at, and pixels that fall in the padding are zero: two
    passes over the batch whatever the mix (measured 0.50 against 0.71 ms for flip + crop
    as two steps, MNIST batch of 64, one thread). Whole-pixel moves, so a mask moves exactly
    with its image."""
    n, c, h, w = x.shape
    dev = x.device
    if not padding:  # flips alone: flip and choose, cheaper than a gather
        for p, dim in ((vflip, 2), (hflip, 3)):
            if p:
                pick = _chance(n, p, gen, dev)
                x = torch.where(pick.view(-1, 1, 1, 1), x.flip(dim), x)
                if mask is not None:
                    mask = torch.where(pick.view(-1, 1, 1), mask.flip(dim - 1), mask)
        return x, mask
    rows = torch.arange(h, device=dev).expand(n, h)
    cols = torch.arange(w, device=dev).expand(n, w)
    if vflip:
        rows = torch.where(_chance(n, vflip, gen, dev)[:, None], h - 1 - rows, rows)
    if hflip:
        cols = torch.where(_chance(n, hflip, gen, dev)[:, None], w - 1 - cols, cols)
    if padding:
        rows = rows + torch.randint(-padding, padding + 1, (n, 1), generator=gen, device=dev)
        cols = cols + torch.randint(-padding, padding + 1, (n, 1), generator=gen, device=dev)
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    where = (rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :])
    where = where.reshape(n, 1, h * w)
    out = x.contiguous().reshape(n, c, h * w).gather(2, where.expand(n, c, h * w))
    out = out.reshape(n, c, h, w)
    out.masked_fill_(~inside[:, None], 0.0)
    if mask is not None:
        mask = mask.contiguous().reshape(n, h * w).gather(1, where[:, 0]).reshape(n, h, w)
        mask = mask.masked_fill(~inside, 0)
    return out.contiguous(memory_format=_layout(x)), mask


def _layout(x: Tensor) -> torch.memory_format:
    """Keep the batch in the layout it came in (the loop may train in channels-last)."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(
            memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


def _warp(x: Tensor, mask: Tensor | None, theta: Tensor) -> tuple[Tensor, Tensor | None]:
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if mask is not None:
        moved = F.grid_sample(mask[:, None].to(grid.dtype), grid, mode="nearest",
                              padding_mode="zeros", align_corners=False)
        mask = moved[:, 0].round().to(mask.dtype)
    return out.contiguous(memory_format=_layout(x)), mask


def resized_crop(x: Tensor, mask: Tensor | None, gen: torch.Generator, min_scale: float
                 ) -> tuple[Tensor, Tensor | None]:
    n, dev = x.shape[0], x.device
    area = _uniform(n, min_scale, 1.0, gen, dev)
    ratio = torch.exp(_uniform(n, math.log(3 / 4), math.log(4 / 3), gen, dev))
    width = torch.sqrt(area * ratio).clamp(max=1.0)  # fractions of the side
    height = torch.sqrt(area / ratio).clamp(max=1.0)
    cx = (1 - width) * _uniform(n, -1.0, 1.0, gen, dev)
    cy = (1 - height) * _uniform(n, -1.0, 1.0, gen, dev)
    zero = torch.zeros_like(width)
    theta = torch.stack([torch.stack([width, zero, cx], 1), torch.stack([zero, height, cy], 1)],
                        1)
    return _warp(x, mask, theta)


def affine(x: Tensor, mask: Tensor | None, gen: torch.Generator, degrees: float,
           translate: float, scale: float) -> tuple[Tensor, Tensor | None]:
    n, _, h, w = x.shape
    dev = x.device
    angle = _uniform(n, -degrees, degrees, gen, dev) * (math.pi / 180)
    zoom = _uniform(n, 1 - scale, 1 + scale, gen, dev)
    tx = _uniform(n, -2 * translate, 2 * translate, gen, dev)  # the image spans -1..1
    ty = _uniform(n, -2 * translate, 2 * translate, gen, dev)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # a rotation in pixels, written in the grid's -1..1 coordinates of a w x h image
    theta = torch.stack([torch.stack([cos, -sin * h / w, tx], 1),
                         torch.stack([sin * w / h, cos, ty], 1)], 1)
    return _warp(x, mask, theta)


def brightness(x: Tensor, mask: Tensor | None, gen: torch.Generator, amount: float
               ) -> tuple[Tensor, Tensor | None]:
    factor = _uniform(x.shape[0], 1 - amount, 1 + amount, gen, x.device)
    return x * factor.view(-1, 1, 1, 1).to(x.dtype), mask


def contrast(x: Tensor, mask: Tensor | None, gen: torch.Generator, amount: float
             ) -> tuple[Tensor, Tensor | None]:
    factor = _uniform(x.shape[0], 1 - amount, 1 + amount, gen, x.device).view(-1, 1, 1, 1)
    centre = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - centre) * factor.to(x.dtype) + centre, mask


def noise(x: Tensor, mask: Tensor | None, gen: torch.Generator, std: float
          ) -> tuple[Tensor, Tensor | None]:
    return x + std * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype), mask


def _box(n: int, h: int, w: int, side_h: Tensor, side_w: Tensor, gen: torch.Generator,
         device: torch.device) -> Tensor:
    """[N, H, W] True inside one random box per sample (centred anywhere, clipped)."""
    cy = torch.rand(n, generator=gen, device=device) * h
    cx = torch.rand(n, generator=gen, device=device) * w
    rows = torch.arange(h, device=device)[None, :] + 0.5
    cols = torch.arange(w, device=device)[None, :] + 0.5
    inside_r = (rows - cy[:, None]).abs() < side_h[:, None] / 2
    inside_c = (cols - cx[:, None]).abs() < side_w[:, None] / 2
    return inside_r[:, :, None] & inside_c[:, None, :]


def cutout(x: Tensor, mask: Tensor | None, gen: torch.Generator, size: float, p: float
           ) -> tuple[Tensor, Tensor | None]:
    n, _, h, w = x.shape
    side = torch.full((n,), size * min(h, w), device=x.device)
    box = _box(n, h, w, side, side, gen, x.device) & _chance(n, p, gen, x.device).view(-1, 1, 1)
    return x.masked_fill(box[:, None], 0.0), mask


OPS = {"hflip": lambda x, m, g, p: shift_flip(x, m, g, hflip=p),
       "vflip": lambda x, m, g, p: shift_flip(x, m, g, vflip=p), "crop": crop,
       "resized_crop": resized_crop,
       "affine": affine, "brightness": brightness, "contrast": contrast, "noise": noise,
       "cutout": cutout}


# ---- mixing: (x, class ids or soft targets, lam, generator, classes) -> both ---------------

def _soft(y: Tensor, classes: int) -> Tensor:
    if y.dim() == 2:
        return y
    return F.one_hot(y.long(), classes).to(torch.float32)


def mixup(x: Tensor, y: Tensor, lam: float, gen: torch.Generator, classes: int
          ) -> tuple[Tensor, Tensor]:
    other = torch.randperm(x.shape[0], generator=gen, device=x.device)
    soft = _soft(y, classes)
    return lam * x + (1 - lam) * x[other], lam * soft + (1 - lam) * soft[other]


def cutmix(x: Tensor, y: Tensor, lam: float, gen: torch.Generator, classes: int
           ) -> tuple[Tensor, Tensor]:
    n, _, h, w = x.shape
    other = torch.randperm(n, generator=gen, device=x.device)
    cut = math.sqrt(1 - lam)
    box = _box(1, h, w, torch.tensor([cut * h], device=x.device),
               torch.tensor([cut * w], device=x.device), gen, x.device)[0]
    kept = 1 - float(box.sum()) / (h * w)  # the area the clipped box really left
    soft = _soft(y, classes)
    mixed = torch.where(box, x[other], x)
    return mixed.contiguous(memory_format=_layout(x)), kept * soft + (1 - kept) * soft[other]


MIXERS = {"mixup": mixup, "cutmix": cutmix}


def augmenter_for(dataset_spec: Any, data: Any, targets: str, seed: int,
                  normalization: Any = None) -> Augmenter | None:
    """The Augmenter a project's dataset object asks for, checked against the loaded data
    (`data`, a `Dataset`); None when it asks for none. Raises `DataError` naming the key."""
    from .augment import KEY, data_problem, parse

    spec = dataset_spec.get(KEY) if isinstance(dataset_spec, dict) else None
    chosen = parse(spec)
    if not chosen:
        return None
    problem = data_problem(chosen, data, targets)
    if problem is not None:
        raise problem
    return Augmenter(chosen, seed, normalization, data.num_classes)


def preview_versions(chosen: dict[str, dict[str, Any]], data: Any, index: int = 0,
                     count: int = 16, draw: int = 0) -> tuple[Tensor, Tensor | None]:
    """`count` augmented versions of sample `index` of `data` (a `Dataset` of images), as
    training would draw them (normalised, augmented, then shown in the data's own units);
    draw `draw` of them (another number, other draws). Mixing partners are other samples of
    the data. Returns the images [count, C, H, W] and their masks [count, H, W] or None."""
    from .dataset import normalization_for

    n = len(data)
    others = torch.arange(1, count + 1) % max(n, 1)
    picks = torch.cat([torch.full((count,), index), (others + index) % n])
    x = data.read(picks).float()
    y = data.y[picks]
    norm = normalization_for(data, max_samples=2000)
    xn = norm.apply(x) if norm is not None else x
    out, y = Augmenter(chosen, seed=draw, normalization=norm,
                       num_classes=data.num_classes)(xn, y, step=0)
    if norm is not None:
        out = out * norm.std + norm.mean
    mask = y[:count] if y.dim() == 3 else None
    return out[:count], mask
