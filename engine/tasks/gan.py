"""The GAN: a generator and a discriminator trained against each other.

The recipe (Goodfellow et al. 2014, with the non-saturating generator loss and DCGAN's Adam
settings): for every batch of real samples (scaled to [-1, 1], see `gan.data`),

1. `d_steps` discriminator updates, each on the real batch and a batch generated from fresh
   noise: ``BCEWithLogits(D(real), 1 - label_smoothing) + BCEWithLogits(D(fake), 0)``;
2. one generator update: ``BCEWithLogits(D(G(z)), 1)`` (non-saturating: G maximises
   log D(G(z)) instead of minimising log(1 - D(G(z))), whose gradient vanishes early on).

Two Adam optimizers (`lr`, `betas`). An epoch is one pass over the real samples. The noise is
drawn from torch's global generator, which the run loop seeds and checkpoints, so a stopped
run resumes at the same step with the same noise, optimizer moments and weights.

After every epoch a fixed, seeded latent batch gives the sample grid
(``samples/epoch_NNN.png`` in the run folder) and the mode-collapse check: the mean pairwise
distance of generated samples over that of real ones; below `COLLAPSE_RATIO` the epoch report
and run.json say so. The epoch's numbers are in each report's `extra` (`EPOCH_EXTRA`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CompileError, TrainingError
from ..lazy import lazy_module
from ..project import Project
from ..train.callbacks import BatchReport, EpochReport
from ..train.task_api import Stat
from .base import Chart, Prepared, Task

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..gan.checks import GanAnalysis
    from ..gan.data import DataRange
    from ..shapes import Infer

torch = lazy_module("torch")
F = lazy_module("torch.nn.functional")

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
#: Columns of a GAN run's metrics.csv, in order (documented in docs/project-format.md).
GAN_METRIC_COLUMNS = ("epoch", "d_loss", "g_loss", "d_real_acc", "d_fake_acc", "diversity",
                      "mode_collapse", "seconds", "samples_per_s")


class Gan(Task):
    name = "gan"
    title = "GAN"
    template = "gan_mnist.json"
    summary = "A generator learns to make samples a discriminator cannot tell from the data."
    own_settings = ("betas", "d_steps", "label_smoothing")
    stats = (Stat("d_loss", per="step", label="the discriminator loss"),
             Stat("g_loss", per="step", label="the generator loss"),
             Stat("real_hits", kind="count"), Stat("fake_hits", kind="count"))
    validates = False
    channels_last = False
    metric_columns = GAN_METRIC_COLUMNS
    charts = (Chart("Loss", ("d_loss", "g_loss"), history=("d_loss", "g_loss")),
              Chart("Discriminator accuracy", ("d_real_acc", "d_fake_acc"), percent=True))
    headline = (("d_loss", "d_loss"), ("g_loss", "g_loss"))
    export_formats = ("python",)
    samples = True
    data_graph = "discriminator"
    targets = "none"  # the samples are imitated; their labels, if any, are not used

    def __init__(self) -> None:
        self.fixed_z: Any = None
        self.latent_shape: tuple[int, ...] = ()
        self.scale: "DataRange | None" = None
        #: The last sample grid (uint8 [H, W, 3]), also when nothing is saved.
        self.last_grid: Any = None
        self._real_distance = 0.0

    # ---- checks -----------------------------------------------------------------------

    def analyze(self, project: Project, infer: "Infer | None" = None) -> "GanAnalysis":
        from ..gan.checks import analyze_gan
        from ..project_checks import project_problems

        analysis = analyze_gan(project, infer=infer)
        analysis.problems.extend(project_problems(project, self.validates,
                                                  self.metric_columns))
        return analysis

    def summary_json(self, project: Project) -> dict[str, Any]:
        from ..gan.report import gan_summary_json

        return gan_summary_json(project, self.analyze(project))  # the file's keys too

    def summary_lines(self, project: Project, path: str) -> tuple["GanAnalysis", list[str]]:
        from ..gan.report import gan_summary_lines

        return gan_summary_lines(project, path, self.analyze(project))

    def describe_start(self, project: Project, data: dict[str, Any], device: Any) -> str:
        return (f"training the GAN {project.name} on {device}: {data['name']}, "
                f"{data['train_samples']} samples of shape {data['sample_shape']}, latent "
                f"{list(self.latent_shape)}")

    def weights_source(self, project: Project, weights: Path | None, fmt: str) -> str:
        from ..gan.export import gan_models

        return gan_models(project, weights, fmt)[1]

    def epoch_line(self, report: EpochReport) -> str:
        e = report.extra
        line = (f"epoch {report.epoch}: d_loss {e['d_loss']:.4f} g_loss {e['g_loss']:.4f}, "
                f"D accuracy real {e['d_real_acc']:.3f} fake {e['d_fake_acc']:.3f}, diversity "
                f"{e['diversity']:.2f}, {report.samples_per_s:,.0f} samples/s, "
                f"{report.seconds:.1f} s")
        if e.get("samples_png"):
            line += f", samples {e['samples_png']}"
        return line

    def export(self, project: Project, fmt: str, out: Path, weights: Path | None) -> Any:
        from ..gan.export import export_gan

        return export_gan(project, fmt, out, weights)  # refuses the one-model formats

    # ---- building ---------------------------------------------------------------------

    def prepare(self, project: Project, config: Any, tokenizer: Any = None) -> Prepared:
        """`tokenizer` is unused: a GAN reads no text."""
        from ..compile import compile_graph, module_names
        from ..data import load_dataset
        from ..data.dataset import Split
        from ..gan.checks import analyze_gan
        from ..gan.data import data_range, fit_samples
        from ..gan.pair import GanPair

        checked = analyze_gan(project)
        if not checked.ok:
            raise CompileError(checked.errors)
        base = project.path.parent if project.path is not None else None
        data = load_dataset(project.dataset, base, self.targets)
        d_input = _input_id(project)
        spec = checked.discriminator.nodes[d_input].spec
        assert spec is not None
        data, notes = fit_samples(data, spec.shape)
        checked = analyze_gan(project, tuple(data.input_shape), data.name)
        if not checked.ok:
            raise CompileError(checked.errors)
        assert checked.latent_shape is not None
        self.latent_shape = tuple(checked.latent_shape)
        self.scale = scale = data_range(data)
        notes.append(f"samples scaled from [{scale.low:g}, {scale.high:g}] ({data.name}"
                     f"{'' if scale.source == 'declared' else ', measured'}) to [-1, 1]")
        graphs = project.graphs()
        pair = GanPair(compile_graph(graphs["generator"], checked.generator, seed=config.seed,
                                     class_name="Generator"),
                       compile_graph(graphs["discriminator"], checked.discriminator,
                                     seed=config.seed + 1, class_name="Discriminator"))
        node_ids = {}
        for key, graph in graphs.items():
            for node_id, name in module_names(n.id for n in graph.nodes).items():
                node_ids[f"{key}.{name}"] = node_id
        described = data.describe()
        described.update({"train_samples": len(data), "val_samples": 0,
                          "sample_shape": list(data.input_shape),
                          "data_range": scale.to_json()})
        scaled = _scaled(data, scale)
        split = Split(scaled, scaled.subset(torch.arange(0)), None, scaled)
        gen = torch.Generator().manual_seed(config.seed * 7919 + 17)
        #: The fixed latent batch: its first GRID_SAMPLES make the grid, all of it the
        #: diversity check. Drawn from its own generator, so it never moves the noise stream.
        self.fixed_z = torch.randn((DIVERSITY_SAMPLES, *self.latent_shape), generator=gen)
        pick = torch.randperm(max(len(data), 1), generator=gen)[:DIVERSITY_SAMPLES]
        self._real_pick = pick[pick < len(data)]
        return Prepared(pair, split, node_ids, notes, data_info=described)

    # ---- in the run loop --------------------------------------------------------------

    def make_optimizers(self, loop: Any) -> dict[str, torch.optim.Optimizer]:
        from ..train.finetune import BlockTraining
        from ..train.fused_step import fused_step

        cfg, pair = loop.config, loop.model
        blocks = getattr(loop, "blocks", None) or BlockTraining()
        out = {}
        for key in ("generator", "discriminator"):
            params = blocks.param_groups(getattr(pair, key), cfg.lr, prefix=f"{key}.",
                                         what=f"the {key}")
            out[key] = torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas),  # type: ignore[arg-type]
                                        weight_decay=cfg.weight_decay, **fused_step(params))
        return out

    def on_setup(self, loop: Any) -> None:
        from ..gan.samples import mean_pairwise_distance

        n = len(loop.split.train)
        if n < 2:
            raise TrainingError(f"only {n} sample(s): a GAN needs data to imitate",
                                kind="config")
        real, _ = loop.batch("train", self._real_pick.to(loop.device), augment=False)
        self._real_distance = mean_pairwise_distance(real)

    def _noise(self, loop: Any, n: int) -> Any:
        return torch.randn((n, *self.latent_shape), device=loop.device)

    def train_step(self, loop: Any, idx: Any, row: Any) -> None:
        cfg = loop.config
        G, D = loop.model.generator, loop.model.discriminator
        d_opt, g_opt = loop.optimizers["discriminator"], loop.optimizers["generator"]
        real, _ = loop.batch("train", idx)
        b = real.shape[0]
        real_target = 1.0 - cfg.label_smoothing
        fake = G(self._noise(loop, b))
        for k in range(cfg.d_steps):
            if k == 0:
                fake_d = fake.detach()
            else:
                with torch.no_grad():
                    fake_d = G(self._noise(loop, b))
            real_out, fake_out = D(real).reshape(b), D(fake_d).reshape(b)
            d_loss = (F.binary_cross_entropy_with_logits(
                real_out, torch.full_like(real_out, real_target))
                + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
            loop.update(d_loss, d_opt)
        g_out = D(fake).reshape(b)
        g_loss = F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))
        loop.update(g_loss, g_opt)
        with torch.no_grad():
            row[0] = d_loss.detach()
            row[1] = g_loss.detach()
            row[2] = (real_out.detach() > 0).sum()
            row[3] = (fake_out.detach() < 0).sum()

    def _running(self, running: dict[str, float]) -> dict[str, float]:
        return {"d_loss": running["d_loss"], "g_loss": running["g_loss"],
                "d_real_acc": running["real_hits"], "d_fake_acc": running["fake_hits"]}

    def batch_report(self, loop: Any, window: dict[str, float], running: dict[str, float],
                     rate: float) -> BatchReport:
        shown = self._running(running)
        # the losses and the accuracies of the batches since the last report
        extra = {"d_loss": window["d_loss"], "g_loss": window["g_loss"],
                 "d_real_acc": window["real_hits"], "d_fake_acc": window["fake_hits"]}
        return BatchReport(loop.epoch + 1, loop.config.epochs, loop.step, loop.step_in_epoch,
                           len(loop.starts), loop.total_steps, window["g_loss"],
                           shown["g_loss"], None, rate, loop.config.lr, extra)

    def generate(self, loop: Any, z: Any) -> Any:
        """The generator's output for `z` in eval mode (no noise drawn, so the training
        stream is untouched), in the model's [-1, 1]."""
        G = loop.model.generator
        was = G.training
        G.eval()
        try:
            with torch.no_grad():
                return G(z.to(loop.device))
        finally:
            G.train(was)

    def epoch_report(self, loop: Any, epoch: int, running: dict[str, float],
                     scores: dict[str, Any]) -> EpochReport:
        from ..gan.samples import GRID_SAMPLES, mean_pairwise_distance, render_grid, save_grid

        loop._phase = "drawing samples"
        assert self.fixed_z is not None
        fake = self.generate(loop, self.fixed_z)
        distance = mean_pairwise_distance(fake)
        real = self._real_distance
        diversity = distance / real if real > 0 else 1.0
        collapse = diversity < COLLAPSE_RATIO
        warning = None
        if collapse:
            warning = (f"possible mode collapse at epoch {epoch}: the generated samples "
                       f"are {diversity:.2f}x as varied as the real ones (mean pairwise "
                       f"distance {distance:.2f} vs {real:.2f}; below "
                       f"{COLLAPSE_RATIO} is reported)")
            loop.run_info.setdefault("warnings", []).append(warning)
        scale = self.scale
        assert scale is not None
        grid01 = (scale.to_data(fake[:GRID_SAMPLES]) - scale.low) / (scale.high - scale.low)
        png = None
        if loop.run_dir is not None:
            png = loop.run_dir / SAMPLES_DIR / f"epoch_{epoch:03d}.png"
            png.parent.mkdir(parents=True, exist_ok=True)
            self.last_grid = save_grid(grid01, png)
        else:
            self.last_grid = render_grid(grid01)
        shown = self._running(running)
        carry = loop._carry
        extra: dict[str, Any] = dict(shown)
        extra.update({"diversity": round(diversity, 6), "mode_collapse": collapse,
                      "warning": warning, "samples_png": str(png) if png else None})
        return EpochReport(epoch, shown["g_loss"], None, None, None, carry["seconds"],
                           carry["seen"] / max(carry["seconds"], 1e-9), loop.step,
                           loop.config.lr, extra)

    def begin_info(self, loop: Any) -> dict[str, Any]:
        return {"recipe": "gan", "samples_dir": str(loop.run_dir / SAMPLES_DIR)
                if loop.run_dir else None}

    def state_extra(self, loop: Any) -> dict[str, Any]:
        assert self.scale is not None
        return {"recipe": "gan", "data_range": self.scale.to_json(),
                "latent_shape": list(self.latent_shape)}

    def check_state(self, state: dict[str, Any]) -> None:
        if state.get("recipe") != "gan":
            raise TrainingError("the run folder's state.pt is not a GAN trainer state",
                                kind="config")


def _scaled(data: "Dataset", scale: "DataRange") -> "Dataset":
    """The samples in the model's [-1, 1], in memory or read from disk as they train."""
    from ..data.dataset import Dataset

    if data.x is not None:
        return Dataset(scale.to_model(data.x.float()), data.y, data.name, data.classes,
                       data.info)
    raw = data.read
    return Dataset(None, data.y, data.name, data.classes, data.info,
                   lambda idx: scale.to_model(raw(idx).float()), data.sample_shape, "float32")


def _input_id(project: Project) -> str:
    graph = project.graphs()["discriminator"]
    return next(i for i in graph.input_ids() if graph.out_edges(i))


TASK = Gan
