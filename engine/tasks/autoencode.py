"""Autoencoders: a model that reproduces its input through a narrow middle, so the middle
learns a compact code for the data. The input is the target; a ``y`` in the data is
ignored.

The output has the input's shape. The loss is MSE, or with ``bce`` binary cross-entropy on
the output taken as logits (for data in [0, 1], such as pixel intensities: the
reconstruction is then sigmoid(output)). Inputs are not normalised: the model reproduces
the data in its own units. Validation reports the loss.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..lazy import lazy_module
from .base import Chart, shown
from .supervised import SupervisedTask

if TYPE_CHECKING:
    from ..shapes import Analysis

F = lazy_module("torch.nn.functional")


class Autoencode(SupervisedTask):
    vector_output = False
    name = "autoencode"
    title = "Autoencoder"
    template = "mnist_autoencoder.json"
    summary = "Reproduce the input through a bottleneck (a compact code): MSE or BCE."
    charts = (Chart("Loss", ("loss",), ("val_loss",)),)
    headline = (("val_loss", "validation loss"),)
    views = ("reconstructions",)
    targets = "none"
    normalizes = False
    export_formats = ("python", "onnx", "pt2", "safetensors")
    single_input_only = "reproduces its one input, so it takes a model with one Input"

    def output_problem(self, analysis: "Analysis", facts: Any) -> str | None:
        out, node = analysis.output_spec, analysis.output
        want = tuple(facts.input_shape)
        if out.shape == want:
            return None
        fix = (f"end the model with an Unflatten to {list(want)}"
               if len(out.shape) == 1 and len(want) > 1 else f"make {node} output {list(want)}")
        return (f"autoencode: the output of {node} is {out.show()} but the inputs are "
                f"{shown(want)}, and an autoencoder reproduces its input: {fix}")

    def load_split(self, project: Any, config: Any, tokenizer: Any = None) -> Any:
        split, notes, analysis = super().load_split(project, config, tokenizer)
        x = split.full.x
        if config.loss == "bce" and x is not None and x.is_floating_point() and len(x):
            low, high = float(x.min()), float(x.max())
            if low < 0 or high > 1:
                raise DataError(f"autoencode: the loss bce reproduces values in [0, 1], and "
                                f"the data ranges from {low:g} to {high:g}: use the loss mse")
        return split, notes, analysis

    def target(self, x: Any, y: Any) -> Any:
        return x

    def loss(self, loop: Any, out: Any, y: Any) -> Any:
        if loop.config.loss == "bce":
            return F.binary_cross_entropy_with_logits(out.float(), y.float())
        return F.mse_loss(out.float(), y.float())

    def reconstruct(self, out: Any, loss: str) -> Any:
        """The reconstruction a person looks at: the output, or sigmoid(output) for bce."""
        return out.sigmoid() if loss == "bce" else out


    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.evaluations import reconstructions
        from ..train.config import TrainConfig

        return reconstructions(trained, data, TrainConfig.from_project(trained.project).loss)

TASK = Autoencode
