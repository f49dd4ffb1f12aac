"""The targets of a model with several outputs: one array per head, read by its ``target``.

A head's targets come from the data under the key its ``target`` names: an array of an NPZ
(``{"img": ..., "digit": [n] ints, "size": [n] floats}``) or a named target of a built-in
(``shape_sizes``'s ``shape`` and ``size``). Each is turned into training targets the way
the head's own task asks the loaders for them (`data.files.targets`), then all are packed
side by side into one float64 array [n, columns] so the dataset, its split and the run loop
handle them like any other targets; `Targets` unpacks them, per head, on the device.
Float64 holds class indices exactly, and the packing costs one copy at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..data.inputs import Inputs
from ..errors import DataError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..heads import Head


class Targets(Inputs):
    """Output node id -> that head's targets [n, ...], every tensor with the same n. Indexed,
    moved and copied like `Inputs` (the run loop does all three to a batch's targets)."""

    def __repr__(self) -> str:
        return "Targets(" + ", ".join(f"{k}: {list(v.shape)}" for k, v in self.items()) + ")"

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, str):
            return self.tensors[index]
        return Targets({k: v[index] for k, v in self.tensors.items()})

    def map(self, fn: Any) -> "Targets":
        return Targets({k: fn(v) for k, v in self.tensors.items()})

    @property
    def shape(self) -> tuple[int, ...]:
        """(n,): what a loop asking for the sample count of the targets reads."""
        return (len(self),)


@dataclass(frozen=True)
class Column:
    """Where one head's targets sit in the packed array, and what they are."""

    start: int
    width: int
    #: the shape of one sample's target: () a class index or one number, (K,) numbers/tags
    shape: tuple[int, ...]
    #: the loader's kind (`data.sources.TARGETS`): classification, regression, multilabel
    kind: str
    classes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As run.json's ``data.heads.<node>`` holds it (and Evaluate reads it back)."""
        return {"target_shape": list(self.shape), "kind": self.kind,
                "classes": list(self.classes), "columns": [self.start, self.width]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Column":
        start, width = data["columns"]
        return cls(start, width, tuple(data["target_shape"]), data["kind"],
                   tuple(data["classes"]))


def read_named(data: "Dataset", spec: Any, base_dir: Path | None,
               heads: dict[str, "Head"]) -> dict[str, np.ndarray]:
    """Each head's raw target array, by output node id."""
    wanted = {node: head.target for node, head in heads.items()}
    if data.named is not None:
        held = ", ".join(data.named)
        out = {}
        for node, key in wanted.items():
            if key not in data.named:
                raise DataError(f"head {node}'s target '{key}' is not in the dataset "
                                f"{data.name} (it has: {held})", where=f"heads.{node}.target")
            out[node] = data.named[key].numpy()
        return out
    path = spec.get("path") if isinstance(spec, dict) else None
    if not isinstance(path, str) or not path.lower().endswith(".npz"):
        raise DataError("a model with several heads reads each head's targets by name: use "
                        "an .npz with one array per head's \"target\", or a built-in with "
                        "named targets (shape_sizes)", where="dataset")
    from ..data.npz import load_npz_arrays

    file = Path(path) if Path(path).is_absolute() or base_dir is None else base_dir / path
    arrays = load_npz_arrays(file, {key: f"head {node}" for node, key in wanted.items()})
    return {node: arrays[key] for node, key in wanted.items()}


def pack_targets(raw: dict[str, np.ndarray], kinds: dict[str, str], n: int, shown: str,
                 heads: dict[str, "Head"]) -> tuple[torch.Tensor, dict[str, Column]]:
    """The heads' targets side by side in one float64 array [n, columns], and where each
    head's are. Raises `DataError` naming the head and the key."""
    from ..data.files import targets

    parts, layout, at = [], {}, 0
    for node, array in raw.items():
        key = heads[node].target
        where = f"head {node} (key '{key}')"
        if array.ndim >= 1 and len(array) != n:
            raise DataError(f"'{key}' has {len(array)} samples but the inputs have {n}: they "
                            "must match", path=shown, where=where)
        if array.ndim == 2 and array.shape[1] == 1 and kinds[node] == "classification":
            array = array[:, 0]
        tensor, classes = targets(array, kinds[node], shown, where=where)
        flat = tensor.double().reshape(n, -1)
        parts.append(flat)
        layout[node] = Column(at, flat.shape[1], tuple(tensor.shape[1:]), kinds[node],
                              tuple(classes))
        at += flat.shape[1]
    return torch.cat(parts, 1), layout


def unpack(y: torch.Tensor, layout: dict[str, Column]) -> Targets:
    """The packed targets [n, columns] -> one tensor per head, as its task trains on them:
    class indices as int64, numbers and tags as float32."""
    out = {}
    for node, col in layout.items():
        part = y[:, col.start:col.start + col.width]
        if col.kind == "classification":
            out[node] = part[:, 0].long()
        else:
            out[node] = part.float().reshape(len(y), *col.shape)
    return Targets(out)
