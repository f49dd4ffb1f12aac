"""A task: what one kind of model declares, over the one run loop that trains them all.

A task is one small class (``engine/tasks/<name>.py``). Its class attributes are the
declaration every view reads: the training settings it uses (the settings panel shows those
and no others), the numbers a step records, the per-epoch metrics (names are a contract:
``--metrics-json``, metrics.csv and the Plots tab use them), the charts the Plots tab draws,
the Evaluate views it offers and the export formats that mean something for it. Its methods
are the few steps that differ: check the graph, load and fit the data, build the model, one
training step, the validation metrics, the reports. Everything else is the run loop's.

The file-format facts of a task (its graphs, losses and defaults) are declared with the
project format, in `project.TASKS`, and read from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import TrainingError
from ..lazy import lazy_module
from ..project import TASKS, TRAINING_FIELDS, Project, TaskFormat
from ..train.callbacks import BatchReport, EpochReport
from ..train.task_api import Stat

if TYPE_CHECKING:
    from torch import nn

    from ..data.dataset import Split
    from ..shapes import Infer
    from ..train.loop import RunLoop

torch = lazy_module("torch")

#: Settings every task reads.
COMMON_SETTINGS = ("epochs", "batch_size", "lr", "weight_decay", "seed", "clip_grad_norm",
                   "early_stopping", "keep", "keep_metric", "stats_every", "tensorboard")


@dataclass(frozen=True)
class Chart:
    """One plot of the Plots tab.

    Args:
        title: the plot's title.
        batch: values of the live reports drawn as they arrive: ``loss`` and ``accuracy``
            (the report's own), or a key of its `extra` (``d_loss``). Losses are drawn faint
            with a smoothed line over them.
        epoch: per-epoch metrics drawn as points (``val_loss``).
        history: the metrics drawn for earlier runs (default: `epoch`).
        percent: values in [0, 1] (accuracies): a fixed axis.
    """

    title: str
    batch: tuple[str, ...] = ()
    epoch: tuple[str, ...] = ()
    history: tuple[str, ...] | None = None
    percent: bool = False

    @property
    def history_metrics(self) -> tuple[str, ...]:
        return self.epoch if self.history is None else self.history


@dataclass
class Prepared:
    """Everything a run needs, built and checked before its first step."""

    model: nn.Module
    split: Split
    node_ids: dict[str, str]
    notes: list[str] = field(default_factory=list)
    #: What run.json and the start of the run say of the data (None: the split's own).
    data_info: dict[str, Any] | None = None
    probe: Any = None


class Task:
    """The declaration and the steps of one kind of model (see the module doc).

    Subclasses set the class attributes; an instance serves one run (a GAN keeps its fixed
    latent batch on it), and a fresh one is cheap.
    """

    name: ClassVar[str]
    #: How the task is called in choosers and headings ("Classification").
    title: ClassVar[str]
    #: One line for the New project dialog and the docs.
    summary: ClassVar[str]
    #: Training settings it reads besides `COMMON_SETTINGS` and the device.
    own_settings: ClassVar[tuple[str, ...]] = ()
    #: The numbers one training step records (see `train.task_api.Stat`).
    stats: ClassVar[tuple[Stat, ...]] = (Stat("loss"),)
    #: Whether the run loop validates after each epoch.
    validates: ClassVar[bool] = True
    #: Whether image models of this task may train in channels-last layout.
    channels_last: ClassVar[bool] = True
    #: The columns of the run folder's metrics.csv, in order (a contract).
    metric_columns: ClassVar[tuple[str, ...]] = ("epoch", "train_loss", "val_loss", "seconds",
                                                 "samples_per_s")
    #: What the Plots tab draws.
    charts: ClassVar[tuple[Chart, ...]] = (Chart("Loss", ("loss",), ("val_loss",)),)
    #: The metrics that sum up a finished run, with how a sentence names them
    #: ("validation accuracy 0.9812"); the first is the one `torchloom train` ends with.
    headline: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: The views of the Evaluate tab, by name (see the GUI's evaluate panel).
    views: ClassVar[tuple[str, ...]] = ()
    #: Whether the Inspect tab and `torchloom probe` look inside its runs.
    probes: ClassVar[bool] = False
    #: Whether its runs draw samples (a sample grid per epoch; `torchloom sample`).
    samples: ClassVar[bool] = False
    #: The graph the dataset's samples go into (the Data tab fits its Input).
    data_graph: ClassVar[str] = "graph"
    #: A small project of this task that trains on data Torchloom ships or generates
    #: (a file of ``resources/examples``): File → New from template opens it untitled.
    template: ClassVar[str | None] = None
    #: Export formats that mean something for it.
    export_formats: ClassVar[tuple[str, ...]] = ("python", "onnx", "pt2", "safetensors",
                                                 "torchrun")
    #: What the data loaders are asked for (`data.sources.TARGETS`): "classification",
    #: "regression", "multilabel", "segmentation" or "none".
    targets: ClassVar[str] = "classification"
    #: Whether float inputs are normalised with the training split's statistics (not for
    #: an autoencoder, whose input is also the target it must reproduce, in its own units).
    normalizes: ClassVar[bool] = True

    # ---- the declaration ----------------------------------------------------------------

    @classmethod
    def file_format(cls) -> TaskFormat:
        return TASKS[cls.name]

    @classmethod
    def graph_keys(cls) -> tuple[str, ...]:
        return cls.file_format().graphs

    @classmethod
    def settings(cls) -> tuple[str, ...]:
        """Every training setting it reads, in the order the settings panel shows them."""
        wanted = set(COMMON_SETTINGS) | set(cls.own_settings)
        if cls.file_format().losses[1:]:  # a choice of losses
            wanted.add("loss")
        return tuple(name for name in TRAINING_FIELDS if name in wanted)

    @classmethod
    def uses(cls, setting: str) -> bool:
        return setting in cls.settings()

    @classmethod
    def setting(cls, name: str) -> Any:
        """The declaration of a training setting as this task takes it: `TRAINING_FIELDS`'s,
        with the loss narrowed to the task's own choices and default."""
        from ..params import Choice

        decl = TRAINING_FIELDS[name]
        losses = cls.file_format().losses
        if name == "loss" and losses:
            return Choice(losses[0], "Loss function: " + ", ".join(losses) + ".",
                          choices=losses)
        return decl

    # ---- checks and building (before any step) ---------------------------------------

    def analyze(self, project: Project, infer: "Infer | None" = None) -> Any:
        """The project's graph problems (an `Analysis`-like object with `errors`,
        `warnings` and `ok`), with the task's own rules added. `infer` is the shape pass
        (`shapes.infer` by default); a window passes its `ShapeTracker`s', which work only
        on what the last edits changed."""
        raise NotImplementedError

    def summary_json(self, project: Project) -> dict[str, Any]:
        """`torchloom summary --json` (a public contract, see docs/cli.md)."""
        raise NotImplementedError

    def summary_lines(self, project: Project, path: str) -> tuple[Any, list[str]]:
        """What `torchloom summary` prints, and the analysis whose errors it prints after
        (and which decide its exit code)."""
        raise NotImplementedError

    def prepare(self, project: Project, config: Any, tokenizer: Any = None) -> Prepared:
        """Load the data, fit it to the graph, compile: everything before the first step
        that can fail on bad input, raising typed errors. `tokenizer` is the one a run
        being resumed or warm-started from saved: text is encoded with it, never refitted,
        so the ids mean what they meant when the weights learned them."""
        raise NotImplementedError

    def describe_start(self, project: Project, data: dict[str, Any], device: Any) -> str:
        """The line `torchloom train` prints before training."""
        return (f"training {project.name} on {device}: {data['name']}, "
                f"{data['train_samples']} train / {data['val_samples']} validation samples, "
                f"input {data['input_shape']}")

    def evaluate(self, trained: Any, data: Any) -> Any:
        """What the Evaluate tab shows of a trained model on `data` (its validation split):
        one of `probe.evaluations` (a classifier's `probe.predictions.Predictions`)."""
        from ..errors import ProbeError

        raise ProbeError(f"Evaluate has no view for the {self.name} task")

    def epoch_line(self, report: EpochReport) -> str:
        """One epoch as `torchloom train` prints it."""
        line = f"epoch {report.epoch}: train loss {report.train_loss:.4f}"
        if report.train_acc is not None:
            line += f" acc {report.train_acc:.4f}"
        if report.val_loss is not None:
            line += f", val loss {report.val_loss:.4f}"
        if report.val_acc is not None:
            line += f" acc {report.val_acc:.4f}"
        for key, value in report.extra.items():
            if isinstance(value, float):
                line += f", {key} {value:.4f}"
        return line + f", {report.samples_per_s:,.0f} samples/s, {report.seconds:.1f} s"

    def export(self, project: Project, fmt: str, out: Path, weights: Path | None) -> Any:
        """Export as `fmt` (one of `export_formats`); see `export.export_project`."""
        from ..export.formats import export_graph_project

        return export_graph_project(project, fmt, out, weights, self.export_note(project))

    def export_note(self, project: Project) -> str:
        """What the python export's docstring says the model was trained for."""
        metrics = ", ".join(c for c in self.metric_columns if c.startswith("val_"))
        loss = project.training_config().get("loss")
        return (f"Task: {self.name} ({self.title.lower()}), loss {loss}"
                + (f"; validation metrics {metrics}." if metrics else "."))

    def weights_source(self, project: Project, weights: Path | None, fmt: str) -> str:
        """Where an export's weights come from ("run <dir>", "fresh (seed 0)"); raises
        when `weights` cannot be read or does not fit, before anything is written."""
        from ..export.model import prepare_model

        return prepare_model(project, weights, fmt=fmt).weights_from

    # ---- in the run loop --------------------------------------------------------------

    def make_optimizers(self, loop: "RunLoop") -> dict[str, torch.optim.Optimizer]:
        """One optimizer, as the settings say; its name "" (saved as a plain state dict)."""
        from ..train.finetune import BlockTraining
        from ..train.fused_step import fused_step

        cfg = loop.config
        blocks = getattr(loop, "blocks", None) or BlockTraining()
        params = blocks.param_groups(loop.model, cfg.lr)  # one group per block lr_scale
        fused = fused_step(params)
        if cfg.optimizer == "sgd":
            optimizer: torch.optim.Optimizer = torch.optim.SGD(
                params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                **fused)
        elif cfg.optimizer == "adamw":
            optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                          **fused)
        else:
            optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                                         **fused)
        return {"": optimizer}

    def targets_to_device(self, y: torch.Tensor) -> torch.Tensor:
        return y

    def on_setup(self, loop: "RunLoop") -> None:
        """After the data is on the device and before the first step."""

    def train_step(self, loop: "RunLoop", idx: torch.Tensor, row: torch.Tensor) -> None:
        """One supervised step on samples `idx`: forward, loss, update; the loss (and what
        `record` adds) goes into `row`, one slot per stat."""
        from ..train.inputs import call

        xb, yb = loop.batch("train", idx)
        yb = self.target(xb, yb)
        with loop.autocast():
            out = call(loop.model, xb)
        loss = self.loss(loop, out, yb)
        loop.update(loss, loop.optimizers[""])
        row[0] = loss.detach()
        self.record(row, out.detach(), yb)

    def target(self, x: "torch.Tensor", y: "torch.Tensor") -> "torch.Tensor":
        """What the output is compared with: the data's targets (an autoencoder's input)."""
        return y

    def record(self, row: torch.Tensor, out: torch.Tensor, y: torch.Tensor) -> None:
        """Stats beyond the loss for one training batch (a classifier's hits)."""

    def loss(self, loop: "RunLoop", out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def val_begin(self, loop: "RunLoop") -> dict[str, torch.Tensor]:
        return {}

    def val_batch(self, loop: "RunLoop", sums: dict[str, torch.Tensor], out: torch.Tensor,
                  y: torch.Tensor) -> None:
        """Add one validation batch to `sums` (device tensors, read once at the end)."""

    def val_metrics(self, loop: "RunLoop", sums: dict[str, torch.Tensor],
                    n: int) -> dict[str, Any]:
        """The validation metrics beyond val_loss, from `sums` over `n` samples."""
        return {}

    def batch_report(self, loop: "RunLoop", window: dict[str, float],
                     running: dict[str, float], rate: float) -> BatchReport:
        return BatchReport(loop.epoch + 1, loop.config.epochs, loop.step, loop.step_in_epoch,
                           len(loop.starts), loop.total_steps, window["loss"],
                           running["loss"], running.get("correct"), rate, loop.lr(),
                           batch_accuracy=window.get("correct"))

    def epoch_report(self, loop: "RunLoop", epoch: int, running: dict[str, float],
                     scores: dict[str, Any]) -> EpochReport:
        carry = loop._carry
        scores = dict(scores)
        return EpochReport(epoch, running["loss"], running.get("correct"),
                           scores.pop("val_loss", None), scores.pop("val_acc", None),
                           carry["seconds"], carry["seen"] / max(carry["seconds"], 1e-9),
                           loop.step, loop.lr(), scores)

    def target_max(self, loop: "RunLoop") -> float | None:
        """The largest |target|, where large targets make a loss overflow (regression)."""
        return None

    def begin_info(self, loop: "RunLoop") -> dict[str, Any]:
        return {}

    def state_extra(self, loop: "RunLoop") -> dict[str, Any]:
        """What the task adds to state.pt and run.json."""
        return {}

    def check_state(self, state: dict[str, Any]) -> None:
        """Refuse a trainer state another task wrote."""
        saved = state.get("task") or ("gan" if state.get("recipe") == "gan" else None)
        if saved is not None and saved != self.name:
            raise TrainingError(f"the run folder's state.pt was written by a {saved} run, and "
                                f"this project is a {self.name} one: start a new run",
                                kind="config")

    def release(self, loop: "RunLoop") -> None:
        """After a failure: drop what the task holds on the device."""


def shown(shape: tuple[Any, ...]) -> str:
    """``[N, 3, 32, 32]``: a batch of samples of `shape`."""
    return "[" + ", ".join(["N", *map(str, shape)]) + "]"
