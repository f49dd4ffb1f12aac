"""Image folders: one sub-folder per class, images resized to one size with Pillow.

The rule for broken images: a file with an image extension that Pillow cannot decode is
skipped and counted (`info["skipped"]` lists the first few), and training goes on with
the rest; a class left with no readable image is an error. Files with other extensions are
ignored. A folder whose decoded images would take more than `MAX_IN_MEMORY_BYTES` is read
on demand instead of all at once.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IN_MEMORY_BYTES = 2 * 2**30
DEFAULT_SIZE = (32, 32)


def _size(spec: dict[str, Any]) -> tuple[int, int]:
    size = spec.get("image_size", list(DEFAULT_SIZE))
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not (isinstance(size, list) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and 4 <= v <= 1024 for v in size)):
        raise DataError(f"image_size must be [height, width] between 4 and 1024, got {size!r}",
                        where="dataset.image_size")
    return size[0], size[1]


def _mode(spec: dict[str, Any]) -> str:
    color = spec.get("color", "rgb")
    if color not in ("rgb", "gray"):
        raise DataError(f"color must be 'rgb' or 'gray', got {color!r}", where="dataset.color")
    return "RGB" if color == "rgb" else "L"


def decode(path: Path, size: tuple[int, int], mode: str) -> np.ndarray:
    """[C, H, W] float32 in [0, 1]. Raises OSError/ValueError for a broken file."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns on odd but readable files
        with Image.open(path) as img:
            img = img.convert(mode).resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _verify(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.verify()
        return True
    except Exception:  # noqa: BLE001 - Pillow raises many types for broken files
        return False


def load_image_folder(path: Path, spec: dict[str, Any]) -> Dataset:
    shown = str(path)
    size, mode = _size(spec), _mode(spec)
    channels = 3 if mode == "RGB" else 1
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    files: list[tuple[Path, int]] = []
    classes: list[str] = []
    ignored = 0
    for folder in folders:
        found = [p for p in sorted(folder.rglob("*")) if p.is_file()]
        images = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS]
        ignored += len(found) - len(images)
        if images:
            files += [(p, len(classes)) for p in images]
            classes.append(folder.name)
    if len(classes) < 2:
        raise DataError(f"needs one sub-folder per class, at least two, each with images; found "
                        f"{len(classes)} ({', '.join(classes) or 'none'})", path=shown)
    estimate = len(files) * channels * size[0] * size[1] * 4
    in_memory = estimate <= spec.get("max_in_memory_bytes", MAX_IN_MEMORY_BYTES)
    kept_x: list[np.ndarray] = []
    kept: list[tuple[Path, int]] = []
    skipped: list[str] = []
    for file, label in files:
        if in_memory:
            try:
                kept_x.append(decode(file, size, mode))
            except Exception:  # noqa: BLE001 - any decode failure is a broken image
                skipped.append(str(file.relative_to(path)))
                continue
        elif not _verify(file):
            skipped.append(str(file.relative_to(path)))
            continue
        kept.append((file, label))
    labels = torch.tensor([label for _, label in kept], dtype=torch.int64)
    empty = [name for i, name in enumerate(classes) if not (labels == i).any()]
    if empty:
        raise DataError(f"class folder '{empty[0]}' has no readable image ({len(skipped)} "
                        "broken files skipped)", path=shown, where=empty[0])
    info: dict[str, Any] = {"format": "image folder", "skipped": len(skipped),
                            "skipped_files": skipped[:10], "ignored_files": ignored,
                            "in_memory": in_memory, "image_size": list(size)}
    if in_memory:
        return Dataset(torch.from_numpy(np.stack(kept_x)), labels, path.name, classes, info)
    paths = [file for file, _ in kept]

    def reader(index: torch.Tensor) -> torch.Tensor:
        out = []
        for i in index.tolist():
            try:
                out.append(decode(paths[i], size, mode))
            except Exception as exc:  # noqa: BLE001
                raise DataError(f"cannot be decoded any more ({exc})", path=str(paths[i])) from None
        return torch.from_numpy(np.stack(out))

    return Dataset(None, labels, path.name, classes, info, reader=reader,
                   sample_shape=(channels, *size), sample_dtype="float32")
