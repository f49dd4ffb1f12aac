"""IDX, the MNIST format (gzipped or not): an images file and a labels file.

The header is read first and the size it declares checked against the data limit before
the array is made; the data then unpacks straight into the array, so a header that
promises more than the file holds costs what the file holds and is a message.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from ..safe_read import NotAFileError, check_regular
from .dataset import Dataset
from .files import exists, first_unusable, size_text, targets
from .limits import DEFLATE_MAX_RATIO, check_data_bytes
from .stream import DataStream, open_data

#: numpy's own limit is 64; images with a channel dimension have 4.
MAX_DIMS = 8
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file: two zero bytes, a type code, the number of dims, the sizes, the data."""
    shown = str(path)
    if not exists(path):
        raise DataError("no such file", path=shown)
    try:
        check_regular(path)
    except NotAFileError as exc:
        raise DataError(f"is {exc.kind}, not an IDX file", path=shown) from None
    with open_data(path) as stream:
        raw = _read_up_to(stream, 4)
        if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
            raise DataError("is not an IDX file (wrong magic number): expected the MNIST "
                            "format, e.g. train-images-idx3-ubyte", path=shown)
        ndim = raw[3]
        if ndim > MAX_DIMS:
            raise DataError(f"declares {ndim} dimensions; an IDX file of images or labels has "
                            f"at most {MAX_DIMS}", path=shown)
        head = 4 + 4 * ndim
        raw += _read_up_to(stream, head - 4)
        if len(raw) < head:
            raise DataError("is too short to hold its own header", path=shown)
        dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        dtype = np.dtype(_IDX_TYPES[raw[2]])
        count = math.prod(dims)
        need = head + count * dtype.itemsize
        if not stream.packed and stream.size < need:
            raise _cut_short(stream.size, need, shown)
        kept = count * (dtype.itemsize + 4)  # the values and their float32 copy for training
        check_data_bytes(kept, f"declares {' × '.join(map(str, dims))} values, "
                         f"{size_text(kept)} read and converted for training", shown)
        if stream.packed and need > stream.size * DEFLATE_MAX_RATIO:
            raise DataError(f"is cut short: its header promises {size_text(need)}, more than "
                            f"its {size_text(stream.size)} of gzip can unpack to", path=shown)
        out = np.empty(count, dtype=dtype)  # its pages are only allocated as data arrives
        got = stream.fill(out.view(np.uint8).reshape(-1)) if count else 0
        if stream.packed:
            stream.drain()  # a gzip file's checksum and end are checked too
    if head + got < need:
        raise _cut_short(head + got, need, shown)
    return out.reshape(dims)


def _cut_short(held: int, need: int, shown: str) -> DataError:
    promised = f"{need:,}" if need < 2**30 else size_text(need)
    return DataError(f"is cut short: {held:,} bytes where its header promises {promised}",
                     path=shown)


def _read_up_to(stream: DataStream, size: int) -> bytearray:
    out = bytearray(size)
    return out[:stream.fill(out)]


def load_idx(path: Path, spec: dict[str, Any], task: str, base: Path) -> Dataset:
    """Images from `path` and labels from `dataset.labels` (or the matching labels file)."""
    shown = str(path)
    labels_path = _labels_path(path, spec.get("labels"), base)
    images = read_idx(path)
    if images.ndim < 2:
        raise DataError("holds labels, not images: give the images file as dataset.path",
                        path=shown)
    if len(images) == 0:
        raise DataError("holds no images", path=shown)
    if 0 in images.shape[1:]:
        raise DataError(f"images of shape {list(images.shape[1:])} hold nothing", path=shown)
    problem = first_unusable(images)
    if problem is not None:
        i, holds, count = problem
        more = f" ({count} images do)" if count > 1 else ""
        raise DataError(f"image {i} holds {holds}{more}", path=shown)
    raw_labels = read_idx(labels_path)
    if len(images) != len(raw_labels):
        raise DataError(f"has {len(images)} images but {labels_path.name} has {len(raw_labels)} "
                        "labels: they must match", path=shown)
    x = images.astype(np.float32)
    if images.dtype == np.uint8:
        x /= 255.0
    if x.ndim == 3:
        x = x[:, None]  # [n, H, W] gets a channel: [n, 1, H, W]
    y, classes = targets(raw_labels, task, str(labels_path))
    return Dataset(torch.from_numpy(np.ascontiguousarray(x)), y, path.name, classes,
                   {"format": "idx"})


def _labels_path(path: Path, labels: Any, base: Path) -> Path:
    """`dataset.labels` (relative to the project folder, or else beside the images file),
    or the labels file named like the images file."""
    if labels is None:
        guess = path.name.replace("images-idx3", "labels-idx1").replace("images.idx3",
                                                                         "labels.idx1")
        if guess == path.name:
            raise DataError("name the labels file in dataset.labels", path=str(path))
        return path.with_name(guess)
    if not isinstance(labels, str) or not labels or "\x00" in labels:
        raise DataError("dataset.labels must be a file name", where="dataset.labels")
    labels_path = Path(labels) if Path(labels).is_absolute() else base / labels
    if not exists(labels_path) and exists(path.parent / labels):
        labels_path = path.parent / labels
    return labels_path
