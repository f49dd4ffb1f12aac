"""The run loop: one training loop for every kind of model, with the kind a plug-in.

Keras splits `fit` from `train_step`; so does Torchloom. The loop owns what every task
shares: epochs and steps over a seeded shuffle, a cooperative stop, faults (a loss that is
no longer finite, out of memory, a full disk), checkpoints with exact resume, the run
folder, callbacks, throughput, live probes and validation batches. A `task` (see
`engine/tasks/`) declares what differs: its optimizers, one training step, the numbers a
step records (`task.stats`), its validation metrics and its reports.

The data moves to the device once and is indexed there with a fresh permutation per epoch
(no DataLoader when it fits in memory). Each step writes its numbers into a preallocated
device buffer; the loop reads the buffer back once per report interval, so it never waits
on the device per step. `stop()` may be called from any thread and takes effect before the
next batch (with ``accumulate``, the next group of batches), in training and in validation
alike; the run then leaves a checkpoint from
which `restore` continues at the same step with the same random state, giving the same
weights as a run that was never interrupted. A failure never writes a checkpoint: the run
folder keeps its last complete one (see `faults`).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from ..data.dataset import Split
from ..errors import DataError, TrainingError
from ..project import Project
from . import accumulate
from . import checkpoint as ckpt
from . import faults
from .batches import batch_starts, epoch_permutation
from .callbacks import Callback, EpochReport, TrainResult
from .config import TrainConfig, check_amp, resolve_device
from .best import KeepBest
from .early_stop import EarlyStopping
from .finetune import BlockTraining, scaled_rate
from .schedules import learning_rate
from .early_stop import describe as describe_early_stop
from .inputs import call, has_image_input, place
from .layer_stats import StatsRecorder
from .loop_state import STATE_FORMAT, LoopState
from .runfiles import PROBE_FILE, TOKENIZER_FILE
from .task_api import Stat, TaskHooks

__all__ = ["STATE_FORMAT", "RunLoop", "Stat", "batch_starts", "epoch_permutation"]


class RunLoop(LoopState):
    """Train `model` on `split` with `config` as `task` says, reporting to `callbacks`.

    Args:
        task: the kind of model (a `tasks` plug-in): its steps, metrics and reports.
        model: the compiled network(s), one module (a GAN's pair holds both).
        split: the data, already fitted to the model's Input (a GAN's has no validation).
        config: the training settings.
        callbacks: receive reports on the training thread; keep them cheap.
        run_dir: where checkpoints go; None trains without saving.
        project: saved into the run folder as the graph snapshot.
        node_ids: module name -> node id, stored with the weights.
        report_interval: seconds between `on_batch_end` reports.
        data_info: what run.json and `on_train_begin` say of the data (default: the split's
            own description).
        probe: the fixed probe batch, saved into the run folder.
        probe_every: capture the probe batch every this many steps and hand it to
            `on_probe` (0: never). A capture is one eval-mode forward pass on the probe
            batch with hooks that are removed again, so its cost is bounded by the batch.
        augment: applied to every training batch (`data.augment_ops.Augmenter`), or None.
    """

    def __init__(self, task: TaskHooks, model: nn.Module, split: Split, config: TrainConfig,
                 *, callbacks: Iterable[Callback] = (), run_dir: Path | None = None,
                 project: Project | None = None, node_ids: dict[str, str] | None = None,
                 report_interval: float = 0.1, run_info: dict[str, Any] | None = None,
                 data_info: dict[str, Any] | None = None, probe: Any = None,
                 probe_every: int = 0, augment: Any = None) -> None:
        self.task = task
        self.model = model
        self.split = split
        self.config = config
        self.callbacks = list(callbacks)
        self.run_dir = run_dir
        self.project = project
        self.node_ids = node_ids or {}
        #: frozen blocks and per-block learning rates, from the project's nodes
        self.blocks = BlockTraining.of(project, self.node_ids)
        self.report_interval = report_interval
        self.run_info = dict(run_info or {})
        self.data_info = data_info
        self.probe = probe
        self.probe_every = probe_every
        self.augment = augment
        self._probe_x: torch.Tensor | None = None
        #: per-layer weight and gradient statistics on a cadence (`layer_stats`), or None
        self.layer_stats = StatsRecorder(config.stats_every) if config.stats_every > 0 else None
        self.device = resolve_device(config.device)
        self.amp_dtype = check_amp(config.amp, self.device) if task.uses("amp") else None
        #: whether the learning rate follows `config.schedule` (asked once, not per step)
        self.scheduled = config.schedule != "constant" and task.uses("schedule")
        self.early_stopping = EarlyStopping.from_setting(config.early_stopping,
                                                         task.metric_columns)
        #: ``keep: best``: which metric picks the epoch whose weights go to best/ (None: last)
        self.keep_best = KeepBest.from_config(config, task.metric_columns)
        #: why the run stopped before its last epoch (`early_stop.EarlyStopping.verdict`)
        self.early_stop: dict[str, Any] | None = None
        self.history: list[EpochReport] = []
        self.epoch = 0  # 0-based epoch in progress
        self.step_in_epoch = 0
        self.step = 0
        self._carry = self._fresh_carry()
        self._stop = threading.Event()
        #: how batches group into optimizer steps (``accumulate``), set up with the batches
        self.accumulation = accumulate.Accumulation(1, ())
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self._optimizer_state: Any = None
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
        self._x_train: torch.Tensor | None = None
        self._x_val: torch.Tensor | None = None
        self._y_train = self._y_val = torch.empty(0)

    # ---- control -----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the run to stop before its next batch. Safe from any thread."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # ---- the run -----------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to the last epoch, a stop, or a failure. Never raises for those: failures go
        to `on_failed` and into the result, and the process carries on."""
        result = TrainResult("failed", device=str(self.device), run_dir=self.run_dir)
        try:
            self._setup()
            result.status = self._loop()
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
        result.early_stop = self.early_stop
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
        """After a failure, give back what the run holds on the device (the optimizers'
        moments, the gradients, the data copies) so the next run finds the memory free.
        The model keeps its weights: the caller may still look at them."""
        for optimizer in self.optimizers.values():
            optimizer.state.clear()
        self._optimizer_state = None
        self.model.zero_grad(set_to_none=True)
        self._x_train = self._x_val = self._probe_x = None
        if self.layer_stats is not None:
            self.layer_stats.disarm()  # a step that failed while its ReLUs were watched
        self._y_train = self._y_val = torch.empty(0)
        self.task.release(self)
        faults.release_cached_memory()

    def _setup(self) -> None:
        cfg, dev, task = self.config, self.device, self.task
        self._phase = "setting up"
        self.model.to(dev)
        if self.channels_last is None:
            self.channels_last = task.channels_last and (
                has_image_input(self.split.train)
                and any(isinstance(m, nn.Conv2d) for m in self.model.modules()))
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.blocks.freeze(self.model)
        self.blocks.train_mode(self.model)
        norm = self.split.normalization
        self._x_train, self._y_train = self._to_device(self.split.train, norm)
        self._x_val, self._y_val = self._to_device(self.split.val, norm)
        self.optimizers = task.make_optimizers(self)
        if self._optimizer_state is not None:
            if list(self.optimizers) == [""]:
                self.optimizers[""].load_state_dict(self._optimizer_state)
            else:
                for name, optimizer in self.optimizers.items():
                    optimizer.load_state_dict(self._optimizer_state[name])
        self.scaler = torch.amp.GradScaler("cuda") if self.amp_dtype == torch.float16 else None
        if self.scaler is not None and self._scaler_state:
            self.scaler.load_state_dict(self._scaler_state)
        if self._rng is not None:  # a resumed run: continue the random stream exactly
            torch.set_rng_state(self._rng["cpu"])
            if dev.type == "cuda" and self._rng.get("cuda") is not None:
                torch.cuda.set_rng_state(self._rng["cuda"], dev)
        else:  # dropout and noise draw from the global generator: seed it so runs repeat
            torch.manual_seed(cfg.seed)
        self.starts = batch_starts(len(self.split.train), cfg.batch_size)
        self.total_steps = len(self.starts) * cfg.epochs
        self.accumulation = accumulate.Accumulation(
            cfg.accumulate if task.uses("accumulate") else 1,
            [min(cfg.batch_size, len(self.split.train) - s) for s in self.starts])
        task.on_setup(self)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._saved = self._checkpoint_on_disk()
            if self.project is not None:
                ckpt.save_project_copy(self.run_dir, self.project)
            tokenizer = self.split.full.tokenizer  # text data: what the run's ids mean
            if tokenizer is not None:
                tokenizer.save(self.run_dir / TOKENIZER_FILE)
            if self.probe is not None and not (self.run_dir / PROBE_FILE).exists():
                self.probe.save(self.run_dir / PROBE_FILE)
        if self.probe is not None and self.probe_every > 0:
            self._probe_x = place(self.probe.x, norm, dev, bool(self.channels_last))
        if self.layer_stats is not None:
            self.layer_stats.start(self)
        self._write_run_info("running")
        info = {"device": str(dev), "epochs": cfg.epochs, "steps_per_epoch": len(self.starts),
                "total_steps": self.total_steps, "start_step": self.step,
                "train_samples": len(self.split.train), "val_samples": len(self.split.val),
                "run_dir": str(self.run_dir) if self.run_dir else None, "task": task.name}
        info.update(task.begin_info(self))
        for cb in self.callbacks:
            cb.on_train_begin(info)

    def _to_device(self, data: Any, norm: Any) -> tuple[torch.Tensor | None, torch.Tensor]:
        y = self.task.targets_to_device(data.y.to(self.device))
        if not data.in_memory:
            return None, y
        return place(data.x, norm, self.device, bool(self.channels_last)), y

    def batch(self, which: str, idx: torch.Tensor, augment: bool = True
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs and targets of samples `idx` of "train" or "val", on the device;
        training batches augmented as the dataset asks unless `augment` is False."""
        x = self._x_train if which == "train" else self._x_val
        y = self._y_train if which == "train" else self._y_val
        if x is not None:
            xb, yb = x[idx], y[idx]
        else:
            data = self.split.train if which == "train" else self.split.val
            xb = data.read(idx.cpu()).to(self.device, non_blocking=True)
            norm = self.split.normalization
            xb, yb = (norm.apply(xb) if norm is not None else xb), y[idx]
        if which == "train" and augment and self.augment is not None:
            xb, yb = self.augment(xb, yb, self.step)
        return xb, yb

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """Mixed precision as the settings ask, or nothing."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def update(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward on the current batch's `loss` (scaled under fp16), and an optimisation
        step when the batch ends its accumulation group (every batch, by default)."""
        accumulate.update(loss, optimizer, scaler=self.scaler, clip=self.config.clip_grad_norm,
                          accumulation=self.accumulation, i=self.step_in_epoch)

    def lr(self) -> float:
        """The learning rate at the current step, as `config.schedule` has it."""
        if not self.scheduled:
            return self.config.lr
        step, total = self.accumulation.schedule_position(self.step, self.total_steps,
                                                          self.epoch, self.step_in_epoch)
        return learning_rate(self.config, step, total, self.epoch,
                             [e.val_loss for e in self.history])

    def _loop(self) -> str:
        for epoch in range(self.epoch, self.config.epochs):
            self.epoch = epoch
            if not self._train_epoch(epoch):
                return self._stopped()
            scores = self._evaluate()
            self.blocks.train_mode(self.model)
            if scores is None:  # stopped while validating: the epoch has no row yet
                return self._stopped()
            report = self.task.epoch_report(self, epoch + 1, self.running(), scores)
            self.history.append(report)
            self.epoch, self.step_in_epoch = epoch + 1, 0
            self._carry = self._fresh_carry()
            self._save(epoch_end=True)
            self._save_best()
            for cb in self.callbacks:
                cb.on_epoch_end(report)
            if self.early_stopping is not None:
                self.early_stop = self.early_stopping.verdict(self.history)
                if self.early_stop is not None:
                    self.run_info["early_stop"] = self.early_stop
                    self._write_run_info("finished", describe_early_stop(self.early_stop))
                    return "finished"
        self._write_run_info("finished")
        return "finished"

    def _train_epoch(self, epoch: int) -> bool:
        """One epoch from `step_in_epoch` on; False if stopped. Per step the task writes its
        numbers into one column of a preallocated device buffer (a few small kernels);
        everything else is computed from the buffer once per report."""
        cfg, dev, task = self.config, self.device, self.task
        n, steps = len(self.split.train), len(self.starts)
        perm = epoch_permutation(cfg.seed, epoch, n).to(dev)
        sizes = [min(cfg.batch_size, n - s) for s in self.starts]
        stats = torch.zeros((len(task.stats), steps), device=dev, dtype=torch.float64)
        first = self.step_in_epoch  # where this sitting of the epoch began
        reported = first
        started = time.perf_counter() - self._carry["seconds"]
        last_time = time.perf_counter()
        self._phase = "training"
        for i in range(first, steps):
            if self._stop.is_set() and self.accumulation.at_boundary(i):
                self._account(stats, sizes, reported, i, started)
                return False
            idx = perm[self.starts[i]:self.starts[i] + cfg.batch_size]
            if self.scheduled:
                lr = self.lr()
                for optimizer in self.optimizers.values():
                    for group in optimizer.param_groups:  # each block group keeps its ratio
                        group["lr"] = scaled_rate(group, lr)
            captured = self.layer_stats is not None and self.accumulation.steps_here(i) \
                and self.layer_stats.arm(self, self.step + 1, i == steps - 1,
                                         i % self.accumulation.every + 1)
            task.train_step(self, idx, stats[:, i])
            self.step += 1
            self.step_in_epoch = i + 1
            if self._probe_x is not None and self.step % self.probe_every == 0:
                self._live_probe()
            if captured:
                self._record_layer_stats()
            now = time.perf_counter()
            if now - last_time >= self.report_interval or i == steps - 1:
                before = self._carry["seen"]
                window = self._account(stats, sizes, reported, i + 1, started)
                report = task.batch_report(self, window, self.running(),
                                           (self._carry["seen"] - before) / (now - last_time))
                for cb in self.callbacks:
                    cb.on_batch_end(report)
                reported, last_time = i + 1, now
        return True

    # ---- accounting ----------------------------------------------------------------------

    def _fresh_carry(self) -> dict[str, Any]:
        carry: dict[str, Any] = {stat.carry_key: 0 if stat.kind == "count" else 0.0
                                 for stat in self.task.stats}
        carry.update({"seen": 0, "steps": 0, "seconds": 0.0})
        return carry

    def _account(self, stats: torch.Tensor, sizes: list[int], lo: int, hi: int,
                 started: float) -> dict[str, float]:
        """Fold steps [lo, hi) of the epoch into the running totals (one device read) and
        return each stat over them alone: a loss's mean per step, a count over the samples
        of those steps (the accuracy of the last few batches, not of the epoch so far). A NaN
        or infinite loss among them ends the run, naming the step."""
        carry = self._carry
        if hi <= lo:
            carry["seconds"] = time.perf_counter() - started
            return {stat.name: float("nan") for stat in self.task.stats if stat.kind == "loss"}
        weights = torch.tensor(sizes[lo:hi], device=stats.device, dtype=torch.float64)
        parts, losses = [], []
        for j, stat in enumerate(self.task.stats):
            row = stats[j, lo:hi]
            if stat.kind == "loss":
                finite = torch.isfinite(row)
                parts += [(row * weights).sum() if stat.per == "sample" else row.sum(),
                          row.sum(), (~finite).double().argmax().double(),
                          finite.all().double()]
                losses.append(j)
            else:
                parts.append(row.sum())
        values = torch.stack(parts).tolist()
        window: dict[str, float] = {}
        samples = sum(sizes[lo:hi])
        at = 0
        for j, stat in enumerate(self.task.stats):
            if stat.kind != "loss":
                carry[stat.carry_key] += int(values[at])
                window[stat.name] = values[at] / max(samples, 1)
                at += 1
                continue
            total, plain, bad_at, ok = values[at:at + 4]
            at += 4
            if not ok:
                bad = self.step - (hi - lo) + int(bad_at) + 1
                raise faults.loss_not_finite(
                    float(stats[j, lo + int(bad_at)]), bad, self.epoch + 1, self.config,
                    target_max=self.task.target_max(self), what=stat.label)
            carry[stat.carry_key] += total
            window[stat.name] = plain / (hi - lo)
        carry["seen"] += samples
        carry["steps"] += hi - lo
        carry["seconds"] = time.perf_counter() - started
        return window

    def running(self) -> dict[str, float]:
        """Every stat over the epoch so far: a loss's mean (per sample, or per step), a
        count over the samples seen (an accuracy)."""
        carry = self._carry
        seen, steps = max(carry["seen"], 1), max(carry["steps"], 1)
        return {stat.name: carry[stat.carry_key] / (steps if stat.per == "step" else seen)
                for stat in self.task.stats}

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

    def _record_layer_stats(self) -> None:
        """One capture of per-layer statistics, to stats.jsonl and `on_stats`."""
        assert self.layer_stats is not None
        try:
            capture = self.layer_stats.record(self)
        except OSError:
            raise  # the run folder cannot be written: a fault like any other write
        except Exception as exc:  # noqa: BLE001 - looking must never end the training
            self.layer_stats = None
            self.run_info.setdefault("notes", []).append(
                f"layer statistics turned off at step {self.step}: {exc}")
            return
        for cb in self.callbacks:
            cb.on_stats(capture)

    # ---- validation ----------------------------------------------------------------------

    @torch.no_grad()
    def _evaluate(self) -> dict[str, Any] | None:
        """The task's validation metrics (``val_loss`` and its own); None if a stop came
        (checked before every batch, so a stop lands within one batch here too)."""
        n = len(self.split.val)
        if n == 0 or not self.task.validates:
            return {}
        self._phase = "validating"
        self.model.eval()
        task = self.task
        total = torch.zeros((), device=self.device, dtype=torch.float64)
        sums = task.val_begin(self)
        size = self.val_batch_size or max(self.config.batch_size, 512)
        start = 0
        while start < n:
            if self._stop.is_set():
                return None
            idx = torch.arange(start, min(start + size, n), device=self.device)
            try:
                xb, yb = self.batch("val", idx)
                yb = task.target(xb, yb)
                with self.autocast():
                    out = call(self.model, xb)
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
            total += task.loss(self, out, yb).double() * idx.shape[0]
            task.val_batch(self, sums, out, yb)
            start += idx.shape[0]
        loss = float(total) / n
        if not math.isfinite(loss):
            self._check_weights()
            raise faults.validation_not_finite(loss, self.step, self.epoch + 1, self.config)
        return {"val_loss": loss, **task.val_metrics(self, sums, n)}
