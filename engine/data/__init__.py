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

from ..lazy import lazy_exports

_WHERE = {
    "BUILTINS": "catalog", "Dataset": "dataset", "Normalization": "dataset", "Split": "dataset",
    "split_dataset": "dataset", "fit_to_graph": "fit", "guess_format": "sources",
    "load_dataset": "sources",
}

__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
