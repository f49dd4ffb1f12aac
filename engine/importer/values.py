"""What each traced node computes on one example batch, and that batch.

The importer decides from real values, not from guesses: whether a node gives a tensor
(which can become a wire) or a size or tuple (which cannot), and each tensor's shape and
dtype, which the blocks' ports must accept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import fx, nn


@dataclass(frozen=True)
class Value:
    """What one fx node computed on the example batch: a tensor's shape and dtype, or the
    Python type of anything else (sizes, tuples)."""

    is_tensor: bool
    shape: tuple[int, ...] = ()
    dtype: torch.dtype | None = None
    kind: str = ""
    value: Any = None
    #: dimension 0 is the batch (it followed the batch size between two runs), so the
    #: tensor can be a wire: every block keeps the batch first
    batched: bool = False
    #: a size or other plain value that came out equal on both batches (not the batch size
    #: or anything computed from it), so a block may hold it as a constant setting
    steady: bool = False

    @property
    def rank(self) -> int:
        return len(self.shape)


class _Recorder(fx.Interpreter):
    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__(gm)
        self.values: dict[fx.Node, Value] = {}

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        if isinstance(out, torch.Tensor):
            self.values[n] = Value(True, tuple(out.shape), out.dtype, "Tensor")
        else:
            simple = out if isinstance(out, (int, float, bool, str)) else None
            self.values[n] = Value(False, kind=type(out).__name__, value=simple)
        return out


def record_values(gm: fx.GraphModule, inputs: tuple[torch.Tensor, ...],
                  other: tuple[torch.Tensor, ...]) -> dict[fx.Node, Value]:
    """Run the traced module on `inputs` and note what every node produced; a second run
    on `other` (a different batch size) tells which tensors carry the batch first.

    Raises whatever the model raises; the caller words it.
    """
    first, second = _Recorder(gm), _Recorder(gm)
    with torch.no_grad():
        first.run(*inputs)
        second.run(*other)
    batch, other_batch = inputs[0].shape[0], other[0].shape[0]
    out = {}
    for node, value in first.values.items():
        again = second.values.get(node)
        batched = (value.is_tensor and value.rank >= 1 and value.shape[0] == batch
                   and again is not None and again.rank >= 1 and again.shape[0] == other_batch)
        steady = (not value.is_tensor and value.value is not None and again is not None
                  and again.value == value.value)
        out[node] = replace(value, batched=batched, steady=steady)
    return out


def example_inputs(shapes: list[tuple[int, ...]], dtypes: list[str], batch: int,
                   token_limit: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """A seeded batch per input: normal floats, or token ids below `token_limit`."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for shape, dtype in zip(shapes, dtypes):
        if dtype == "int64":
            out.append(torch.randint(0, max(1, token_limit), (batch, *shape), generator=gen))
        else:
            out.append(torch.randn((batch, *shape), generator=gen))
    return tuple(out)


def token_limit(root: nn.Module) -> int:
    """Token ids below every embedding table's size, so int inputs are valid anywhere."""
    sizes = [m.num_embeddings for m in root.modules() if isinstance(m, nn.Embedding)]
    return min(sizes) if sizes else 2
