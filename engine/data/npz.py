"""NPZ files: a zip of ``.npy`` arrays, ``x`` (samples) and ``y`` (labels) by default.

A model with several Input nodes reads one array per Input, named after the Input's node
id (``img``, ``meta`` and ``y`` for Inputs ``img`` and ``meta``); a single-input model
keeps reading ``x`` (or ``dataset.x_key``).

Each array's header is read and checked before its data: a header that declares more data
than the archive holds (or more than fits in memory), Python objects (pickles, which could
run code and are never loaded) or a type that is not numbers is refused before anything is
allocated. The file is opened, and closed, here, so a broken archive leaves no open file.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Sequence

import numpy as np
import torch

from ..errors import DataError
from ..safe_read import file_size, open_regular
from .dataset import Dataset
from .inputs import Inputs
from . import progress
from .files import check_size, first_unusable, printable, reason, size_text, targets
from .limits import DEFLATE_MAX_RATIO, check_data_bytes
from .stream import CHUNK, REPORT_EVERY

_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_NPY_MAGIC = b"\x93NUMPY"
#: What a zip member's packed bytes can unpack to at most, by method (the others can
#: unpack far more, and are only bounded by the data limit).
_MAX_RATIO = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: DEFLATE_MAX_RATIO}


def load_npz(path: Path, spec: dict[str, Any], task: str, inputs: Sequence[str] = ()
             ) -> Dataset:
    """Read the arrays; with two or more `inputs` (Input node ids), one array per Input
    under its id instead of ``x``."""
    shown = str(path)
    x_key, y_key = _key(spec, "x_key", "x"), _key(spec, "y_key", "y")
    several = len(inputs) >= 2
    try:
        with open_regular(path) as handle:
            check_size(path, file_size(handle))
            if file_size(handle) == 0:
                raise DataError("is empty (0 bytes): an .npz archive holds arrays x and y",
                                path=shown)
            if handle.read(len(_NPY_MAGIC)) == _NPY_MAGIC:
                raise DataError("holds one array (an .npy file), not named arrays: save x and y "
                                "together with numpy.savez(path, x=..., y=...)", path=shown)
            handle.seek(0)
            with zipfile.ZipFile(handle) as archive:
                members = _members(archive)
                if several:
                    _check_input_keys(members, inputs, shown)
                needed = ((() if several else (x_key,))
                          + (() if task == "none" else (y_key,)))
                for key in needed:
                    if key not in members:
                        held = printable(", ".join(members), 200) or "nothing"
                        raise DataError(f"has no array '{key}' (it holds: {held}); name the "
                                        "arrays with dataset.x_key / dataset.y_key",
                                        path=shown, where=f"key '{key}'")
                if several:
                    arrays = {key: _read_array(archive, members[key], key, shown,
                                               numbers_only=True) for key in inputs}
                    x = arrays[inputs[0]]
                else:
                    x = _read_array(archive, members[x_key], x_key, shown, numbers_only=True)
                if task == "none":  # the input is all there is to learn (the y is not read)
                    y = np.zeros((int(x.shape[0]) if x.ndim else 0, 0))
                else:
                    y = _read_array(archive, members[y_key], y_key, shown, numbers_only=False)
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataError(f"is not a readable .npz archive ({reason(exc)})", path=shown) from None
    if several:
        return _several(path, arrays, y, y_key, task)
    return _dataset(path, x, y, x_key, y_key, task)


def load_npz_arrays(path: Path, wanted: dict[str, str]) -> dict[str, np.ndarray]:
    """The arrays `wanted` names (key -> who reads it, "head size"), read as `load_npz`
    reads ``y``; a key the file lacks is an error naming who wanted it and the keys held."""
    shown = str(path)
    try:
        with open_regular(path) as handle:
            check_size(path, file_size(handle))
            with zipfile.ZipFile(handle) as archive:
                members = _members(archive)
                out = {}
                for key, who in wanted.items():
                    if key not in members:
                        held = printable(", ".join(members), 200) or "nothing"
                        raise DataError(f"has no array '{key}' for {who} (it holds: {held}): "
                                        "name the array in the head's \"target\"",
                                        path=shown, where=who)
                    out[key] = _read_array(archive, members[key], key, shown,
                                           numbers_only=False)
                return out
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataError(f"is not a readable .npz archive ({reason(exc)})", path=shown) from None


def npz_arrays(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """Array name -> (shape, dtype) from the headers alone (no data is read), for showing
    which array feeds which Input before, or without, loading the file."""
    shown = str(path)
    try:
        with open_regular(path) as handle:
            check_size(path, file_size(handle))
            with zipfile.ZipFile(handle) as archive:
                out = {}
                for key, info in _members(archive).items():
                    with archive.open(info) as member:
                        shape, _, dtype = _header(member, key, shown)
                    out[key] = (tuple(shape), str(dtype))
                return out
    except DataError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise DataError(f"is not a readable .npz archive ({reason(exc)})", path=shown) from None


def _check_input_keys(members: dict[str, zipfile.ZipInfo], inputs: Sequence[str],
                      path: str) -> None:
    """Every Input node needs an array under its id: one message naming the first Input
    without one and the arrays the file holds."""
    for node_id in inputs:
        if node_id not in members:
            held = printable(", ".join(members), 200) or "nothing"
            wanted = ", ".join(inputs)
            raise DataError(f"has no array '{node_id}' (it holds: {held}): a model with "
                            "several Inputs reads one array per Input, named after its node "
                            f"id ({wanted})", path=path,
                            where=f"Input node {node_id}")


def _key(spec: dict[str, Any], option: str, default: str) -> str:
    key = spec.get(option, default)
    if not isinstance(key, str) or not key:
        raise DataError(f"{option} must be the name of an array in the .npz, got {key!r}",
                        where=f"dataset.{option}")
    return key


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """Array name -> zip entry, named as numpy names them (without ``.npy``)."""
    out: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if not info.is_dir():
            out[info.filename.removesuffix(".npy")] = info
    return out


def _read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, path: str,
                numbers_only: bool) -> np.ndarray:
    where = f"key '{key}'"
    if info.flag_bits & 0x1:
        raise DataError(f"array '{key}' is encrypted", path=path, where=where)
    if info.compress_type not in _READABLE:
        raise DataError(f"array '{key}' is packed with zip method {info.compress_type}, which "
                        "cannot be read: save with numpy.savez", path=path, where=where)
    with archive.open(info) as member:
        shape, fortran, dtype = _header(member, key, path)
        if dtype.hasobject:
            raise DataError(f"array '{key}' holds Python objects, which are never loaded "
                            "(they could run code): save plain numeric arrays", path=path,
                            where=where)
        if numbers_only and dtype.kind not in "biuf":
            raise DataError(f"array '{key}' holds {dtype}, not numbers", path=path, where=where)
        count = math.prod(shape)
        need, held = count * dtype.itemsize, info.file_size - member.tell()
        shown = list(shape)
        if need > held:
            raise DataError(f"array '{key}' declares shape {shown} ({size_text(need)}) but "
                            f"holds only {size_text(max(held, 0))}", path=path, where=where)
        trained = np.dtype(np.float32 if dtype.kind in "fb" else np.int64)
        # what the array and, while it is converted, its copy for training take together
        kept = count * (dtype.itemsize + (0 if dtype == trained else trained.itemsize))
        check_data_bytes(kept, f"array '{key}' of shape {shown} takes {size_text(kept)} "
                         "read and converted for training", path, where)
        ratio = _MAX_RATIO.get(info.compress_type)
        if ratio is not None and need > info.compress_size * ratio:
            raise DataError(f"array '{key}' declares shape {shown} ({size_text(need)}) but "
                            f"its {size_text(info.compress_size)} packed can hold at most "
                            f"{size_text(info.compress_size * ratio)}", path=path, where=where)
        flat, got = _read_into(member, dtype, count, path)
    if got < need:
        raise DataError(f"array '{key}' is cut short", path=path, where=where)
    if fortran:
        return flat.reshape(shape[::-1]).transpose()
    return flat.reshape(shape)


def _header(member: BinaryIO, key: str, path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """(shape, fortran order, dtype) from an ``.npy`` header, or a DataError."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        if version == (1, 0):
            shape, fortran, dtype = fmt.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran, dtype = fmt.read_array_header_2_0(member)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not read")
    except ValueError as exc:
        raise DataError(f"array '{key}' is not a NumPy array ({reason(exc)})", path=path,
                        where=f"key '{key}'") from None
    except (SyntaxError, tokenize.TokenError):  # numpy parses the header as Python literals
        raise DataError(f"array '{key}' is not a NumPy array (its header cannot be read)",
                        path=path, where=f"key '{key}'") from None
    if any(d < 0 for d in shape):
        raise DataError(f"array '{key}' is not a NumPy array (its header declares shape "
                        f"{list(shape)})", path=path, where=f"key '{key}'")
    return shape, fortran, dtype


