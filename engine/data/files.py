"""What every loader of a person's own files shares: reading bytes (gzipped or not) within
a memory bound, refusing NaN and infinity, and turning raw labels into training targets.

Every problem is a `DataError` that names the file and the row, column, key or sample;
nothing in a data file is executed (NPZ is read without pickles). The loaders themselves
are in `npz`, `table` (CSV) and `idx`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import DataError
from .limits import check_data_bytes
from .stream import open_data

#: The largest magnitude float32 holds: bigger values would silently become infinity.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Whole-number labels beyond this are not class indices (and float64 cannot count them).
MAX_LABEL = 2**53


def check_size(path: Path, size: int) -> None:
    """Refuse a file whose size on disk is already above the data limit (`limits`)."""
    check_data_bytes(size, f"is {size_text(size)}", str(path))


def exists(path: Path) -> bool:
    """Whether `path` exists; a name the system refuses (too long) is a DataError."""
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise DataError(f"cannot be read ({reason(exc)})", path=printable(str(path), 200)) \
            from None
    return True


def read_data(path: Path, share: int = 1, why: str = "") -> bytes:
    """The file's bytes, unpacked when they start with the gzip magic number.

    The unpacked size is counted as it unpacks (`stream`), so a small gzip bomb stops at the
    data limit instead of filling the memory; a reader whose data grows `share` times in
    memory stops at 1/`share` of it."""
    with open_data(path, share, why) as stream:
        return stream.read_all()  # type: ignore[return-value]  # a bytearray reads as bytes


def reason(exc: BaseException) -> str:
    """The first line of an exception's text, short and printable, for a message."""
    lines = str(exc).strip().splitlines()
    return printable(lines[0], 160) if lines else type(exc).__name__


def size_text(n: int) -> str:
    """A byte count a person can read, also when a lying header makes it astronomical."""
    if n < 2**30:
        return f"{n:,} bytes"
    return f"{n / 2**30:.3g} GiB" if n < 2**40 else f"{n / 2**40:.3g} TiB"


