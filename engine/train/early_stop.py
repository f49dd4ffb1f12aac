"""Early stopping: end the run when a metric has not improved for `patience` epochs.

``"early_stopping": {"metric": "val_loss", "mode": "min", "patience": 3, "min_delta": 0.0}``
in the training settings; ``{}`` (the default) is off. The decision is made from the run's
epoch history alone, with no state of its own, so a resumed run decides exactly as an
uninterrupted one would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import TrainingError
from .callbacks import EpochReport

KEYS = ("metric", "mode", "patience", "min_delta")
#: Metric names that grow as the model gets better (accuracies, R², F1, mIoU, a
#: multi-label's exact-match ratio); all others (losses, errors, perplexity) shrink.
_HIGHER_IS_BETTER = ("acc", "r2", "f1", "miou", "exact")


#: The settings each value of ``keep`` reads (the settings panel shows only these); here,
#: with the ranking of metrics both settings share, in a module that does not import torch.
KEEP_SETTINGS: dict[str, tuple[str, ...]] = {"best": ("keep_metric",)}


def metric_mode(metric: str) -> str:
    """Whether a metric is best at its "max" (it grows as the model improves) or "min": the
    default mode of early stopping, and how ``keep: best`` picks its epoch."""
    name = metric.split("/", 1)[0]  # a head's metric (val_acc/<node>) ranks as its task's
    return "max" if name.endswith(_HIGHER_IS_BETTER) else "min"


def reported_metrics(columns: Sequence[str]) -> list[str]:
    """The metrics a task's columns hold that rank a model (not the epoch or the timing)."""
    return [m for m in columns if m not in ("epoch", "seconds", "samples_per_s")]


@dataclass(frozen=True)
class EarlyStopping:
    metric: str = "val_loss"
    mode: str = "min"
    patience: int = 3
    min_delta: float = 0.0

    @classmethod
    def from_setting(cls, spec: dict[str, Any], metrics: Sequence[str]
                     ) -> "EarlyStopping | None":
        """The setting checked against the metrics the task reports; None when off.
        Raises `TrainingError` naming the key that is wrong."""
        if not spec:
            return None
        unknown = sorted(set(spec) - set(KEYS))
        if unknown:
            raise _bad(f"has no key {unknown[0]!r} (it takes {', '.join(KEYS)})")
        metric = spec.get("metric", "val_loss")
        reported = reported_metrics(metrics)
        if metric not in reported:
            raise _bad(f"metric {metric!r} is not one this task reports; it reports "
                       f"{', '.join(reported)}")
        mode = spec.get("mode", metric_mode(metric))
        if mode not in ("min", "max"):
            raise _bad(f"mode must be 'min' or 'max', got {mode!r}")
        patience = spec.get("patience", 3)
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
            raise _bad(f"patience must be a whole number of epochs, 1 or more, got {patience!r}")
        delta = spec.get("min_delta", 0.0)
        if not isinstance(delta, (int, float)) or isinstance(delta, bool) or delta < 0 \
                or not math.isfinite(delta):
            raise _bad(f"min_delta must be a number, 0 or more, got {delta!r}")
        return cls(metric, mode, patience, float(delta))

    def verdict(self, history: Sequence[EpochReport]) -> dict[str, Any] | None:
        """Why the run stops after the last epoch of `history`, or None to go on."""
        values = [e.metrics().get(self.metric) for e in history]
        best_at, best = None, None
        for i, value in enumerate(values):
            if value is None or not math.isfinite(value):
                continue
            if best is None or (value < best - self.min_delta if self.mode == "min"
                                else value > best + self.min_delta):
                best_at, best = i, value
        if best_at is None or len(history) - 1 - best_at < self.patience:
            return None
        return {"epoch": history[-1].epoch, "metric": self.metric, "best": best,
                "best_epoch": history[best_at].epoch, "patience": self.patience}


def describe(verdict: dict[str, Any]) -> str:
    """One sentence for the CLI, the GUI and run.json."""
    return (f"stopped early after epoch {verdict['epoch']}: {verdict['metric']} has not "
            f"improved for {verdict['patience']} epoch{'s' * (verdict['patience'] != 1)} "
            f"(best {verdict['best']:.4g} at epoch {verdict['best_epoch']})")


def _bad(what: str) -> TrainingError:
    return TrainingError(f"training setting early_stopping: {what}", kind="config")