def _read_into(member: BinaryIO, dtype: np.dtype, count: int, path: str
               ) -> tuple[np.ndarray, int]:
    """The array and the bytes read into it, unpacked a chunk at a time straight into its
    buffer. Its pages are only allocated as the data arrives, so a header that declares
    more than the member holds costs what the member holds, not what it declares."""
    out = np.empty(count, dtype=dtype)
    view = memoryview(out.view(np.uint8).reshape(-1)) if count else memoryview(b"")
    done, next_report = 0, REPORT_EVERY
    while done < len(view):
        got = member.readinto(view[done:done + CHUNK])  # type: ignore[attr-defined]
        if not got:
            break
        done += got
        if done >= next_report:
            next_report = done + REPORT_EVERY
            progress.report(path, done)
    return out, done


def _several(path: Path, arrays: dict[str, np.ndarray], y: np.ndarray, y_key: str,
             task: str) -> Dataset:
    """Check each Input's array as `x` is checked against `y` (so they also match each
    other's sample count)."""
    tensors = {}
    for key, x in arrays.items():
        single = _dataset(path, x, y, key, y_key, task)
        tensors[key] = single.x
    return Dataset(Inputs(tensors), single.y, single.name, single.classes, {"format": "npz"})


def _dataset(path: Path, x: np.ndarray, y: np.ndarray, x_key: str, y_key: str,
             task: str) -> Dataset:
    """Check the two arrays against each other and make the dataset."""
    shown = str(path)
    if x.ndim < 2:
        raise DataError(f"array '{x_key}' has shape {list(x.shape)}: it needs one row per sample,"
                        " [n, features] or [n, channels, height, width]", path=shown,
                        where=f"key '{x_key}'")
    if y.ndim == 0 and task != "none":
        raise DataError(f"array '{y_key}' is a single value: it needs one label per sample",
                        path=shown, where=f"key '{y_key}'")
    if 0 in x.shape[1:]:
        raise DataError(f"samples of '{x_key}' hold nothing (shape {list(x.shape)})",
                        path=shown, where=f"key '{x_key}'")
    if y.ndim == 2 and y.shape[1] == 1 and task == "classification":
        y = y[:, 0]
    if len(x) != len(y):
        raise DataError(f"'{x_key}' has {len(x)} samples but '{y_key}' has {len(y)}: they must "
                        "match", path=shown)
    if len(x) == 0:
        raise DataError("holds no samples", path=shown)
    problem = first_unusable(x)
    if problem is not None:
        i, holds, count = problem
        more = f" ({count} samples do)" if count > 1 else ""
        raise DataError(f"sample {i} of '{x_key}' holds {holds}{more}", path=shown,
                        where=f"key '{x_key}'")
    if x.dtype == np.uint64 and x.max() > np.iinfo(np.int64).max:
        raise DataError(f"array '{x_key}' holds whole numbers too large for int64", path=shown,
                        where=f"key '{x_key}'")
    yt, classes = targets(y, task, shown, where=f"key '{y_key}'")
    xt = torch.from_numpy(np.ascontiguousarray(x.astype(np.float32 if x.dtype.kind in "fb"
                                                          else np.int64, copy=False)))
    return Dataset(xt, yt, path.name, classes, {"format": "npz"})
