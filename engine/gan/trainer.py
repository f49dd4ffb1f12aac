"""The GAN trainer: a generator and a discriminator trained against each other.

The recipe (Goodfellow et al. 2014, with the non-saturating generator loss and DCGAN's Adam
settings): for every batch of real samples (scaled to [-1, 1], see `gan.data`),

1. `d_steps` discriminator updates, each on the real batch and a batch generated from fresh
   noise: ``BCEWithLogits(D(real), 1 - label_smoothing) + BCEWithLogits(D(fake), 0)``;
2. one generator update: ``BCEWithLogits(D(G(z)), 1)`` (non-saturating: G maximises
   log D(G(z)) instead of minimising log(1 - D(G(z))), whose gradient vanishes early on).

Two Adam optimizers (`lr`, `betas`). An epoch is one pass over the real samples. The noise is
drawn from torch's global generator, seeded by `seed`, and its state is checkpointed, so a
stopped run resumes at the same step with the same noise, optimizer moments and weights as
one that was never interrupted.

After every epoch a fixed, seeded latent batch gives the sample grid
(``samples/epoch_NNN.png`` in the run folder) and the mode-collapse check: the mean pairwise
distance of generated samples over that of real ones; below `COLLAPSE_RATIO` the epoch report
and run.json say so. Reports go through the classifier Trainer's `Callback` hooks; the GAN's
numbers are in each report's `extra` (keys below).
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any, Iterable

import torch
import torch.nn.functional as F

from ..errors import DataError, TrainingError
from ..project import Project
from ..train import checkpoint as ckpt
from ..train import faults
from ..train.callbacks import BatchReport, Callback, EpochReport, TrainResult
from ..train.config import TrainConfig, resolve_device
from ..train.trainer import batch_starts, epoch_permutation
from .data import DataRange
from .samples import GRID_SAMPLES, mean_pairwise_distance, save_grid
from .state import GanState, GanPair

#: Generated samples whose mean pairwise distance is below this fraction of the real data's
#: are reported as a possible mode collapse. Real MNIST digits differ from each other by a
#: typical distance; a generator that found a few modes stays well under half of it.
COLLAPSE_RATIO = 0.5
#: Samples in the diversity check (generated and real alike).
DIVERSITY_SAMPLES = 256
SAMPLES_DIR = "samples"

BATCH_EXTRA = ("d_loss", "g_loss", "d_real_acc", "d_fake_acc")
EPOCH_EXTRA = ("d_loss", "g_loss", "d_real_acc", "d_fake_acc", "diversity", "mode_collapse",
               "warning", "samples_png")


class GanTrainer(GanState):
    """Train `pair` (generator and discriminator) on real samples `x` [n, *sample_shape].

    Args:
        pair: the two compiled networks.
        x: the real samples, already scaled to [-1, 1], on the CPU (None with `reader`).
        data_range: how the samples were scaled, saved so samples can be mapped back.
        config: the training settings (lr, betas, d_steps, label_smoothing, seed...).
        latent_shape: the generator Input's shape.
        reader: reads (scaled) samples by index, for data not held in memory.
        n: the number of samples when `x` is None.
    """

    def __init__(self, pair: GanPair, x: torch.Tensor | None, data_range: DataRange,
                 config: TrainConfig, latent_shape: tuple[int, ...], *,
                 callbacks: Iterable[Callback] = (), run_dir: Path | None = None,
                 project: Project | None = None, node_ids: dict[str, str] | None = None,
                 report_interval: float = 0.1, run_info: dict[str, Any] | None = None,
                 data_info: dict[str, Any] | None = None, reader: Any = None,
                 n: int | None = None) -> None:
        self.pair = pair
        self.model = pair  # what TrainerState-like code and callers expect
        self.x_cpu = x
        self.reader = reader
        self.n = int(x.shape[0]) if x is not None else int(n or 0)
        self.data_range = data_range
        self.config = config
        self.latent_shape = tuple(latent_shape)
        self.callbacks = list(callbacks)
        self.run_dir = run_dir
        self.project = project
        self.node_ids = node_ids or {}
        self.report_interval = report_interval
        self.run_info = dict(run_info or {})
        self.data_info = dict(data_info or {})
        self.device = resolve_device(config.device)
        self.history: list[EpochReport] = []
        self.epoch = 0
        self.step_in_epoch = 0
        self.step = 0
        self._carry = self._fresh_carry()
        self._stop = threading.Event()
        self._optimizer_state: dict[str, Any] | None = None
        self._rng: dict[str, Any] | None = None
        self._phase = "setting up"
        self._saved: tuple[int, int] | None = None
        #: The last sample grid (uint8 [H, W, 3]), also when nothing is saved.
        self.last_grid: Any = None
        gen = torch.Generator().manual_seed(config.seed * 7919 + 17)
        #: The fixed latent batch: its first GRID_SAMPLES make the grid, all of it the
        #: diversity check. Drawn from its own generator, so it never moves the noise stream.
        self.fixed_z = torch.randn((DIVERSITY_SAMPLES, *self.latent_shape), generator=gen)
        real_pick = torch.randperm(max(self.n, 1), generator=gen)[:DIVERSITY_SAMPLES]
        self._real_pick = real_pick[real_pick < self.n]

    @staticmethod
    def _fresh_carry() -> dict[str, Any]:
        return {"d_loss_sum": 0.0, "g_loss_sum": 0.0, "real_hits": 0, "fake_hits": 0,
                "seen": 0, "steps": 0, "seconds": 0.0}

    def stop(self) -> None:
        """Ask the run to stop before its next batch. Safe from any thread."""
        self._stop.set()

    # ---- the run -----------------------------------------------------------------------

    def fit(self) -> TrainResult:
        """Train to the last epoch, a stop, or a failure (reported, never raised)."""
        result = TrainResult("failed", device=str(self.device), run_dir=self.run_dir)
        try:
            self._setup()
            result.status = self._loop()
        except TrainingError as exc:
            result.error = exc
        except RuntimeError as exc:
            if faults.is_oom(exc):
                result.error = TrainingError(
                    f"out of memory at step {self.step + 1} ({self._phase}): lower batch_size "
                    f"(now {self.config.batch_size})", kind="oom", step=self.step + 1)
            else:
                result.error = TrainingError(
                    f"training failed at step {self.step + 1} ({self._phase}): "
                    f"{str(exc).splitlines()[0]}", step=self.step + 1)
        except DataError as exc:
            result.error = TrainingError(f"{self._phase} stopped at step {self.step}: "
                                         f"{exc.describe()}", kind="data", step=self.step)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            result.error = TrainingError(f"{self._phase} failed at step {self.step}: "
                                         f"{exc.strerror or exc}{where}", kind="io",
                                         step=self.step)
        result.epochs, result.step = list(self.history), self.step
        result.checkpoint = self._saved
        if result.error is not None:
            self._x = None
            for opt in (getattr(self, "g_opt", None), getattr(self, "d_opt", None)):
                if opt is not None:
                    opt.state.clear()
            faults.release_cached_memory()  # the next run finds the GPU memory free
            try:
                self._write_run_info("failed", result.error.message)
            except OSError:
                pass
            for cb in self.callbacks:
                cb.on_failed(result.error)
        else:
            for cb in self.callbacks:
                cb.on_finished(result)
        return result

    def _setup(self) -> None:
        cfg, dev = self.config, self.device
        self._phase = "setting up"
        if self.n < 2:
            raise TrainingError(f"only {self.n} sample(s): a GAN needs data to imitate",
                                kind="config")
        self.pair.to(dev)
        self.pair.train()
        self._x = self.x_cpu.to(dev) if self.x_cpu is not None else None
        g_params = [p for p in self.pair.generator.parameters() if p.requires_grad]
        d_params = [p for p in self.pair.discriminator.parameters() if p.requires_grad]
        for name, params in (("generator", g_params), ("discriminator", d_params)):
            if not params:
                raise TrainingError(f"the {name} has no trainable weights: add a layer with "
                                    "weights (Linear, Conv2d, ...)", kind="config")
        betas = tuple(cfg.betas)
        self.g_opt = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas,  # type: ignore[arg-type]
                                      weight_decay=cfg.weight_decay)
        self.d_opt = torch.optim.Adam(d_params, lr=cfg.lr, betas=betas,  # type: ignore[arg-type]
                                      weight_decay=cfg.weight_decay)
        if self._optimizer_state is not None:
            self.g_opt.load_state_dict(self._optimizer_state["generator"])
            self.d_opt.load_state_dict(self._optimizer_state["discriminator"])
        if self._rng is not None:
            torch.set_rng_state(self._rng["cpu"])
            if dev.type == "cuda" and self._rng.get("cuda") is not None:
                torch.cuda.set_rng_state(self._rng["cuda"], dev)
        else:
            torch.manual_seed(cfg.seed)
        self.starts = batch_starts(self.n, cfg.batch_size)
        self.total_steps = len(self.starts) * cfg.epochs
        self._real_ref = self._real_batch(self._real_pick)
        self._real_distance = mean_pairwise_distance(self._real_ref)
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._saved = self._checkpoint_on_disk()
            if self.project is not None:
                ckpt.save_project_copy(self.run_dir, self.project)
        self._write_run_info("running")
        info = {"device": str(dev), "epochs": cfg.epochs, "steps_per_epoch": len(self.starts),
                "total_steps": self.total_steps, "start_step": self.step,
                "train_samples": self.n, "val_samples": 0, "recipe": "gan",
                "run_dir": str(self.run_dir) if self.run_dir else None,
                "samples_dir": str(self.run_dir / SAMPLES_DIR) if self.run_dir else None}
        for cb in self.callbacks:
            cb.on_train_begin(info)

    def _real_batch(self, idx: torch.Tensor) -> torch.Tensor:
        if self._x is not None:
            return self._x[idx.to(self._x.device)]
        return self.reader(idx.cpu()).to(self.device)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn((n, *self.latent_shape), device=self.device)

    def _loop(self) -> str:
        for epoch in range(self.epoch, self.config.epochs):
            self.epoch = epoch
            if not self._train_epoch(epoch):
                return self._stopped()
            report = self._epoch_report(epoch)
            self.history.append(report)
            self.epoch, self.step_in_epoch = epoch + 1, 0
            self._carry = self._fresh_carry()
            self._save(epoch_end=True)
            for cb in self.callbacks:
                cb.on_epoch_end(report)
        self._write_run_info("finished")
        return "finished"

    def _train_epoch(self, epoch: int) -> bool:
        cfg, dev = self.config, self.device
        steps = len(self.starts)
        perm = epoch_permutation(cfg.seed, epoch, self.n).to(dev)
        sizes = [min(cfg.batch_size, self.n - s) for s in self.starts]
        # per step: d_loss, g_loss, real hits, fake hits (read back once per report)
        stats = torch.zeros((steps, 4), device=dev, dtype=torch.float64)
        real_target = 1.0 - cfg.label_smoothing
        first = reported = self.step_in_epoch
        started = time.perf_counter() - self._carry["seconds"]
        last_time = time.perf_counter()
        self._phase = "training"
        G, D = self.pair.generator, self.pair.discriminator
        for i in range(first, steps):
            if self._stop.is_set():
                self._account(stats, sizes, reported, i, started)
                return False
            idx = perm[self.starts[i]:self.starts[i] + cfg.batch_size]
            real = self._real_batch(idx)
            b = real.shape[0]
            fake = G(self._noise(b))
            for k in range(cfg.d_steps):
                fake_d = fake.detach() if k == 0 else self._fresh_fake(b)
                real_out, fake_out = D(real).reshape(b), D(fake_d).reshape(b)
                d_loss = (F.binary_cross_entropy_with_logits(
                    real_out, torch.full_like(real_out, real_target))
                    + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
                self.d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                self.d_opt.step()
            g_out = D(fake).reshape(b)
            g_loss = F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))
            self.g_opt.zero_grad(set_to_none=True)
            g_loss.backward()
            self.g_opt.step()
            with torch.no_grad():
                stats[i, 0] = d_loss.detach()
                stats[i, 1] = g_loss.detach()
                stats[i, 2] = (real_out.detach() > 0).sum()
                stats[i, 3] = (fake_out.detach() < 0).sum()
            self.step += 1
            self.step_in_epoch = i + 1
            now = time.perf_counter()
            if now - last_time >= self.report_interval or i == steps - 1:
                before = self._carry["seen"]
                window = self._account(stats, sizes, reported, i + 1, started)
                self._report_batch(window, (self._carry["seen"] - before) / (now - last_time))
                reported, last_time = i + 1, now
        return True

    def _fresh_fake(self, b: int) -> torch.Tensor:
        with torch.no_grad():
            return self.pair.generator(self._noise(b))

    def _account(self, stats: torch.Tensor, sizes: list[int], lo: int, hi: int,
                 started: float) -> tuple[float, float]:
        """Fold steps [lo, hi) into the epoch's totals (one device read); returns the
        window's mean (d_loss, g_loss). A loss that is not finite ends the run."""
        carry = self._carry
        carry["seconds"] = time.perf_counter() - started
        if hi <= lo:
            return float("nan"), float("nan")
        window = stats[lo:hi]
        values = window.cpu()
        losses = values[:, :2]
        if not torch.isfinite(losses).all():
            bad = int((~torch.isfinite(losses)).any(dim=1).double().argmax())
            step = self.step - (hi - lo) + bad + 1
            which = "discriminator" if not math.isfinite(float(losses[bad, 0])) else "generator"
            raise TrainingError(
                f"the {which} loss became {float(losses[bad, 0 if which[0] == 'd' else 1])} at "
                f"step {step} (epoch {self.epoch + 1}): lower lr (now {self.config.lr})",
                kind="nan", step=step)
        carry["d_loss_sum"] += float(values[:, 0].sum())
        carry["g_loss_sum"] += float(values[:, 1].sum())
        carry["real_hits"] += int(values[:, 2].sum())
        carry["fake_hits"] += int(values[:, 3].sum())
        carry["seen"] += sum(sizes[lo:hi])
        carry["steps"] += hi - lo
        return float(values[:, 0].mean()), float(values[:, 1].mean())

    def _running(self) -> dict[str, float]:
        c = self._carry
        steps, seen = max(c["steps"], 1), max(c["seen"], 1)
        return {"d_loss": c["d_loss_sum"] / steps, "g_loss": c["g_loss_sum"] / steps,
                "d_real_acc": c["real_hits"] / seen, "d_fake_acc": c["fake_hits"] / seen}

    def _report_batch(self, window: tuple[float, float], rate: float) -> None:
        running = self._running()
        extra = {"d_loss": window[0], "g_loss": window[1],
                 "d_real_acc": running["d_real_acc"], "d_fake_acc": running["d_fake_acc"]}
        report = BatchReport(self.epoch + 1, self.config.epochs, self.step, self.step_in_epoch,
                             len(self.starts), self.total_steps, window[1], running["g_loss"],
                             None, rate, self.config.lr, extra)
        for cb in self.callbacks:
            cb.on_batch_end(report)

    # ---- end of epoch: grid and diversity ----------------------------------------------

    @torch.no_grad()
    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's output for `z` in eval mode (no noise drawn, so the training
        stream is untouched), in the model's [-1, 1]."""
        G = self.pair.generator
        was = G.training
        G.eval()
        try:
            return G(z.to(self.device))
        finally:
            G.train(was)

    def _epoch_report(self, epoch: int) -> EpochReport:
        self._phase = "drawing samples"
        fake = self.generate(self.fixed_z)
        distance = mean_pairwise_distance(fake)
        diversity = distance / self._real_distance if self._real_distance > 0 else 1.0
        collapse = diversity < COLLAPSE_RATIO
        warning = None
        if collapse:
            warning = (f"possible mode collapse at epoch {epoch + 1}: the generated samples "
                       f"are {diversity:.2f}x as varied as the real ones (mean pairwise "
                       f"distance {distance:.2f} vs {self._real_distance:.2f}; below "
                       f"{COLLAPSE_RATIO} is reported)")
            self.run_info.setdefault("warnings", []).append(warning)
        grid01 = self.data_range.to_data(fake[:GRID_SAMPLES])
        grid01 = (grid01 - self.data_range.low) / (self.data_range.high - self.data_range.low)
        png = None
        if self.run_dir is not None:
            png = self.run_dir / SAMPLES_DIR / f"epoch_{epoch + 1:03d}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            self.last_grid = save_grid(grid01, png)
        else:
            from .samples import render_grid

            self.last_grid = render_grid(grid01)
        running = self._running()
        carry = self._carry
        extra: dict[str, Any] = dict(running)
        extra.update({"diversity": round(diversity, 6), "mode_collapse": collapse,
                      "warning": warning, "samples_png": str(png) if png else None})
        return EpochReport(epoch + 1, running["g_loss"], None, None, None, carry["seconds"],
                           carry["seen"] / max(carry["seconds"], 1e-9), self.step,
                           self.config.lr, extra)
