"""Classification: one class per sample, scored by cross-entropy (the default task)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lazy import lazy_module
from ..train.task_api import Stat
from .base import Chart
from .supervised import SupervisedTask

if TYPE_CHECKING:
    from ..shapes import Analysis

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")


class Classify(SupervisedTask):
    name = "classify"
    title = "Classification"
    template = "mlp_digits.json"
    summary = "One class per sample (digits, shapes, reviews): cross-entropy, accuracy."
    stats = (Stat("loss"), Stat("correct", kind="count"))
    metric_columns = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds",
                      "samples_per_s")
    charts = (Chart("Loss", ("loss",), ("val_loss",)),
              Chart("Accuracy", ("accuracy",), ("val_acc",), percent=True))
    headline = (("val_acc", "validation accuracy"),)
    views = ("confusion", "saliency")
    targets = "classification"

    def output_problem(self, analysis: "Analysis", facts: Any) -> str | None:
        out, node = analysis.output_spec, analysis.output
        if facts.kind != "classification":
            return ('the targets are numbers, not classes: set "task": "regress" (the '
                    "Training tab's task chooser), or give class labels")
        if len(out.shape) != 1:
            hint = next((w.message.split(": ", 1)[-1] for w in analysis.nodes[node].errors
                         if w.severity == "warning"), "end the model with a Linear layer")
            return (f"the model outputs {out.show()} per batch, but classification needs "
                    f"[N, classes]: {hint}")
        if out.shape[0] < facts.num_classes:
            return (f"the model outputs {out.shape[0]} scores per sample but the data has "
                    f"{facts.num_classes} classes: set {node}'s out_features to "
                    f"{facts.num_classes}")
        return None

    def describe_start(self, project: Any, data: dict[str, Any], device: Any) -> str:
        return super().describe_start(project, data, device) + f", {len(data['classes'])} classes"

    def loss(self, loop: Any, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y.dim() == 2 and y.shape[1] < out.shape[-1]:  # mixup's soft targets, fewer classes
            y = F.pad(y, (0, out.shape[-1] - y.shape[1]))
        return F.cross_entropy(out.float(), y)

    def record(self, row: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        if y.dim() == 2:  # mixup or cutmix: a hit is the label that weighs most
            y = y.argmax(-1)
        row[1] = (out.argmax(-1) == y).sum()

    def val_begin(self, loop: Any) -> dict[str, torch.Tensor]:
        return {"correct": torch.zeros((), device=loop.device, dtype=torch.int64)}

    def val_batch(self, loop: Any, sums: dict[str, torch.Tensor], out: torch.Tensor,
                  y: torch.Tensor) -> None:
        sums["correct"] += (out.argmax(-1) == y).sum()

    def val_metrics(self, loop: Any, sums: dict[str, torch.Tensor], n: int) -> dict[str, Any]:
        return {"val_acc": int(sums["correct"]) / n}


    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.predictions import predict

        return predict(trained, data)

TASK = Classify
