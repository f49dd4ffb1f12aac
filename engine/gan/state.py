"""What a GAN run keeps in its run folder, and reads back to resume.

The same files and guarantees as a classifier's run (see `train.checkpoint`):

    model.safetensors   both networks, keyed "generator.<node id>.<tensor>" and
                        "discriminator.<node id>.<tensor>"
    state.pt            both optimizers, counters, RNG state, the data range, history
    checkpoint.json     written last; names the two files above (an interrupted checkpoint
                        is refused, never loaded)
    metrics.csv         one row per epoch, columns `GAN_METRIC_COLUMNS`
    samples/epoch_NNN.png   the fixed latent batch's grid after each epoch
    project.json, run.json  the project as trained; status, warnings (mode collapse)
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import TrainingError
from ..fileio import atomic_write_text
from ..train import checkpoint as ckpt
from ..train.callbacks import EpochReport
from ..train.config import TrainConfig
from .data import DataRange

STATE_FORMAT = ckpt.STATE_FORMAT
#: Columns of a GAN run's metrics.csv, in order (documented in docs/project-format.md).
GAN_METRIC_COLUMNS = ("epoch", "d_loss", "g_loss", "d_real_acc", "d_fake_acc", "diversity",
                      "mode_collapse", "seconds", "samples_per_s")


class GanPair(nn.Module):
    """The generator and the discriminator as one module, so one safetensors file holds
    both: keys are ``generator.<node>.<tensor>`` and ``discriminator.<node>.<tensor>``."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The discriminator's logit for generated samples (what the generator trains on)."""
        return self.discriminator(self.generator(z))


class GanState:
    """The GanTrainer's saving and restoring half (a mixin: the trainer has the attributes)."""

    pair: GanPair
    config: TrainConfig
    device: torch.device
    run_dir: Path | None
    node_ids: dict[str, str]
    run_info: dict[str, Any]
    data_info: dict[str, Any]
    data_range: DataRange
    history: list[EpochReport]
    epoch: int
    step_in_epoch: int
    step: int
    latent_shape: tuple[int, ...]
    g_opt: torch.optim.Optimizer
    d_opt: torch.optim.Optimizer
    _carry: dict[str, Any]
    _optimizer_state: dict[str, Any] | None
    _rng: dict[str, Any] | None
    _phase: str
    _saved: tuple[int, int] | None

    def restore(self, state: dict[str, Any]) -> None:
        """Continue a checkpoint: counters, both optimizers and the RNG state."""
        if state.get("format") != STATE_FORMAT or state.get("recipe") != "gan":
            raise TrainingError("the run folder's state.pt is not a GAN trainer state",
                                kind="config")
        self.epoch, self.step_in_epoch, self.step = (int(state["epoch"]),
                                                     int(state["step_in_epoch"]),
                                                     int(state["step"]))
        self._carry = dict(state["carry"])
        self._optimizer_state = state["optimizer"]
        self._rng = state["rng"]
        self.history = [EpochReport(**row) for row in state.get("history", [])]

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain data only, so it loads with ``weights_only=True``."""
        rng: dict[str, Any] = {"cpu": torch.get_rng_state(), "cuda": None}
        if self.device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(self.device)
        config = self.config.to_json()
        config["betas"] = list(config["betas"])
        return {"format": STATE_FORMAT, "version": 1, "recipe": "gan", "epoch": self.epoch,
                "step_in_epoch": self.step_in_epoch, "step": self.step,
                "optimizer": {"generator": self.g_opt.state_dict(),
                              "discriminator": self.d_opt.state_dict()},
                "rng": rng, "carry": dict(self._carry), "config": config,
                "data_range": self.data_range.to_json(),
                "latent_shape": list(self.latent_shape),
                "history": [report.to_json() for report in self.history]}

    def _stopped(self) -> str:
        self._save(epoch_end=False)
        self._write_run_info("stopped")
        return "stopped"

    def _save(self, epoch_end: bool) -> None:
        self._check_weights()
        if self.run_dir is None:
            return
        self._phase = "saving the checkpoint"
        self._saved = None
        ckpt.save_checkpoint(self.run_dir, self.pair, self.node_ids, self.state_dict())
        if epoch_end:
            write_gan_metrics(self.run_dir / ckpt.METRICS_FILE, self.history)
        self._saved = (self.epoch, self.step)

    def _checkpoint_on_disk(self) -> tuple[int, int] | None:
        assert self.run_dir is not None
        marker = self.run_dir / ckpt.CHECKPOINT_FILE
        if not marker.exists():
            return None
        try:
            record = ckpt.read_marker(marker)
        except ckpt.CheckpointError:
            return None
        return int(record["epoch"]), int(record["step"])

    def _write_run_info(self, status: str, message: str | None = None) -> None:
        if self.run_dir is None or not self.run_dir.exists():
            return
        info = dict(self.run_info)
        saved = self._saved
        config = self.config.to_json()
        config["betas"] = list(config["betas"])
        info.update({"status": status, "message": message, "recipe": "gan",
                     "device": str(self.device), "epoch": self.epoch, "step": self.step,
                     "config": config, "data_range": self.data_range.to_json(),
                     "checkpoint": {"epoch": saved[0], "step": saved[1]} if saved else None,
                     "updated": time.strftime("%Y-%m-%dT%H:%M:%S"), "data": self.data_info})
        ckpt.write_json(self.run_dir / ckpt.RUN_FILE, info)

    def _check_weights(self) -> None:
        """Raise if a weight is NaN or infinite, naming its graph and node."""
        named = [(name, t) for name, t in [*self.pair.named_parameters(),
                                           *self.pair.named_buffers()]
                 if t.is_floating_point()]
        if not named:
            return
        finite = torch.stack([t.isfinite().all() for _, t in named]).tolist()
        for (name, _tensor), ok in zip(named, finite):
            if not ok:
                graph, module, *_ = name.split(".") + [""]
                node = self.node_ids.get(f"{graph}.{module}", module)
                raise TrainingError(
                    f"{graph}: node {node}'s weights became NaN or infinite at step "
                    f"{self.step}: lower lr (now {self.config.lr})", kind="nan", step=self.step)


def write_gan_metrics(path: Path, history: list[EpochReport]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GAN_METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in history:
        extra = report.extra
        row = {"epoch": report.epoch, "seconds": report.seconds,
               "samples_per_s": report.samples_per_s}
        row.update({k: extra.get(k) for k in GAN_METRIC_COLUMNS if k in extra})
        writer.writerow({k: ("" if v is None else _round(v)) for k, v in row.items()})
    atomic_write_text(path, out.getvalue())


def _round(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return round(value, 6) if isinstance(value, float) else value
