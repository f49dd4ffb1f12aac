"""Where a dataset spec points, and loading it: a built-in name or a file or folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DataError
from .builtin import load_builtin
from .dataset import Dataset
from .files import load_csv, load_idx, load_npz
from .images import load_image_folder

FORMATS = ("npz", "csv", "images", "idx")


def guess_format(path: Path) -> str | None:
    name = path.name.lower()
    if path.is_dir():
        return "images"
    if name.endswith(".npz"):
        return "npz"
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if "idx" in name or name.endswith(("-ubyte", "-ubyte.gz")):
        return "idx"
    return None


def load_dataset(spec: Any, base_dir: str | Path | None = None,
                 task: str = "classification") -> Dataset:
    """Load the dataset a project names. `task` is "classification" or "regression"."""
    if not isinstance(spec, dict) or not ("name" in spec or "path" in spec):
        raise DataError('no dataset chosen: set "dataset" to {"name": "mnist5k"} or '
                        '{"path": "your-data.npz"}', where="dataset")
    if "name" in spec:
        if task != "classification":
            raise DataError(f"the built-in dataset {spec['name']!r} is a classification task: "
                            "use the loss cross_entropy", where="dataset.name")
        options = {k: v for k, v in spec.items() if k != "name"}
        return load_builtin(str(spec["name"]), options)
    raw = spec["path"]
    if not isinstance(raw, str) or not raw:
        raise DataError("dataset.path must be a file or folder name", where="dataset.path")
    path = Path(raw).expanduser()
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if not path.is_absolute():
        path = base / path
    if not path.exists():
        raise DataError("no such file or folder", path=str(path))
    fmt = spec.get("format") or guess_format(path)
    if fmt not in FORMATS:
        raise DataError("cannot tell the data format from the name: set dataset.format to one of "
                        + ", ".join(FORMATS), path=str(path))
    if fmt == "images":
        if task != "classification":
            raise DataError("an image folder is labelled by class: use the loss cross_entropy",
                            path=str(path))
        if not path.is_dir():
            raise DataError("an image dataset is a folder with one sub-folder per class",
                            path=str(path))
        return load_image_folder(path, spec)
    if path.is_dir():
        raise DataError(f"is a folder, but the format {fmt} needs a file", path=str(path))
    if fmt == "npz":
        return load_npz(path, spec, task)
    if fmt == "csv":
        return load_csv(path, spec, task)
    return load_idx(path, spec, task, base)
