"""Segmentation folders: images, and a ``masks`` folder of same-named PNGs whose pixel
values are the class of each pixel (0 the background, 1, 2, ...).

``{"path": "photos/", "masks": "masks/", "image_size": [64, 64]}``: each image is resized
with Pillow as class folders are (bilinear); its mask is resized to the same size by nearest
neighbour, so a class index never blends into another. An image without a mask is an error
that names it; a broken image is skipped and counted, as in class folders. Everything is
read into memory (a segmentation dataset bigger than the data limit, `limits.max_data_bytes`,
is refused with the size it would take).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset
from .files import printable, reason
from .images import IMAGE_EXTENSIONS, _mode, _size, _why, decode, open_image
from .limits import how_to_raise, max_data_bytes


def decode_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """[H, W] int64 class indices. Raises OSError/ValueError for a broken file, DataError
    for one that is not a mask (colour, or values that are not classes)."""
    from PIL import Image

    with open_image(path) as img:
        if img.mode not in ("L", "P", "I", "I;16", "1"):
            raise DataError(f"is a {img.mode} image; a mask is one channel (grey or "
                            "palette) whose values are the class of each pixel",
                            path=str(path))
        img = img.resize((size[1], size[0]), Image.Resampling.NEAREST)
        return np.asarray(img, dtype=np.int64)


def load_mask_folder(path: Path, spec: dict[str, Any], base: Path) -> Dataset:
    shown = str(path)
    size, mode = _size(spec), _mode(spec)
    masks_raw = spec.get("masks")
    if not isinstance(masks_raw, str) or not masks_raw:
        raise DataError("dataset.masks must name the folder of mask images",
                        where="dataset.masks")
    masks = Path(masks_raw)
    masks = masks if masks.is_absolute() else base / masks
    if not masks.is_dir():
        raise DataError("no such folder (dataset.masks names the folder of masks)",
                        path=str(masks))
    try:
        images = sorted(p for p in path.iterdir() if p.is_file()
                        and p.suffix.lower() in IMAGE_EXTENSIONS)
        by_stem = {p.stem: p for p in masks.iterdir() if p.is_file()
                   and p.suffix.lower() == ".png"}
    except OSError as exc:
        raise DataError(f"cannot be read ({reason(exc)})", path=shown) from None
    if not images:
        raise DataError("holds no images: a segmentation dataset is a folder of images and a "
                        "masks folder of same-named PNGs", path=shown)
    channels = 3 if mode == "RGB" else 1
    need = len(images) * size[0] * size[1] * (channels * 4 + 8)
    if need > spec.get("max_in_memory_bytes", max_data_bytes()):
        raise DataError(f"would take {need / 2**30:.1f} GiB in memory at image_size "
                        f"{list(size)}: lower image_size ({how_to_raise()})", path=shown)
    xs, ys, skipped = [], [], []
    for image in images:
        mask = by_stem.get(image.stem)
        if mask is None:
            raise DataError(f"has no mask for {printable(image.name, 80)}: put "
                            f"{image.stem}.png in {masks}", path=shown, where=image.name)
        try:
            x = decode(image, size, mode)
        except DataError:
            raise  # too many pixels: the limit is the person's to raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types
            skipped.append(f"{image.name} ({_why(exc, image)})")
            continue
        try:
            y = decode_mask(mask, size)
        except DataError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DataError(f"cannot be decoded ({_why(exc, mask)})", path=str(mask)) from None
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"has no readable image ({skipped[0]})", path=shown)
    y_all = np.stack(ys)
    classes = [str(k) for k in range(max(int(y_all.max()) + 1, 2))]
    info = {"format": "segmentation folder", "masks": str(masks), "skipped": len(skipped),
            "skipped_files": skipped[:10], "image_size": list(size)}
    return Dataset(torch.from_numpy(np.stack(xs)), torch.from_numpy(y_all), path.name, classes,
                   info)
