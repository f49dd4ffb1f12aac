"""Samples for a model with several Input nodes: one tensor per Input, keyed by node id.

A single-input dataset keeps its plain tensor ``x``; a model with several Inputs gets an
`Inputs` in its place. `Inputs` answers the few things the run loop, the probes and the
loaders ask of ``x`` (index the samples, move them, copy them), each applied to every
Input's tensor, so those places read the same for one Input and for several. The order of
the keys is the order of the compiled module's placeholders (`compile.input_order`): the
model is called with the tensors in that order (`train.inputs.call`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import torch

from .dataset import Normalization


class Inputs:
    """Input node id -> samples [n, *shape], every tensor with the same n."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = dict(tensors)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {list(v.shape)}" for k, v in self.tensors.items())
        return f"Inputs({shapes})"

    def __len__(self) -> int:
        first = next(iter(self.tensors.values()), None)
        return int(first.shape[0]) if first is not None else 0

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __getitem__(self, index: Any) -> Any:
        """A node id gives its tensor; anything else indexes the samples of every Input."""
        if isinstance(index, str):
            return self.tensors[index]
        return Inputs({k: v[index] for k, v in self.tensors.items()})

    def keys(self) -> list[str]:
        return list(self.tensors)

    def items(self) -> list[tuple[str, torch.Tensor]]:
        return list(self.tensors.items())

    def values(self) -> list[torch.Tensor]:
        return list(self.tensors.values())

    def map(self, fn: Any) -> "Inputs":
        return Inputs({k: fn(v) for k, v in self.tensors.items()})

    def to(self, *args: Any, **kwargs: Any) -> "Inputs":
        return self.map(lambda t: t.to(*args, **kwargs))

    def clone(self) -> "Inputs":
        return self.map(torch.Tensor.clone)

    def channels_last(self) -> "Inputs":
        """Image batches [N, C, H, W] in channels-last layout; the others as they are."""
        return self.map(lambda t: t.contiguous(memory_format=torch.channels_last)
                        if t.dim() == 4 else t)

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tensors.values())

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """One sample's shape per Input."""
        return {k: tuple(v.shape[1:]) for k, v in self.tensors.items()}

    @property
    def dtypes(self) -> dict[str, str]:
        return {k: str(v.dtype).removeprefix("torch.") for k, v in self.tensors.items()}


@dataclass
class InputsNormalization:
    """One `Normalization` per float Input (None for token ids), from the training split.

    Saved in run.json as ``{"inputs": {node id: normalization or null}}``.
    """

    per_input: dict[str, Normalization | None]

    def apply(self, x: Inputs) -> Inputs:
        out = {}
        for key, tensor in x.items():
            norm = self.per_input.get(key)
            out[key] = norm.apply(tensor) if norm is not None and tensor.is_floating_point() \
                else tensor
        return Inputs(out)

    def to_json(self) -> dict[str, Any]:
        return {"inputs": {k: (n.to_json() if n is not None else None)
                           for k, n in self.per_input.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "InputsNormalization":
        return cls({k: (Normalization.from_json(v) if v else None)
                    for k, v in data["inputs"].items()})


def normalization_from_json(data: dict[str, Any]) -> Normalization | InputsNormalization:
    """The normalisation run.json holds: one (a single Input) or one per Input."""
    if "inputs" in data:
        return InputsNormalization.from_json(data)
    return Normalization.from_json(data)


@dataclass(frozen=True)
class KeyRow:
    """One line of "which array goes to which Input", as the data panel shows it."""

    key: str
    node: str
    #: one sample's shape in the file (None: the file has no such array)
    have: tuple[int, ...] | None
    want: tuple[int, ...]
    #: why the array cannot feed the node, in words; None when it can
    problem: str | None


def key_rows(arrays: dict[str, tuple[tuple[int, ...], str]],
             wanted: dict[str, tuple[int, ...]]) -> list[KeyRow]:
    """For each Input node (id -> its shape, in placeholder order), the array that feeds it
    and whether it fits, by the rule training applies (`fit.input_shape_problem`).

    Args:
        arrays: the file's arrays, name -> (shape with the sample dimension, dtype), as
            `npz.npz_arrays` reads them.
    """
    from .fit import input_shape_problem

    rows = []
    held = ", ".join(arrays) or "nothing"
    for node_id, want in wanted.items():
        if node_id not in arrays:
            rows.append(KeyRow(node_id, node_id, None, tuple(want),
                               f"the file has no array '{node_id}' (it holds: {held})"))
            continue
        shape = tuple(arrays[node_id][0])
        have = shape[1:]
        problem = (f"array '{node_id}' has shape {list(shape)}: it needs one row per sample"
                   if len(shape) < 2 else input_shape_problem(node_id, tuple(want), have))
        rows.append(KeyRow(node_id, node_id, have, tuple(want), problem))
    return rows


def shown_samples(x: Any) -> torch.Tensor:
    """What a view draws of samples that may feed several Inputs: the first Input that
    takes images [C, H, W], else the first Input; one Input's tensor as it is."""
    if not isinstance(x, Inputs):
        return x
    tensors = x.values()
    return next((t for t in tensors if t.dim() == 4), tensors[0])
