"""Datasets: built-in ones (all offline) and a person's own files.

`load_dataset(spec, base_dir, task)` reads the project's ``"dataset"`` object:

- ``{"name": "mnist5k"}`` (and, for generated data, ``"n"`` and ``"seed"``), see `BUILTINS`;
- ``{"path": "data.npz", "x_key": "x", "y_key": "y"}``;
- ``{"path": "table.csv", "target": "label"}``;
- ``{"path": "photos/", "image_size": [64, 64], "color": "rgb"}`` (one sub-folder per class);
- ``{"path": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"}``.

Relative paths are resolved against the project's folder. ``"format"`` (npz, csv, images,
idx) overrides the guess made from the file name.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "BUILTINS": "catalog", "Dataset": "dataset", "Normalization": "dataset", "Split": "dataset",
    "split_dataset": "dataset", "fit_to_graph": "fit", "guess_format": "sources",
    "load_dataset": "sources",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Names load on first use (PEP 562): the catalogue is readable without torch."""
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
