"""What the run loop keeps in its run folder and reads back from it: the checkpoint (weights,
trainer state, metrics.csv), run.json, and `restore`.

A checkpoint is written only with weights that are all finite (`_check_weights`), so a run
that diverges keeps its last good checkpoint; and run.json names the checkpoint the folder
holds, so after a failure a person (and the GUI) can tell what is left.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.dataset import Split
from ..errors import TrainingError
from . import checkpoint as ckpt
from . import faults
from .best import KeepBest, save_best
from .callbacks import EpochReport
from .config import TrainConfig
from .task_api import TaskHooks

STATE_FORMAT = ckpt.STATE_FORMAT


class LoopState:
    """The run loop's saving and restoring half (a mixin: `RunLoop` has the attributes)."""

    task: TaskHooks
    model: nn.Module
    split: Split
    config: TrainConfig
    device: torch.device
    run_dir: Path | None
    node_ids: dict[str, str]
    run_info: dict[str, Any]
    data_info: dict[str, Any] | None
    history: list[EpochReport]
    epoch: int
    step_in_epoch: int
    step: int
    total_steps: int
    optimizers: dict[str, torch.optim.Optimizer]
    scaler: Any
    _carry: dict[str, Any]
    _optimizer_state: Any
    _scaler_state: dict[str, Any] | None
    _rng: dict[str, Any] | None
    _phase: str
    _saved: tuple[int, int] | None
    keep_best: KeepBest | None

    def restore(self, state: dict[str, Any]) -> None:
        """Continue a checkpoint: counters, optimizer and RNG state from `state.pt`."""
        if state.get("format") != STATE_FORMAT:
            raise TrainingError("the run folder's state.pt is not a Torchloom trainer state",
                                kind="config")
        self.task.check_state(state)
        self.epoch, self.step_in_epoch, self.step = (int(state["epoch"]),
                                                     int(state["step_in_epoch"]),
                                                     int(state["step"]))
        carry = self._fresh_carry()  # type: ignore[attr-defined]
        carry.update(state["carry"])
        self._carry = carry
        self._optimizer_state = state["optimizer"]
        self._scaler_state = state.get("scaler")
        self._rng = state["rng"]
        self.history = [EpochReport(**row) for row in state.get("history", [])]

    def _stopped(self) -> str:
        """Checkpoint where the run stands. Stopped in validation, the epoch's training is
        all in the checkpoint (step_in_epoch is the epoch's length) and its metrics row is
        not: a resume validates, then writes the row."""
        self._save(epoch_end=False)
        self._write_run_info("stopped")
        return "stopped"

    def state_dict(self) -> dict[str, Any]:
        """The trainer state as saved in state.pt; only tensors and plain data, so it loads
        with ``weights_only=True``. One optimizer is saved as its own state dict, several
        (a GAN's) by name."""
        rng: dict[str, Any] = {"cpu": torch.get_rng_state(), "cuda": None}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        optimizers = {name: opt.state_dict() for name, opt in self.optimizers.items()}
        state = {"format": STATE_FORMAT, "version": 1, "task": self.task.name,
                 "epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "step": self.step,
                 "optimizer": optimizers[""] if list(optimizers) == [""] else optimizers,
                 "scheduler": {"kind": self.config.schedule, "total_steps": self.total_steps},
                 "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                 "rng": rng, "carry": dict(self._carry), "config": self.config.to_json(),
                 "history": [report.to_json() for report in self.history]}
        state.update(self.task.state_extra(self))  # type: ignore[arg-type]
        return state

    def _save(self, epoch_end: bool) -> None:
        """Checkpoint the run as it stands. Weights that are no longer finite raise instead:
        the folder keeps the checkpoint before them."""
        self._check_weights()
        if self.run_dir is None:
            return
        self._phase = "saving the checkpoint"
        self._saved = None  # from the first file written, the previous checkpoint is gone
        ckpt.save_checkpoint(self.run_dir, self.model, self.node_ids, self.state_dict())
        if epoch_end:
            ckpt.write_metrics(self.run_dir / ckpt.METRICS_FILE, self.history,
                               self.task.metric_columns)
        self._saved = (self.epoch, self.step)

    def _save_best(self) -> None:
        """``keep: best``: after an epoch that beats every earlier one by `keep_metric`, its
        weights (already checked finite by `_save`) into best/, and run.json says which."""
        if self.keep_best is None or self.run_dir is None or not self.history:
            return
        value = self.keep_best.improved(self.history)
        if value is None:
            return
        self._phase = "saving the best weights"
        self.run_info["best"] = save_best(self.run_dir, self.model, self.node_ids,
                                          epoch=self.history[-1].epoch, step=self.step,
                                          metric=self.keep_best.metric, value=value)

    def _checkpoint_on_disk(self) -> tuple[int, int] | None:
        """(epoch, step) of the complete checkpoint the run folder already holds (a resumed
        run's), from its checkpoint.json; None if it holds none."""
        assert self.run_dir is not None
        marker = self.run_dir / ckpt.CHECKPOINT_FILE
        if not marker.exists():
            return None
        try:
            record = ckpt.read_marker(marker)
        except ckpt.CheckpointError:  # damaged: not a checkpoint to count on
            return None
        return int(record["epoch"]), int(record["step"])

    def _write_run_info(self, status: str, message: str | None = None) -> None:
        if self.run_dir is None or not self.run_dir.exists():
            return
        info = dict(self.run_info)
        saved = self._saved
        data = self.data_info if self.data_info is not None else self.split.describe()
        info.update({"status": status, "message": message, "task": self.task.name,
                     "device": str(self.device), "epoch": self.epoch, "step": self.step,
                     "config": self.config.to_json(),
                     "checkpoint": {"epoch": saved[0], "step": saved[1]} if saved else None,
                     "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "data": data})
        info.update(self.task.state_extra(self))  # type: ignore[arg-type]
        ckpt.write_json(self.run_dir / ckpt.RUN_FILE, info)

    def _check_weights(self) -> None:
        """Raise if a weight or a running statistic is NaN or infinite, naming its node. One
        device read over all tensors; run at each checkpoint, so none ever holds NaN."""
        named = [(name, t) for name, t in [*self.model.named_parameters(),
                                           *self.model.named_buffers()]
                 if t.is_floating_point()]
        if not named:
            return
        finite = torch.stack([t.isfinite().all() for _, t in named]).tolist()
        for (name, tensor), ok in zip(named, finite):
            if not ok:
                # the epoch whose updates made it: at an epoch's end the counter moved on
                epoch = self.epoch + 1 if self.step_in_epoch or not self.epoch else self.epoch
                raise faults.weights_not_finite(
                    self.node_label(name), name, bool(tensor.isnan().any()), self.step, epoch,
                    self.config, self.task.target_max(self))  # type: ignore[arg-type]

    def node_label(self, tensor: str) -> str:
        """The node a tensor belongs to, as a person names it (see `checkpoint.node_of`)."""
        return ckpt.node_of(tensor, self.node_ids)[1]
