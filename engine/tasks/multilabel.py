"""Multi-label classification: any number of labels per sample (the tags of a photo), each
a yes/no decided by its own logit.

The output is [N, K] logits, one per label; the loss is binary cross-entropy on them. A
label counts as predicted where its logit is above 0 (a probability above 0.5). Validation
reports the micro-averaged F1 (true positives, false positives and false negatives summed
over every label of every sample) and the exact-match ratio (samples with every label
right).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import lazy_module
from .base import Chart, shown
from .supervised import SupervisedTask

if TYPE_CHECKING:
    from ..shapes import Analysis

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


class Multilabel(SupervisedTask):
    name = "multilabel"
    title = "Multi-label classification"
    template = "shape_tags_cnn.json"
    summary = "Any number of labels per sample (the tags of an image): BCE, F1, exact match."
    metric_columns = ("epoch", "train_loss", "val_loss", "val_f1", "val_exact", "seconds",
                      "samples_per_s")
    charts = (Chart("Loss", ("loss",), ("val_loss",)),
              Chart("Validation F1 and exact match", epoch=("val_f1", "val_exact"),
                    percent=True))
    headline = (("val_f1", "validation F1"), ("val_exact", "exact match"))
    views = ("labels",)
    targets = "multilabel"
    export_formats = ("python", "onnx", "pt2", "safetensors")

    def output_problem(self, analysis: "Analysis", facts: Any) -> str | None:
        out, node = analysis.output_spec, analysis.output
        labels = facts.target_shape[0] if facts.target_shape else 1
        if out.shape == (labels,):
            return None
        fix = (f"set {node}'s out_features to {labels}" if len(out.shape) == 1
               else f"end the model with a Linear of {labels} out_features")
        return (f"multilabel: the output of {node} is {out.show()} but the data has {labels} "
                f"labels per sample ({shown((labels,))}): {fix}")

    def loss(self, loop: Any, out: Any, y: Any) -> Any:
        return F.binary_cross_entropy_with_logits(out.float(), y)

    def val_begin(self, loop: Any) -> dict[str, Any]:
        zero = lambda: torch.zeros((), device=loop.device, dtype=torch.float64)  # noqa: E731
        return {"tp": zero(), "fp": zero(), "fn": zero(), "exact": zero()}

    def val_batch(self, loop: Any, sums: dict[str, Any], out: Any, y: Any) -> None:
        pred, truth = out > 0, y > 0.5
        sums["tp"] += (pred & truth).sum()
        sums["fp"] += (pred & ~truth).sum()
        sums["fn"] += (~pred & truth).sum()
        sums["exact"] += (pred == truth).all(1).sum()

    def val_metrics(self, loop: Any, sums: dict[str, Any], n: int) -> dict[str, Any]:
        tp, fp, fn, exact = (float(sums[k]) for k in ("tp", "fp", "fn", "exact"))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
        return {"val_f1": f1, "val_exact": exact / n}


    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.evaluations import labels

        return labels(trained, data)

TASK = Multilabel
