"""The Input block: where a sample enters the model. It compiles to an fx placeholder."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..params import Choice, Shape
from .base import Block, BlockCheckError, TensorSpec, register

#: One sample above this many values is a typo, not a model: 2**31 float32 values are 8 GiB
#: per sample, and torch's own error for it speaks of storage sizes at the first layer.
MAX_SAMPLE_VALUES = 2**31


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

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        values = math.prod(params["shape"])
        if values > MAX_SAMPLE_VALUES:
            raise BlockCheckError(f"shape {list(params['shape'])} is {values:.3g} values per "
                                  f"sample; an input holds at most {MAX_SAMPLE_VALUES:,}")

    def output_spec(self, params: dict[str, Any]) -> TensorSpec:
        return TensorSpec(tuple(params["shape"]), params["dtype"])
