"""What the run loop reports, and the callback interface it reports through.

Callbacks run on the training thread. They must return quickly: the GUI's callback only
emits a Qt signal, the command line's only moves a progress bar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TrainingError

#: Columns of metrics.csv, in order (a contract: people plot these files).
METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds",
                  "samples_per_s")


@dataclass(frozen=True)
class BatchReport:
    """Sent every `report_interval` seconds (and at each epoch's end), not every batch.

    `loss` is the mean over the steps since the previous report; `running_loss` and
    `accuracy` cover the epoch so far. Epochs count from 1, steps from 1.
    """

    epoch: int
    epochs: int
    step: int
    step_in_epoch: int
    steps_per_epoch: int
    total_steps: int
    loss: float
    running_loss: float
    accuracy: float | None
    samples_per_s: float
    lr: float
    #: The task's own numbers; empty for a classifier. A GAN's are listed in
    #: `engine.tasks.gan` (d_loss, g_loss, d_real_acc, d_fake_acc...).
    extra: dict[str, Any] = field(default_factory=dict)
    #: The accuracy of the batches since the previous report alone (`accuracy` is the
    #: epoch's so far, which starts over each epoch): what a per-batch curve draws.
    batch_accuracy: float | None = None


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    train_loss: float
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    seconds: float
    samples_per_s: float
    step: int = 0
    lr: float = 0.0
    #: The task's own numbers: a regression's val_mae and val_r2, a GAN's d_loss, g_loss,
    #: the discriminator's accuracies, the diversity check and the sample grid's path.
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self, columns: tuple[str, ...] = METRIC_COLUMNS) -> dict[str, Any]:
        """One metrics.csv row: each column from a field of the report or from `extra`."""
        return {k: getattr(self, k) if k in _FIELDS else self.extra.get(k) for k in columns}

    def metrics(self) -> dict[str, Any]:
        """Every number of the epoch by its metric name (the fields, then `extra`), as
        ``--metrics-json`` writes it."""
        out = {k: getattr(self, k) for k in ("epoch", "train_loss", "train_acc", "val_loss",
                                              "val_acc", "samples_per_s")}
        out.update(self.extra)
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_FIELDS = frozenset(EpochReport.__dataclass_fields__)


@dataclass
class TrainResult:
    status: str  # "finished", "stopped" or "failed"
    epochs: list[EpochReport] = field(default_factory=list)
    step: int = 0
    device: str = "cpu"
    run_dir: Path | None = None
    error: TrainingError | None = None
    reinitialized: list[str] = field(default_factory=list)
    #: (epoch, step) of the last complete checkpoint in `run_dir`, None if it has none. A
    #: failed run writes none of its own, so this is what a person still has.
    checkpoint: tuple[int, int] | None = None
    #: why a finished run ended before its last epoch (see `train.early_stop`), else None
    early_stop: dict[str, Any] | None = None

    @property
    def final(self) -> EpochReport | None:
        return self.epochs[-1] if self.epochs else None

    def metrics_json(self, task: str) -> dict[str, Any]:
        """What ``torchloom train --metrics-json`` writes (a public contract, docs/cli.md);
        the Python API's `Run` gives the same keys."""
        return {"task": task, "epochs": [e.metrics() for e in self.epochs],
                "device": self.device, "status": self.status,
                "run_dir": str(self.run_dir) if self.run_dir else None,
                "error": self.error.message if self.error else None,
                "reinitialized": self.reinitialized}


class Callback:
    """Override what you need; every method defaults to doing nothing."""

    def on_train_begin(self, info: dict[str, Any]) -> None:
        """`info` holds the device, step counts, data sizes and where the run is saved."""

    def on_batch_end(self, report: BatchReport) -> None:
        pass

    def on_epoch_end(self, report: EpochReport) -> None:
        pass

    def on_finished(self, result: TrainResult) -> None:
        """The run ended normally, or was stopped (`result.status` says which)."""

    def on_failed(self, error: TrainingError) -> None:
        pass

    def on_probe(self, result: Any) -> None:
        """A live probe (`probe.ProbeResult`, on the CPU) taken every `probe_every` steps."""

    def on_stats(self, capture: dict[str, Any]) -> None:
        """Per-layer weight and gradient statistics (`layer_stats`: one stats.jsonl line),
        every `stats_every` steps and at each epoch's end."""


class StopWhen(Callback):
    """Stop the run cooperatively after the epoch where `judge(report)` first says so.

    A sweep's pruner is one such judge (`engine.sweep.run`): the run loop stays free of
    Optuna, and the stopped run keeps its checkpoint like any run stopped by hand.
    `attach` gives it the run to stop (the `RunLoop`, built after the callbacks)."""

    def __init__(self, judge: Any) -> None:
        self.judge = judge
        self.trainer: Any = None
        #: the epoch after which it asked the run to stop, None while it has not
        self.stopped_after: int | None = None

    def attach(self, trainer: Any) -> None:
        self.trainer = trainer

    def on_epoch_end(self, report: EpochReport) -> None:
        if self.stopped_after is None and self.judge(report):
            self.stopped_after = report.epoch
            if self.trainer is not None:
                self.trainer.stop()
