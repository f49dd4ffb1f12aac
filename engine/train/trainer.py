"""The Trainer: a plain training loop, fast on the hot path, stoppable, resumable exactly.

The data moves to the device once and is indexed there with a fresh permutation per epoch
(no DataLoader when it fits in memory). Loss and accuracy accumulate as device tensors and
are read back once per report interval, so the loop never waits on the device per step.
`stop()` may be called from any thread and takes effect before the next batch, in training
and in validation alike; the run then leaves a checkpoint from which `restore` continues at
the same step with the same random state, giving the same weights as a run that was never
interrupted. A failure (a loss that is no longer finite, out of memory, a full disk) never
writes a checkpoint: the run folder keeps its last complete one (see `faults`).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ..data.dataset import Split
from ..errors import DataError, TrainingError
from ..project import Project
from . import checkpoint as ckpt
from . import faults
from .callbacks import BatchReport, Callback, EpochReport, TrainResult
from .config import TrainConfig, check_amp, resolve_device
from .runfiles import PROBE_FILE
from .trainer_state import STATE_FORMAT, TrainerState

__all__ = ["STATE_FORMAT", "Trainer", "batch_starts", "epoch_permutation"]


def epoch_permutation(seed: int, epoch: int, n: int) -> torch.Tensor:
    """The shuffle of one epoch, from (seed, epoch) alone, so a resumed run reshuffles alike."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=generator)


def batch_starts(n: int, batch_size: int) -> list[int]:
    """Batch offsets. A last batch of one sample is dropped: BatchNorm cannot train on it."""
    starts = list(range(0, n, batch_size))
    if starts and n - starts[-1] == 1 and len(starts) > 1:
        starts.pop()
    return starts


