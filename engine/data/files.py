"""A person's own data files: NPZ, CSV and IDX (the MNIST format, gzipped or not).

Every problem is a `DataError` that names the file and the row, column or key; nothing
in a data file is executed (NPZ is read with ``allow_pickle=False``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import DataError
from .dataset import Dataset

#: Files above this size are refused before they are read into memory.
MAX_TABLE_BYTES = 2 * 2**30
_MISSING = {"", "nan", "na", "n/a", "null", "none"}


def targets(raw: np.ndarray, task: str, path: str, what: str = "label") -> tuple[torch.Tensor,
                                                                                  list[str]]:
    """Turn raw labels into training targets.

    Classification: whole numbers keep their values as class indices when they are
    0..K-1 (named "0".."K-1"); other whole numbers and text labels are mapped to indices in
    sorted order and keep their own names. Regression: numbers, as float32.
    """
    if task == "regression":
        if raw.dtype.kind not in "biuf":
            raise DataError(f"{what}s must be numbers for loss mse, got text such as "
                            f"'{raw.flat[0]}'", path=path)
        values = raw.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
        if bad.size:
            raise DataError(f"{what} of sample {bad[0]} is NaN or infinite", path=path)
        return torch.from_numpy(values), []
    if raw.ndim != 1:
        raise DataError(f"{what}s must be one class per sample (shape [n]), got shape "
                        f"{list(raw.shape)}", path=path)
    if raw.dtype.kind in "US":
        names = sorted(set(raw.tolist()))
        index = {name: i for i, name in enumerate(names)}
        indices = torch.tensor([index[v] for v in raw.tolist()], dtype=torch.int64)
        return indices, [str(n) for n in names]
    if raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        whole = finite & (raw == np.round(raw))
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise DataError(f"{what} {float(raw[i])!r} of sample {i} is not a whole number: "
                            "classification needs class labels 0, 1, 2, ... (for regression, "
                            "set the loss to mse)", path=path)
        raw = raw.astype(np.int64)
    if raw.dtype.kind not in "biu":
        raise DataError(f"{what}s must be whole numbers or class names, got {raw.dtype}",
                        path=path)
    raw = raw.astype(np.int64)
    uniq = np.unique(raw)
    if uniq.size < 2:
        raise DataError(f"every sample has the same {what} ({uniq[0] if uniq.size else '?'}): "
                        "classification needs at least two classes", path=path)
    if uniq[0] == 0 and uniq[-1] == uniq.size - 1:
        return torch.from_numpy(raw), [str(int(v)) for v in uniq]
    mapped = np.searchsorted(uniq, raw)
    return torch.from_numpy(mapped.astype(np.int64)), [str(int(v)) for v in uniq]


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        raise DataError(f"is {size / 2**30:.1f} GiB; files above {MAX_TABLE_BYTES // 2**30} "
                        "GiB are not read into memory", path=str(path))


# ---- NPZ -------------------------------------------------------------------------------


def load_npz(path: Path, spec: dict[str, Any], task: str) -> Dataset:
    x_key, y_key = spec.get("x_key", "x"), spec.get("y_key", "y")
    shown = str(path)
    _check_size(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.keys())
            for key in (x_key, y_key):
                if key not in keys:
                    held = ", ".join(keys) or "nothing"
                    raise DataError(f"has no array '{key}' (it holds: {held}); name the arrays "
                                    "with dataset.x_key / dataset.y_key",
                                    path=shown, where=f"key '{key}'")
            x, y = _read_array(archive, x_key, shown), _read_array(archive, y_key, shown)
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise DataError(f"is not a readable .npz archive ({_reason(exc)})", path=shown) from None
    if x.dtype.kind not in "biuf":
        raise DataError(f"array '{x_key}' holds {x.dtype}, not numbers", path=shown,
                        where=f"key '{x_key}'")
    if x.ndim < 2:
        raise DataError(f"array '{x_key}' has shape {list(x.shape)}: it needs one row per sample,"
                        " [n, features] or [n, channels, height, width]", path=shown,
                        where=f"key '{x_key}'")
    if y.ndim == 2 and y.shape[1] == 1 and task == "classification":
        y = y[:, 0]
    if len(x) != len(y):
        raise DataError(f"'{x_key}' has {len(x)} samples but '{y_key}' has {len(y)}: they must "
                        "match", path=shown)
    if len(x) == 0:
        raise DataError("holds no samples", path=shown)
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"sample {i} of '{x_key}' holds NaN or infinity ({int(bad.sum())} "
                            "samples do)", path=shown, where=f"key '{x_key}'")
    yt, classes = targets(y, task, shown)
    xt = torch.from_numpy(np.ascontiguousarray(x.astype(np.float32 if x.dtype.kind in "fb"
                                                          else np.int64)))
    return Dataset(xt, yt, path.name, classes, {"format": "npz"})


def _read_array(archive: Any, key: str, path: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"array '{key}' holds Python objects, which are never loaded "
                            "(they could run code): save plain numeric arrays", path=path,
                            where=f"key '{key}'") from None
        raise


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


# ---- CSV -------------------------------------------------------------------------------


def load_csv(path: Path, spec: dict[str, Any], task: str) -> Dataset:
    """A header row, numeric feature columns, and the label column named by dataset.target."""
    shown = str(path)
    target = spec.get("target", "target")
    _check_size(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("is not UTF-8 text", path=shown) from None
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise DataError("is empty: a CSV needs a header row and data rows", path=shown)
    header_line = next(line for line in lines if line.strip())
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in next(rows)]
    if target not in header:
        raise DataError(f"has no column '{target}' (columns: {', '.join(header)}): name the label"
                        " column in the project's dataset.target", path=shown, where="row 1")
    t_col = header.index(target)
    features: list[list[float]] = []
    labels: list[str] = []
    for line_no, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"has {len(row)} cells but the header has {len(header)}", path=shown,
                            where=f"row {line_no}")
        values = []
        for col, cell in enumerate(row):
            if col == t_col:
                continue
            values.append(_number(cell, shown, line_no, header[col]))
        features.append(values)
        labels.append(row[t_col].strip())
    if not features:
        raise DataError("has a header but no data rows", path=shown)
    if len(header) < 2:
        raise DataError("has no feature columns besides the label", path=shown)
    x = torch.tensor(features, dtype=torch.float32)
    raw = np.array(labels)
    try:
        numeric = raw.astype(np.float64)
    except ValueError:
        numeric = None
    if numeric is not None:
        missing = [i for i, v in enumerate(labels) if v.lower() in _MISSING]
        if missing:
            raise DataError(f"column '{target}' is empty or NaN", path=shown,
                            where=f"row {missing[0] + 2}")
        raw = numeric
    y, classes = targets(raw, task, shown)
    return Dataset(x, y, path.name, classes,
                   {"format": "csv", "columns": [h for i, h in enumerate(header) if i != t_col]})


def _number(cell: str, path: str, line_no: int, column: str) -> float:
    text = cell.strip()
    if text.lower() in _MISSING:
        raise DataError(f"column '{column}' is empty or NaN: fill in or drop the row", path=path,
                        where=f"row {line_no}")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"column '{column}' holds '{text[:30]}', which is not a number",
                        path=path, where=f"row {line_no}") from None
    if not math.isfinite(value):
        raise DataError(f"column '{column}' holds an infinite value", path=path,
                        where=f"row {line_no}")
    return value


# ---- IDX -------------------------------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """One IDX file: two zero bytes, a type code, the number of dims, the sizes, the data."""
    shown = str(path)
    if not path.is_file():
        raise DataError("no such file", path=shown)
    _check_size(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataError("no such file", path=shown) from None
    except (OSError, EOFError) as exc:
        raise DataError(f"is not a readable gzip file ({_reason(exc)})", path=shown) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError("is not an IDX file (wrong magic number): expected the MNIST format, "
                        "e.g. train-images-idx3-ubyte", path=shown)
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise DataError("is too short to hold its own header", path=shown)
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    need = head + math.prod(dims) * dtype.itemsize
    if len(raw) < need:
        raise DataError(f"is cut short: {len(raw):,} bytes where its header promises {need:,}",
                        path=shown)
    return np.frombuffer(raw, dtype=dtype, count=math.prod(dims), offset=head).reshape(dims)


def load_idx(path: Path, spec: dict[str, Any], task: str, base: Path) -> Dataset:
    """Images from `path` and labels from `dataset.labels` (or the matching labels file)."""
    labels = spec.get("labels")
    if labels is None:
        guess = path.name.replace("images-idx3", "labels-idx1").replace("images.idx3",
                                                                         "labels.idx1")
        if guess == path.name:
            raise DataError("name the labels file in dataset.labels", path=str(path))
        labels_path = path.with_name(guess)
    elif not isinstance(labels, str) or not labels:
        raise DataError("dataset.labels must be a file name", where="dataset.labels")
    else:  # relative to the project folder, or else beside the images file
        labels_path = Path(labels) if Path(labels).is_absolute() else base / labels
        if not labels_path.exists() and (path.parent / labels).exists():
            labels_path = path.parent / labels
    images, raw_labels = read_idx(path), read_idx(labels_path)
    if images.ndim < 2:
        raise DataError("holds labels, not images: give the images file as dataset.path",
                        path=str(path))
    if len(images) != len(raw_labels):
        raise DataError(f"has {len(images)} images but {labels_path.name} has {len(raw_labels)} "
                        "labels: they must match", path=str(path))
    x = images.astype(np.float32)
    if images.dtype == np.uint8:
        x /= 255.0
    if x.ndim == 3:
        x = x[:, None]  # [n, H, W] gets a channel: [n, 1, H, W]
    y, classes = targets(raw_labels, task, str(labels_path))
    return Dataset(torch.from_numpy(np.ascontiguousarray(x)), y, path.name, classes,
                   {"format": "idx"})
