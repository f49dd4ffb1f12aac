"""One Input or several: the few steps that differ, in one place.

A model with one Input takes a tensor; a model with several takes an `data.inputs.Inputs`
(one tensor per Input node id, in the order of the compiled module's placeholders, see
`compile.input_order`). The run loop, the tasks, the probes and Evaluate move, normalise
and feed samples through these helpers and never ask how many Inputs a model has.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..data.inputs import Inputs

#: A batch of samples for the model: one tensor, or one per Input.
Samples = Any


def call(model: nn.Module, x: Samples) -> Any:
    """The model's output on `x`: several Inputs are passed positionally, in placeholder
    order (the order `Inputs` holds them in)."""
    if isinstance(x, Inputs):
        return model(*x.values())
    return model(x)


def place(x: Samples, norm: Any, device: torch.device | str,
          channels_last: bool = False) -> Samples:
    """Raw samples -> what the model trains on: on `device`, normalised with the training
    split's statistics (float inputs only), image batches in channels-last layout if asked."""
    x = x.to(device)
    if norm is not None and (isinstance(x, Inputs) or x.is_floating_point()):
        x = norm.apply(x)
    if channels_last:
        x = x.channels_last() if isinstance(x, Inputs) else \
            x.contiguous(memory_format=torch.channels_last)
    return x


def has_image_input(data: Any) -> bool:
    """Whether some Input takes images [C, H, W] (channels-last may pay off)."""
    if data.several:
        return any(len(shape) == 3 for shape in data.input_shapes.values())
    return len(data.input_shape) == 3


def count(x: Samples) -> int:
    """How many samples `x` holds."""
    return len(x) if isinstance(x, Inputs) else int(x.shape[0])
