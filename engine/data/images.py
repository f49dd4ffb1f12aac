"""Image folders: one sub-folder per class, images resized to one size with Pillow.

The rule for broken images: a file with an image extension that Pillow cannot decode is
skipped and counted (`info["skipped_files"]` names the first few), and training goes on
with the rest; a class left with no readable image is an error that names its first broken
file and why it cannot be decoded. Files with other extensions are ignored. A folder whose
decoded images would take more than the data limit (`limits.max_data_bytes`) is read on
demand instead of all at once. An image whose header declares more pixels than
`limits.max_image_pixels` is refused before it is decoded: it is not broken, and the limit
is the person's to raise.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from ..errors import DataError
from ..safe_read import open_regular
from .dataset import Dataset
from .files import printable, reason
from .limits import (IMAGE_PIXELS_SETTING, check_image_pixels, how_to_raise, max_data_bytes,
                     max_image_pixels)

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
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


@contextmanager
def open_image(path: Path, where: str | None = None) -> Iterator[Any]:
    """The image opened (its header read, no pixels decoded), or a `DataError` naming the
    file when it declares more pixels than `limits.max_image_pixels`. Pillow's own check is
    only a warning below twice its limit (a 410 KB PNG of 144 megapixels took 1.45 GB), so
    the size is checked here, and Pillow's limit follows the setting when it is raised."""
    from PIL import Image

    limit = max_image_pixels()
    if Image.MAX_IMAGE_PIXELS is not None and 2 * Image.MAX_IMAGE_PIXELS < limit:
        Image.MAX_IMAGE_PIXELS = limit  # a limit raised on purpose holds for Pillow too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns on odd but readable files
        with open_regular(path) as handle:
            try:
                img = Image.open(handle)
            except Image.DecompressionBombError as exc:  # beyond twice Pillow's own limit
                raise _too_many_pixels(exc, path, limit, where) from None
            with img:
                check_image_pixels(img.width, img.height, str(path), where)
                yield img


def _too_many_pixels(exc: BaseException, path: Path, limit: int, where: str | None
                     ) -> DataError:
    """Pillow's refusal in the words of ours: its message holds the pixel count."""
    found = re.search(r"\((\d+) pixels\)", str(exc))
    held = f"{int(found.group(1)) / 1e6:,.1f} megapixels" if found else "too many pixels"
    return DataError(f"declares {held}, more than {limit / 1e6:,.1f} megapixels, the limit "
                     f"per image; {how_to_raise(IMAGE_PIXELS_SETTING)}", path=str(path),
                     where=where)


def decode(path: Path, size: tuple[int, int], mode: str, where: str | None = None
           ) -> np.ndarray:
    """[C, H, W] float32 in [0, 1]. Raises OSError/ValueError for a broken file, DataError
    for one that declares more pixels than the limit."""
    from PIL import Image

    with open_image(path, where) as img:
        img = img.convert(mode).resize((size[1], size[0]), Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _verify(path: Path, where: str | None = None) -> None:
    """Raises what Pillow raises for a broken file, without decoding the pixels."""
    with open_image(path, where) as img:
        img.verify()


def _why(exc: BaseException, file: Path) -> str:
    """Pillow's reason, without the absolute path it repeats."""
    return reason(exc).replace(f"'{file}'", "").replace(str(file), file.name).strip() or \
        type(exc).__name__


def _listing(path: Path) -> list[Path]:
    try:
        return sorted(path.iterdir())
    except OSError as exc:
        raise DataError(f"cannot be read ({reason(exc)})", path=str(path)) from None


def _no_classes(path: Path, classes: list[str], ignored: int) -> DataError:
    """Fewer than two class folders with images: say what was found instead."""
    hints = ""
    loose = [p for p in _listing(path) if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if loose:
        hints += f"; the {len(loose)} images directly in it belong in class sub-folders"
    if ignored:
        hints += f"; {ignored} files without an image extension were ignored"
    return DataError(f"needs one sub-folder per class, at least two, each with images; found "
                     f"{len(classes)} ({printable(', '.join(classes), 120) or 'none'}){hints}",
                     path=str(path))


def load_image_folder(path: Path, spec: dict[str, Any]) -> Dataset:
    shown = str(path)
    size, mode = _size(spec), _mode(spec)
    channels = 3 if mode == "RGB" else 1
    entries = _listing(path)
    if not entries:
        raise DataError("is empty: an image dataset needs one sub-folder per class, each with "
                        "images", path=shown)
    folders = [p for p in entries if p.is_dir() and not p.name.startswith(".")]
    files: list[tuple[Path, int]] = []
    classes: list[str] = []
    ignored = 0
    for folder in folders:
        try:
            found = [p for p in sorted(folder.rglob("*")) if p.is_file()]
        except OSError as exc:
            raise DataError(f"cannot be read ({reason(exc)})", path=str(folder)) from None
        images = [p for p in found if p.suffix.lower() in IMAGE_EXTENSIONS]
        ignored += len(found) - len(images)
        if images:
            files += [(p, len(classes)) for p in images]
            classes.append(folder.name)
    if len(classes) < 2:
        raise _no_classes(path, classes, ignored)
    estimate = len(files) * channels * size[0] * size[1] * 4
    in_memory = estimate <= spec.get("max_in_memory_bytes", max_data_bytes())
    kept_x: list[np.ndarray] = []
    kept: list[tuple[Path, int]] = []
    skipped: list[str] = []
    why: dict[str, str] = {}
    for file, label in files:
        try:
            if in_memory:
                kept_x.append(decode(file, size, mode, file.relative_to(path).as_posix()))
            else:
                _verify(file, file.relative_to(path).as_posix())
        except DataError:
            raise  # too many pixels: not a broken file, and the limit is the person's to raise
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for broken files
            rel = file.relative_to(path).as_posix()
            skipped.append(rel)
            why[rel] = _why(exc, file)
            continue
        kept.append((file, label))
    labels = torch.tensor([label for _, label in kept], dtype=torch.int64)
    empty = [name for i, name in enumerate(classes) if not (labels == i).any()]
    if empty:
        broken = [rel for rel in skipped if rel.startswith(f"{empty[0]}/")]
        more = f" and {len(broken) - 1} more" if len(broken) > 1 else ""
        raise DataError(f"class folder '{empty[0]}' has no readable image: {broken[0]} cannot "
                        f"be decoded ({why[broken[0]]}){more}", path=shown, where=broken[0])
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
