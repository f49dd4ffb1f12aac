"""The best epoch's weights (``"keep": "best"``), and which weights a run folder lends out.

A run that keeps its best writes, after each epoch whose `keep_metric` beats every earlier
epoch's, ``best/model.safetensors`` and then ``best/checkpoint.json`` (that epoch, step,
metric and value, and the weights' size and sha256), each atomically: a crash between the
two leaves a record that does not match the weights, which loading refuses. Which epoch is
best follows from the epoch history alone, so a resumed run picks as an uninterrupted one.

Everything that uses a trained run (export, probe, Evaluate, generate, sample) loads its
weights through `load_run_weights`, which takes the best ones where the run kept them and
says which it took. Resume never does: it continues the last checkpoint (`run`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import TrainingError
from . import checkpoint as ckpt
from .callbacks import EpochReport
from .early_stop import metric_mode, reported_metrics
from .runfiles import BEST_DIR, CHECKPOINT_FILE, MODEL_FILE


@dataclass(frozen=True)
class KeepBest:
    """Which metric picks the best epoch, and whether lower or higher is better."""

    metric: str
    mode: str

    @classmethod
    def from_config(cls, config: Any, columns: Sequence[str]) -> "KeepBest | None":
        """None for ``keep: last``. A metric the task does not report is a `TrainingError`
        listing those it does, raised before the first step."""
        if config.keep != "best":
            return None
        reported = reported_metrics(columns)
        if config.keep_metric not in reported:
            raise TrainingError(f"training setting keep_metric: {config.keep_metric!r} is not "
                                f"one this task reports; it reports {', '.join(reported)}",
                                kind="config")
        return cls(config.keep_metric, metric_mode(config.keep_metric))

    def improved(self, history: Sequence[EpochReport]) -> float | None:
        """The last epoch's value when it beats every earlier epoch's, else None."""
        values = [_number(e.metrics().get(self.metric)) for e in history]
        last = values[-1] if values else None
        if last is None:
            return None
        earlier = [v for v in values[:-1] if v is not None]
        if not earlier:
            return last
        return last if (last < min(earlier) if self.mode == "min" else last > max(earlier)) \
            else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        return None
    return float(value)


def save_best(run_dir: Path, model: nn.Module, node_ids: dict[str, str], *, epoch: int,
              step: int, metric: str, value: float) -> dict[str, Any]:
    """Write ``best/``: the weights, then the record naming them. Returns the record (what
    run.json says under ``best``)."""
    folder = run_dir / BEST_DIR
    folder.mkdir(exist_ok=True)
    record = {"epoch": int(epoch), "step": int(step), "metric": metric, "value": float(value)}
    files = {MODEL_FILE: ckpt.save_weights(model, folder / MODEL_FILE, node_ids, step=step)}
    ckpt.write_json(folder / CHECKPOINT_FILE, {"format": ckpt.CHECKPOINT_FORMAT, "version": 1,
                                               **record, "files": files})
    return record


def read_best(run_dir: Path) -> dict[str, Any] | None:
    """The run's best record (epoch, step, metric, value), or None when it kept none.
    Raises `CheckpointError` for a record that is damaged."""
    marker = run_dir / BEST_DIR / CHECKPOINT_FILE
    if not marker.exists() and not (run_dir / BEST_DIR / MODEL_FILE).exists():
        return None
    record = ckpt.read_marker(marker)
    if not isinstance(record.get("metric"), str) or _number(record.get("value")) is None:
        raise ckpt.CheckpointError(f"{marker}: not a record of the best weights")
    return {k: record[k] for k in ("epoch", "step", "metric", "value")}


@dataclass(frozen=True)
class RunWeights:
    """A run's weights as a user of the run gets them, and which they are."""

    tensors: dict[str, torch.Tensor]
    file: Path
    #: the best record when these are the best weights; None for the last ones
    best: dict[str, Any] | None = None
    #: the last checkpoint's step, when these are the last weights and it is known
    step: int | None = None
    #: why best/ was there and not used (damaged), for the person to hear
    note: str | None = None

    def describe(self) -> str:
        """``the best weights (epoch 3, val_loss 0.2134)`` or ``the last weights (step
        480)``: what the CLI prints after "using" and the Evaluate tab shows."""
        if self.best is not None:
            return (f"the best weights (epoch {self.best['epoch']}, {self.best['metric']} "
                    f"{self.best['value']:.4g})")
        shown = f" (step {self.step})" if self.step is not None else ""
        return f"the last weights{shown}" + (f"; {self.note}" if self.note else "")


def load_run_weights(run_dir: Path) -> RunWeights:
    """The best weights where the run kept them (``best/``, checked against its record),
    else the last checkpoint's. A damaged ``best/`` falls back to the last weights and says
    so; a damaged last checkpoint is a `CheckpointError` as `load_weights` raises it."""
    run_dir = Path(run_dir)
    note = None
    try:
        best = read_best(run_dir)
        if best is not None:
            file = run_dir / BEST_DIR / MODEL_FILE
            return RunWeights(ckpt.load_weights(file), file, best=best)
    except ckpt.CheckpointError as exc:
        note = f"the best weights in {BEST_DIR}/ cannot be used ({exc.message})"
    file = run_dir / MODEL_FILE
    tensors = ckpt.load_weights(file)
    step = ckpt.written_step(file)
    return RunWeights(tensors, file, step=step, note=note)
