"""The Input block: where a sample enters the model. It compiles to an fx placeholder."""

from __future__ import annotations

from typing import Any

from ..params import Choice, Shape
from .base import Block, TensorSpec, register


@register
class InputBlock(Block):
    type_name = "Input"
    category = "Input"
    doc = ("A model input. Its shape leaves out the batch dimension: [1, 28, 28] for MNIST, "
           "[64] for 64 token ids.")
    inputs = ()
    is_input = True
    params = {
        "shape": Shape([1, 28, 28], "Shape of one sample, without the batch dimension."),
        "dtype": Choice("float32", "float32 for images and features, int64 for token ids.",
                        choices=("float32", "int64")),
    }

    def output_spec(self, params: dict[str, Any]) -> TensorSpec:
        return TensorSpec(tuple(params["shape"]), params["dtype"])