def printable(text: str, limit: int = 30) -> str:
    """`text` cut to `limit` characters, with newlines and control characters escaped so
    that a message stays one readable line."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text[:limit])


def first_unusable(x: np.ndarray) -> tuple[int, str, int] | None:
    """The first sample of float array `x` that training cannot use, as (index, what it
    holds, how many samples do), or None. NaN and infinity are refused here, where the
    file and sample can be named: a training run on them fails later with a worse message.
    Values beyond float32 would silently become infinity when converted, so they count."""
    if x.dtype.kind != "f" or x.size == 0:
        return None
    flat = x.reshape(len(x), -1)
    bad = ~np.isfinite(flat).all(axis=1)
    if bad.any():
        return int(np.flatnonzero(bad)[0]), "NaN or infinity", int(bad.sum())
    if x.dtype.itemsize > 4:
        big = (np.abs(flat) > FLOAT32_MAX).any(axis=1)
        if big.any():
            i = int(np.flatnonzero(big)[0])
            value = float(flat[i][np.abs(flat[i]) > FLOAT32_MAX][0])
            return i, f"{value:g}, too large for float32", int(big.sum())
    return None


def targets(raw: np.ndarray, task: str, path: str, what: str = "label",
            where: str | None = None,
            row: Callable[[int], str] | None = None) -> tuple[torch.Tensor, list[str]]:
    """Turn raw labels into training targets.

    Classification: whole numbers keep their values as class indices when they are
    0..K-1 (named "0".."K-1"); other whole numbers and text labels are mapped to indices in
    sorted order and keep their own names. Regression: numbers, as float32.

    An error points at `where` (an NPZ key) and says which sample; when `row(i)` names the
    place of sample i itself (a CSV row), it points there instead.
    """

    def sample(i: int, value: str = "") -> str:
        """'label 0.5 of sample 3', or just 'label 0.5' when the error names the row."""
        head = f"{what} {value}" if value else what
        return head if row is not None else f"{head} of sample {i}"

    def fail(message: str, i: int | None = None) -> DataError:
        at = row(i) if row is not None and i is not None else where
        return DataError(message, path=path, where=at)

    if raw.ndim == 0:
        raise fail(f"{what}s are a single value: a file needs one {what} per sample")
    if task == "none":  # an autoencoder's or a GAN's data: the targets are not used
        return torch.zeros((len(raw), 0)), []
    if task == "multilabel":
        return _tags(raw, what, fail, sample)
    if task == "segmentation":
        return _masks(raw, what, fail, sample)
    if task == "regression":
        if raw.dtype.kind in "US":
            i = _first_text(raw)
            raise fail(f"{what}s must be numbers for loss mse, got text such as "
                       f"'{printable(str(raw.flat[i]))}'", i)
        if raw.dtype.kind not in "biuf":
            raise fail(f"{what}s must be numbers for loss mse, got {raw.dtype}")
        values = raw.astype(np.float64)
        problem = first_unusable(values)
        if problem is not None:
            i, holds, _count = problem
            text = "is NaN or infinite" if holds.startswith("NaN") else f"holds {holds}"
            raise fail(f"{sample(i)} {text}", i)
        return torch.from_numpy(values.astype(np.float32)), []
    if raw.ndim != 1:
        raise fail(f"{what}s must be one class per sample (shape [n]), got shape "
                   f"{list(raw.shape)}")
    if raw.size == 0:
        raise fail(f"there are no {what}s")
    if raw.dtype.kind in "US":
        texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                 for v in raw.tolist()]
        names = sorted(set(texts))
        if len(names) < 2:
            raise fail(f"every sample has the same {what} ('{printable(names[0])}'): "
                       "classification needs at least two classes")
        index = {name: i for i, name in enumerate(names)}
        return torch.tensor([index[v] for v in texts], dtype=torch.int64), names
    if raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise fail(f"{sample(i)} is NaN or infinite", i)
        whole = raw == np.round(raw)
        if not whole.all():
            i = int(np.flatnonzero(~whole)[0])
            raise fail(f"{sample(i, f'{float(raw[i]):g}')} is not a "
                       "whole number: classification needs class labels 0, 1, 2, ... (for "
                       "regression, set the loss to mse)", i)
    elif raw.dtype.kind not in "biu":
        raise fail(f"{what}s must be whole numbers or class names, got {raw.dtype}")
    if raw.dtype.kind in "fu":
        big = np.abs(raw) >= MAX_LABEL if raw.dtype.kind == "f" else raw >= MAX_LABEL
        if big.any():
            i = int(np.flatnonzero(big)[0])
            raise fail(f"{sample(i, f'{float(raw[i]):g}')} is too "
                       "large to be a class index", i)
    raw = raw.astype(np.int64)
    uniq = np.unique(raw)
    if uniq.size < 2:
        raise fail(f"every sample has the same {what} ({uniq[0]}): classification needs at "
                   "least two classes")
    if uniq[0] == 0 and uniq[-1] == uniq.size - 1:
        return torch.from_numpy(raw), [str(int(v)) for v in uniq]
    mapped = np.searchsorted(uniq, raw)
    return torch.from_numpy(mapped.astype(np.int64)), [str(int(v)) for v in uniq]


def _tags(raw: np.ndarray, what: str, fail: Callable[..., DataError],
          sample: Callable[..., str]) -> tuple[torch.Tensor, list[str]]:
    """Multi-label targets: [n, K] of 0 and 1 (labels named "0".."K-1")."""
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.ndim != 2 or raw.shape[1] == 0:
        raise fail(f"{what}s must be 0/1 per label, one row per sample (shape [n, labels]), "
                   f"got shape {list(raw.shape)}")
    if raw.dtype.kind not in "biuf":
        raise fail(f"{what}s must be 0 or 1 per label, got {raw.dtype}")
    bad = ~((raw == 0) | (raw == 1))
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        raise fail(f"{sample(i)} holds {_shown(raw[i, k])} for label {k}: multi-label targets "
                   "are 0 or 1 per label", i)
    return torch.from_numpy(raw.astype(np.float32)), [str(k) for k in range(raw.shape[1])]


def _masks(raw: np.ndarray, what: str, fail: Callable[..., DataError],
           sample: Callable[..., str]) -> tuple[torch.Tensor, list[str]]:
    """Segmentation targets: [n, H, W] class indices 0..K-1 per pixel (classes "0".."K-1",
    K one more than the largest index)."""
    if raw.ndim != 3:
        raise fail(f"masks must hold one class per pixel, shape [n, height, width], got shape "
                   f"{list(raw.shape)}")
    if raw.dtype.kind not in "biuf":
        raise fail(f"masks must hold whole-number classes, got {raw.dtype}")
    flat = raw.reshape(len(raw), -1)
    bad = (flat < 0) | (flat != np.round(flat)) if raw.dtype.kind == "f" else flat < 0
    if raw.dtype.kind == "f":
        bad |= ~np.isfinite(flat)
    if bad.any():
        i, p = (int(v) for v in np.argwhere(bad)[0])
        y, x = divmod(p, raw.shape[2])
        raise fail(f"the mask of sample {i} holds {_shown(flat[i, p])} at pixel ({y}, {x}): a "
                   "mask holds class indices 0, 1, 2, ...", i)
    if flat.max() >= MAX_LABEL:
        raise fail(f"masks hold class {int(flat.max())}, too large to be a class index")
    top = int(flat.max())
    return torch.from_numpy(raw.astype(np.int64)), [str(k) for k in range(max(top + 1, 2))]


def _shown(value: Any) -> str:
    """A number from an array as a person writes it: 0.5, -1, nan."""
    return f"{float(value):g}" if np.asarray(value).dtype.kind in "biuf" else printable(
        str(value))


def _first_text(raw: np.ndarray) -> int:
    """The index of the first label that is not a number."""
    for i, value in enumerate(raw.tolist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return i
    return 0