class Trainer(TrainerState):
    """Train `model` on `split` with `config`, reporting to `callbacks`.

    Args:
        model: a compiled graph (or any module taking one tensor).
        split: the data, already fitted to the model's Input.
        config: the training settings.
        callbacks: receive reports on the training thread; keep them cheap.
        run_dir: where checkpoints go; None trains without saving.
        project: saved into the run folder as the graph snapshot.
        node_ids: module name -> node id, stored with the weights.
        report_interval: seconds between `on_batch_end` reports.
        probe: the fixed probe batch, saved into the run folder.
        probe_every: capture the probe batch every this many steps and hand it to
            `on_probe` (0: never). A capture is one eval-mode forward pass on the probe
            batch with hooks that are removed again, so its cost is bounded by the batch.
    """

    def __init__(self, model: nn.Module, split: Split, config: TrainConfig, *,
                 callbacks: Iterable[Callback] = (), run_dir: Path | None = None,
                 project: Project | None = None, node_ids: dict[str, str] | None = None,
                 report_interval: float = 0.1, run_info: dict[str, Any] | None = None,
                 probe: Any = None, probe_every: int = 0) -> None:
        self.model = model
        self.split = split
        self.config = config
        self.callbacks = list(callbacks)
        self.run_dir = run_dir
        self.project = project
        self.node_ids = node_ids or {}
        self.report_interval = report_interval
        self.run_info = dict(run_info or {})
        self.probe = probe
        self.probe_every = probe_every
        self._probe_x: torch.Tensor | None = None
        self.device = resolve_device(config.device)
        self.amp_dtype = check_amp(config.amp, self.device)
        self.history: list[EpochReport] = []
        self.epoch = 0  # 0-based epoch in progress
        self.step_in_epoch = 0
        self.step = 0
        self._carry = {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
        self._stop = threading.Event()
        self._optimizer_state: dict[str, Any] | None = None
        self._scaler_state: dict[str, Any] | None = None
        self._rng: dict[str, Any] | None = None
        #: what the run is doing, for failure messages: "setting up", "training",
        #: "validating", "saving the checkpoint"
        self._phase = "setting up"
        #: (epoch, step) of the last checkpoint written whole, recorded in run.json
        self._saved: tuple[int, int] | None = None
        #: Samples per validation batch; None: max(batch_size, 512). Validation keeps no
        #: activations for a backward pass, so it takes bigger batches; out of memory there
        #: halves it, down to batch_size, before the run gives up.
        self.val_batch_size: int | None = None
        #: Image models train in channels-last layout (oneDNN and cuDNN run their fastest
        #: convolutions on it; measured 1.1-1.5x on this CNN on the CPU). None: decide from
        #: the model; tests and benchmarks may force it.
        self.channels_last: bool | None = None

    # ---- control -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to stop before its next batch. Safe from any thread."""
        self._stop.set()

    # ---- the run -----------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to the last epoch, a stop, or a failure. Never raises for those: failures go
        to `on_failed` and into the result, and the process carries on."""
        result = TrainResult("failed", device=str(self.device), run_dir=self.run_dir)
        try:
            self._setup()
            status = self._loop()
            result.status = status
        except TrainingError as exc:
            result.error = exc
        except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
            result.error = self._oom() if faults.is_oom(exc) else TrainingError(
                f"training failed at step {self._fault_step()} ({self._phase}): "
                f"{str(exc).splitlines()[0]}", step=self._fault_step())
        except DataError as exc:  # data read from disk as it trains: a file went bad
            result.error = TrainingError(f"{self._phase} stopped at step {self._fault_step()}: "
                                         f"{exc.describe()}", kind="data",
                                         step=self._fault_step())
        except OSError as exc:  # the run folder cannot be written: a full disk, a lost drive
            where = f" ({exc.filename})" if exc.filename else ""
            result.error = TrainingError(
                f"{self._phase} failed at step {self._fault_step()}: {exc.strerror or exc}"
                f"{where}", kind="io", step=self._fault_step())
        result.epochs, result.step = list(self.history), self.step
        result.checkpoint = self._saved
        if result.error is not None:
            self._release()  # outside the except: the traceback's frames are gone by now
            try:
                self._write_run_info("failed", result.error.message)
            except OSError:  # the folder that just failed to write: the callbacks still say it
                pass
            for cb in self.callbacks:
                cb.on_failed(result.error)
        else:
            for cb in self.callbacks:
                cb.on_finished(result)
        return result

    def _fault_step(self) -> int:
        """The step a failure belongs to: the one in progress while training, else the last
        one done (validating or saving after it)."""
        return self.step + 1 if self._phase == "training" else self.step

    def _oom(self) -> TrainingError:
        data = self.split.train
        data_mb = data.x.nbytes / 2**20 if data.in_memory else 0.0
        return faults.out_of_memory(self._phase, self._fault_step(), self.epoch + 1,
                                    self.config, self.device, self.amp_dtype is not None,
                                    data_mb)

    def _release(self) -> None:
        """After a failure, give back what the run holds on the device (the optimizer's
        moments, the gradients, the data copies) so the next run finds the memory free.
        The model keeps its weights: the caller may still look at them."""
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None:
            optimizer.state.clear()
        self._optimizer_state = None
        self.model.zero_grad(set_to_none=True)
        self._x_train = self._x_val = self._probe_x = None
        self._y_train = self._y_val = torch.empty(0)
        faults.release_cached_memory()

    def _setup(self) -> None:
        cfg, dev = self.config, self.device
        self._phase = "setting up"
        self.model.to(dev)
        if self.channels_last is None:
            self.channels_last = (len(self.split.train.input_shape) == 3 and any(
                isinstance(m, nn.Conv2d) for m in self.model.modules()))
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.model.train()
        norm = self.split.normalization
        self._x_train, self._y_train = self._to_device(self.split.train, norm)
        self._x_val, self._y_val = self._to_device(self.split.val, norm)
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise TrainingError("the model has no trainable weights: add a layer with weights "
                                "(Linear, Conv2d, ...)", kind="config")
        if cfg.optimizer == "sgd":
            self.optimizer: torch.optim.Optimizer = torch.optim.SGD(
                params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "adamw":
            self.optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self.optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        if self._optimizer_state is not None:
            self.optimizer.load_state_dict(self._optimizer_state)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        if self.scaler is not None and self._scaler_state:
            self.scaler.load_state_dict(self._scaler_state)
        if self._rng is not None:  # a resumed run: continue the random stream exactly
            torch.set_rng_state(self._rng["cpu"])
            if dev.type == "cuda" and self._rng.get("cuda") is not None:
                torch.cuda.set_rng_state(self._rng["cuda"], dev)
        else:  # dropout draws from the global generator: seed it so runs repeat
            torch.manual_seed(cfg.seed)
        self.starts = batch_starts(len(self.split.train), cfg.batch_size)
        self.total_steps = len(self.starts) * cfg.epochs
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._saved = self._checkpoint_on_disk()
            if self.project is not None:
                ckpt.save_project_copy(self.run_dir, self.project)
            if self.probe is not None and not (self.run_dir / PROBE_FILE).exists():
                self.probe.save(self.run_dir / PROBE_FILE)
        if self.probe is not None and self.probe_every > 0:
            x = self.probe.x.to(dev)
            x = norm.apply(x) if norm is not None and x.is_floating_point() else x
            self._probe_x = (x.contiguous(memory_format=torch.channels_last)
                             if self.channels_last else x)
        self._write_run_info("running")
        info = {"device": str(dev), "epochs": cfg.epochs, "steps_per_epoch": len(self.starts),
                "total_steps": self.total_steps, "start_step": self.step,
                "train_samples": len(self.split.train), "val_samples": len(self.split.val),
                "run_dir": str(self.run_dir) if self.run_dir else None}
        for cb in self.callbacks:
            cb.on_train_begin(info)

    def _to_device(self, data: Any, norm: Any) -> tuple[torch.Tensor | None, torch.Tensor]:
        y = data.y.to(self.device)
        if self.config.loss == "mse":
            y = y.float().reshape(len(y), -1)
        if not data.in_memory:
            return None, y
        x = data.x.to(self.device)
        x = norm.apply(x) if norm is not None else x
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _batch_x(self, which: str, idx: torch.Tensor) -> torch.Tensor:
        x = self._x_train if which == "train" else self._x_val
        if x is not None:
            return x[idx]
        data = self.split.train if which == "train" else self.split.val
        xb = data.read(idx.cpu()).to(self.device, non_blocking=True)
        norm = self.split.normalization
        return norm.apply(xb) if norm is not None else xb

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "mse":
            return F.mse_loss(out.float(), y)
        return F.cross_entropy(out.float(), y)

    def _lr(self) -> float:
        if self.config.schedule != "cosine" or not self.total_steps:
            return self.config.lr
        return self.config.lr * 0.5 * (1 + math.cos(math.pi * self.step / self.total_steps))

    def _loop(self) -> str:
        for epoch in range(self.epoch, self.config.epochs):
            self.epoch = epoch
            if not self._train_epoch(epoch):
                return self._stopped()
            scores = self._evaluate()
            self.model.train()
            if scores is None:  # stopped while validating: the epoch has no row yet
                return self._stopped()
            val_loss, val_acc = scores
            carry = self._carry
            seen, seconds = carry["seen"], carry["seconds"]
            report = EpochReport(
                epoch + 1, carry["loss_sum"] / max(seen, 1),
                carry["correct"] / max(seen, 1) if self.config.loss == "cross_entropy" else None,
                val_loss, val_acc, seconds, seen / max(seconds, 1e-9), self.step, self._lr())
            self.history.append(report)
            self.epoch, self.step_in_epoch = epoch + 1, 0
            self._carry = {"loss_sum": 0.0, "correct": 0, "seen": 0, "seconds": 0.0}
            self._save(epoch_end=True)
            for cb in self.callbacks:
                cb.on_epoch_end(report)
        self._write_run_info("finished")
        return "finished"

    def _train_epoch(self, epoch: int) -> bool:
        """One epoch from `step_in_epoch` on; False if stopped. Per step, the loss and the
        hit count go into preallocated device buffers (two small kernels); everything else
        is computed from them once per report."""
        cfg, dev = self.config, self.device
        classify = cfg.loss == "cross_entropy"
        n, steps = len(self.split.train), len(self.starts)
        perm = epoch_permutation(cfg.seed, epoch, n).to(dev)
        sizes = [min(cfg.batch_size, n - s) for s in self.starts]
        losses = torch.zeros(steps, device=dev)
        hits = torch.zeros(steps, device=dev, dtype=torch.int64)
        first = self.step_in_epoch  # where this sitting of the epoch began
        reported = first
        started = time.perf_counter() - self._carry["seconds"]
        last_time = time.perf_counter()
        self._phase = "training"
        for i in range(first, steps):
            if self._stop.is_set():
                self._account(losses, hits, sizes, reported, i, started)
                return False
            idx = perm[self.starts[i]:self.starts[i] + cfg.batch_size]
            xb, yb = self._batch_x("train", idx), self._y_train[idx]
            if cfg.schedule != "constant":
                for group in self.optimizer.param_groups:
                    group["lr"] = self._lr()
            with self._autocast():
                out = self.model(xb)
            loss = self._loss(out, yb)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                loss.backward()
                self.optimizer.step()
            losses[i] = loss.detach()
            if classify:
                torch.sum(out.detach().argmax(-1) == yb, dim=0, out=hits[i])
            self.step += 1
            self.step_in_epoch = i + 1
            if self._probe_x is not None and self.step % self.probe_every == 0:
                self._live_probe()
            now = time.perf_counter()
            if now - last_time >= self.report_interval or i == steps - 1:
                before = self._carry["seen"]
                window = self._account(losses, hits, sizes, reported, i + 1, started)
                self._report_batch(window, (self._carry["seen"] - before) / (now - last_time))
                reported, last_time = i + 1, now
        return True

    def _account(self, losses: torch.Tensor, hits: torch.Tensor, sizes: list[int], lo: int,
                 hi: int, started: float) -> float:
        """Fold steps [lo, hi) of the epoch into the running totals (one device read) and
        return their mean loss. A NaN or infinite loss among them ends the run, naming the
        step."""
        if hi <= lo:
            self._carry["seconds"] = time.perf_counter() - started
            return float("nan")
        weights = torch.tensor(sizes[lo:hi], device=losses.device, dtype=torch.float64)
        window = losses[lo:hi].double()
        finite = torch.isfinite(window)
        values = torch.stack([(window * weights).sum(), window.sum(), hits[lo:hi].sum().double(),
                              (~finite).double().argmax().double(), finite.all().double()])
        loss_sum, plain_sum, correct, bad_at, ok = values.tolist()
        if not ok:
            bad = self.step - (hi - lo) + int(bad_at) + 1
            raise faults.loss_not_finite(float(window[int(bad_at)]), bad, self.epoch + 1,
                                         self.config, target_max=self._target_max())
        carry = self._carry
        carry["loss_sum"] += loss_sum
        carry["correct"] += int(correct)
        carry["seen"] += sum(sizes[lo:hi])
        carry["seconds"] = time.perf_counter() - started
        return plain_sum / (hi - lo)

    def _report_batch(self, window_loss: float, rate: float) -> None:
        carry = self._carry
        report = BatchReport(
            self.epoch + 1, self.config.epochs, self.step, self.step_in_epoch, len(self.starts),
            self.total_steps, window_loss, carry["loss_sum"] / max(carry["seen"], 1),
            carry["correct"] / max(carry["seen"], 1) if self.config.loss == "cross_entropy"
            else None, rate, self._lr())
        for cb in self.callbacks:
            cb.on_batch_end(report)

    def _live_probe(self) -> None:
        """Capture the probe batch for `on_probe`. Eval mode draws no random numbers, so a
        run with probes trains exactly like one without."""
        from ..probe.activations import capture

        names = {node: name for name, node in self.node_ids.items()}
        try:
            result = capture(self.model, self._probe_x, names)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - a probe must never end the training
            self._probe_x = None
            self.run_info.setdefault("notes", []).append(
                f"live probes turned off at step {self.step}: {exc}")
            return
        result.step, result.epoch = self.step, self.epoch + 1
        for cb in self.callbacks:
            cb.on_probe(result)

    @torch.no_grad()
    def _evaluate(self) -> tuple[float | None, float | None] | None:
        """Validation loss and accuracy; None if a stop came (checked before every batch,
        so a stop lands within one batch here too)."""
        n = len(self.split.val)
        if n == 0:
            return None, None
        self._phase = "validating"
        self.model.eval()
        classify = self.config.loss == "cross_entropy"
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        correct = torch.zeros((), device=self.device, dtype=torch.int64)
        size = self.val_batch_size or max(self.config.batch_size, 512)
        start = 0
        while start < n:
            if self._stop.is_set():
                return None
            idx = torch.arange(start, min(start + size, n), device=self.device)
            try:
                xb, yb = self._batch_x("val", idx), self._y_val[idx]
                with self._autocast():
                    out = self.model(xb)
            except RuntimeError as exc:
                if not faults.is_oom(exc) or size <= self.config.batch_size:
                    raise
                shrink = True
            else:
                shrink = False
            if shrink:  # out of the except, so the failed batch's memory is free again
                xb = out = None
                size = max(size // 2, self.config.batch_size)
                self.val_batch_size = size
                faults.release_cached_memory()
                continue
            total += self._loss(out, yb).double() * idx.shape[0]
            if classify:
                correct += (out.argmax(-1) == yb).sum()
            start += idx.shape[0]
        loss = float(total) / n
        if not math.isfinite(loss):
            self._check_weights()
            raise faults.validation_not_finite(loss, self.step, self.epoch + 1, self.config)
        return loss, (int(correct) / n if classify else None)
