"""Dense layers and plumbing: Linear, Flatten, Unflatten, and the Dropout family."""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..params import Bool, Float, Int, Shape
from .base import Block, BlockCheckError, Port, SampleShape, TensorSpec, register


@register
class LinearBlock(Block):
    type_name = "Linear"
    category = "Core"
    doc = ("Fully connected layer on the last dimension: [N, features] or, per token, "
           "[N, L, features]. Images need a Flatten first.")
    inputs = (Port("in", ranks=(2, 3), layout="a flat [N, features] (or [N, L, features])"),)
    params = {
        "out_features": Int(10, "Number of output features (classes, for the last layer; "
                            '"vocab": one per token of the text data, for a language model).',
                            min=1, max=1 << 20, vocab=True),
        "bias": Bool(True, "Learn an additive bias."),
    }
    module = "torch.nn.Linear"

    def inferred(self, input_shapes: Sequence[SampleShape]) -> dict[str, Any]:
        return {"in_features": input_shapes[0][-1]}


@register
class FlattenBlock(Block):
    type_name = "Flatten"
    category = "Core"
    module = "torch.nn.Flatten"
    doc = "Merge dimensions into one, e.g. [N, 64, 5, 5] into [N, 1600] before a Linear."
    inputs = (Port("in", ranks=tuple(range(2, 8)), layout="[N, ...]"),)
    params = {
        "start_dim": Int(1, "First dimension to merge (0 is the batch, so at least 1).",
                         min=1),
        "end_dim": Int(-1, "Last dimension to merge; -1 is the last.", min=-8, max=8),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        rank = len(inputs[0].shape) + 1
        start, end = params["start_dim"], params["end_dim"]
        end = end + rank if end < 0 else end
        if start >= rank or not start <= end < rank:
            raise BlockCheckError(
                f"start_dim={params['start_dim']} and end_dim={params['end_dim']} do not fit a "
                f"{rank}-D input {inputs[0].show()}: use dims between 1 and {rank - 1}")


@register
class UnflattenBlock(Block):
    type_name = "Unflatten"
    category = "Core"
    module = "torch.nn.Unflatten"
    doc = ("Split one dimension into several, e.g. [N, 784] into [N, 1, 28, 28] at the end of "
           "a generator.")
    inputs = (Port("in", ranks=tuple(range(2, 8)), layout="[N, ...]"),)
    params = {
        "dim": Int(1, "Dimension to split (0 is the batch, so at least 1; -1 is the last).",
                   min=-7, max=7),
        "unflattened_size": Shape([1, 28, 28], "The sizes it splits into; their product must be "
                                  "that dimension's size."),
    }

    def check(self, params: dict[str, Any], inputs: Sequence[TensorSpec]) -> None:
        shape = inputs[0].shape
        rank = len(shape) + 1
        dim = params["dim"] + rank if params["dim"] < 0 else params["dim"]
        if not 1 <= dim < rank:
            raise BlockCheckError(f"dim={params['dim']} does not fit a {rank}-D input "
                                  f"{inputs[0].show()}: use a dim between 1 and {rank - 1}")
        sizes = tuple(params["unflattened_size"])
        have = shape[dim - 1]
        if math.prod(sizes) != have:
            shown = "[" + ", ".join(map(str, sizes)) + "]"
            raise BlockCheckError(
                f"unflattened_size {shown} holds {math.prod(sizes)} values but dimension {dim} "
                f"of the input {inputs[0].show()} has {have}: make their product {have}")


@register
class DropoutBlock(Block):
    type_name = "Dropout"
    category = "Core"
    doc = "Zero a random fraction p of values while training; a no-op when evaluating."
    inputs = (Port("in", layout="any float tensor"),)
    module = "torch.nn.Dropout"
    params = {"p": Float(0.5, "Fraction of values dropped.", min=0.0, max=1.0, max_open=True)}


def _channel_p() -> dict[str, Any]:
    return {"p": Float(0.5, "Fraction of channels dropped.", min=0.0, max=1.0, max_open=True)}


@register
class Dropout1dBlock(Block):
    type_name = "Dropout1d"
    category = "Core"
    doc = ("Zero whole channels of [N, C, L] at random while training (neighbouring steps "
           "are correlated, so single values would leak through).")
    # Only 3-D: torch would read a 2-D [N, C] as one unbatched [C, L] and drop whole samples.
    inputs = (Port("in", ranks=(3,), layout="[N, C, L]"),)
    module = "torch.nn.Dropout1d"
    params = _channel_p()


@register
class Dropout2dBlock(Block):
    type_name = "Dropout2d"
    category = "Core"
    doc = "Zero whole channels (feature maps) of [N, C, H, W] at random while training."
    inputs = (Port("in", ranks=(4,), layout="[N, C, H, W]"),)
    module = "torch.nn.Dropout2d"
    params = _channel_p()


@register
class AlphaDropoutBlock(Block):
    type_name = "AlphaDropout"
    category = "Core"
    doc = ("Dropout that keeps the mean and variance of its input, for networks built on "
           "SELU; a no-op when evaluating.")
    inputs = (Port("in", layout="any float tensor"),)
    module = "torch.nn.AlphaDropout"
    params = {"p": Float(0.5, "Fraction of values dropped.", min=0.0, max=1.0, max_open=True)}
