"""Regression: numbers per sample (a price, a position), scored by MSE, L1 or Huber.

One target may come out as [N] or [N, 1]; K targets as [N, K]. Validation reports the mean
absolute error and R² (1 - residual / total sum of squares, per target, averaged over the
targets as scikit-learn's default does).
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
#: The loss functions by the names `training.loss` takes (see `project.TASKS`).
LOSSES = {"mse": "mse_loss", "l1": "l1_loss", "huber": "huber_loss"}


class Regress(SupervisedTask):
    name = "regress"
    title = "Regression"
    template = "waves_regression.json"
    summary = "Numbers per sample (a price, a position): MSE, L1 or Huber; MAE and R²."
    metric_columns = ("epoch", "train_loss", "val_loss", "val_mae", "val_r2", "seconds",
                      "samples_per_s")
    charts = (Chart("Loss", ("loss",), ("val_loss",)),
              Chart("Validation MAE", epoch=("val_mae",)),
              Chart("Validation R²", epoch=("val_r2",)))
    headline = (("val_r2", "validation R²"), ("val_mae", "validation MAE"))
    views = ("scatter",)
    targets = "regression"

    def output_problem(self, analysis: "Analysis", facts: Any) -> str | None:
        out, node = analysis.output_spec, analysis.output
        target = facts.target_shape or (1,)
        if out.shape == target or (target == (1,) and out.shape == ()):
            return None
        return (f"the model outputs {out.show()} but the targets are {shown(target)}: make "
                f"{node} output {list(target)}")

    def targets_to_device(self, y: torch.Tensor) -> torch.Tensor:
        return y.float().reshape(len(y), -1)

    def loss(self, loop: Any, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return getattr(F, LOSSES[loop.config.loss])(out.float().reshape(y.shape), y)

    def target_max(self, loop: Any) -> float | None:
        y = loop._y_train
        return float(y.abs().max()) if y is not None and y.numel() else None

    def val_begin(self, loop: Any) -> dict[str, torch.Tensor]:
        k = int(loop._y_val.shape[1]) if loop._y_val.dim() == 2 else 1
        zeros = lambda: torch.zeros(k, device=loop.device, dtype=torch.float64)  # noqa: E731
        return {"abs": zeros(), "sq": zeros(), "y": zeros(), "y2": zeros()}

    def val_batch(self, loop: Any, sums: dict[str, torch.Tensor], out: torch.Tensor,
                  y: torch.Tensor) -> None:
        pred = out.double().reshape(y.shape)
        y = y.double()
        error = pred - y
        sums["abs"] += error.abs().sum(0)
        sums["sq"] += (error * error).sum(0)
        sums["y"] += y.sum(0)
        sums["y2"] += (y * y).sum(0)

    def val_metrics(self, loop: Any, sums: dict[str, torch.Tensor], n: int) -> dict[str, Any]:
        total = sums["y2"] - sums["y"] * sums["y"] / n  # sum of (y - mean)^2, per target
        r2 = torch.where(total > 0, 1 - sums["sq"] / total.clamp_min(1e-300),
                         torch.zeros_like(total))
        return {"val_mae": float(sums["abs"].mean()) / n, "val_r2": float(r2.mean())}


    def evaluate(self, trained: Any, data: Any) -> Any:
        from ..probe.evaluations import regression

        return regression(trained, data)

TASK = Regress
