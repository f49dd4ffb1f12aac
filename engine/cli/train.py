"""`torchloom train`: the engine's training, headless, with a progress bar."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..data.progress import reading_progress
from ..errors import CompileError, TorchloomError
from ..fileio import atomic_write_text
from ..train.callbacks import BatchReport, Callback, EpochReport, TrainResult
from ..train.config import check_setting_names
from ..train.interrupt import stop_on_interrupt
from .load_progress import LoadProgress
from .output import in_range, one_line, path_arg, say, silence

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 130
#: What the first Ctrl+C says (`train` and `sweep` alike).
INTERRUPTED = "\nstopping after this batch (Ctrl+C again to abort)"


class ProgressBar(Callback):
    """A tqdm bar over all steps, with the losses, accuracy and samples/s; one line per
    epoch, worded by the task (`Task.epoch_line`)."""

    def __init__(self, stream: Any = None, enabled: bool = True, task: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.task = task
        self.bar: Any = None

    def on_train_begin(self, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=info["total_steps"], initial=info["start_step"], unit="step",
                        file=self.stream, dynamic_ncols=True, leave=False, disable=None)

    def on_batch_end(self, report: BatchReport) -> None:
        if self.bar is None:
            return
        self.bar.update(report.step - self.bar.n)
        post = {"epoch": f"{report.epoch}/{report.epochs}"}
        numbers = {k: v for k, v in report.extra.items() if isinstance(v, float)}
        post.update({k: f"{v:.3f}" for k, v in numbers.items()} if numbers
                    else {"loss": f"{report.loss:.4f}"})
        if report.accuracy is not None:
            post["acc"] = f"{report.accuracy:.3f}"
        post["samples/s"] = f"{report.samples_per_s:,.0f}"
        self.bar.set_postfix(post, refresh=False)

    def on_epoch_end(self, report: EpochReport) -> None:
        self._write(self.task.epoch_line(report))
        if report.extra.get("warning"):
            self._write(f"warning: {report.extra['warning']}")

    def _write(self, line: str) -> None:
        if self.bar is None:
            say(line)
            return
        try:
            self.bar.write(one_line(line), file=sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader of stdout left; the run goes on
            silence(sys.stdout)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object such as {\"patience\": 3}")
    return value


def cmd_train(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks import task_for
    from ..tasks.prepare import prepare_training

    progress = ProgressBar(enabled=not args.quiet)
    unusable = _unusable_output(args.metrics_json)
    if unusable:  # said before the run, not after minutes of training
        say(one_line(f"error: {unusable}"), sys.stderr)
        return EXIT_BAD_INPUT
    try:
        project = load_project(args.project)
        if args.augment is not None:  # a dataset setting: it goes where the file keeps it
            project.dataset = dict(project.dataset or {}, augment=args.augment)
        progress.task = task_for(project)
        overrides = {"epochs": args.epochs, "device": args.device, "amp": args.amp,
                     "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
                     "clip_grad_norm": args.clip_grad_norm,
                     "early_stopping": args.early_stopping, "keep": args.keep,
                     "keep_metric": args.keep_metric, "accumulate": args.accumulate,
                     "stats_every": args.stats_every,
                     "tensorboard": True if args.tensorboard is not None else None}
        check_setting_names(overrides)  # the same check as the Python API's train()
        with reading_progress(LoadProgress(enabled=not args.quiet)):
            job = prepare_training(project, overrides=overrides,
                                   out_dir=Path(args.out) if args.out else None,
                                   resume=Path(args.resume) if args.resume else None,
                                   init_from=Path(args.init_from) if args.init_from else None,
                                   callbacks=[progress],
                                   tensorboard_dir=Path(args.tensorboard) if args.tensorboard
                                   else None)
    except CompileError as exc:
        for err in exc.errors:
            say(one_line(err.describe()), sys.stderr)
        return EXIT_BAD_INPUT
    except TorchloomError as exc:  # a project, data, device or setting problem
        say(one_line(f"error: {exc.describe()}"), sys.stderr)
        return EXIT_BAD_INPUT
    task = job.trainer.task
    say(task.describe_start(project, job.data(), job.trainer.device))  # type: ignore[attr-defined]
    for note in job.notes:
        say(f"note: {note}")
    if job.run_dir is not None:
        say(f"run folder: {job.run_dir}")

    with stop_on_interrupt(job.trainer.stop, lambda text: say(text, sys.stderr), INTERRUPTED):
        try:
            result = job.run()
        finally:
            progress.close()
    written = _write_metrics(args.metrics_json, result, task.name, job.init_report)
    if result.status == "failed":
        assert result.error is not None
        say(f"training failed: {result.error.message}", sys.stderr)
        return EXIT_FAILED
    if result.status == "stopped":
        say(f"stopped at step {result.step}; resume with: torchloom train {args.project} "
            f"--resume {result.run_dir}")
        return EXIT_STOPPED
    if result.early_stop is not None:
        from ..train.early_stop import describe

        say(describe(result.early_stop))
    say(done_line(task, result))
    return EXIT_OK if written else EXIT_BAD_INPUT


def _write_metrics(path: str | None, result: TrainResult, task: str,
                   init_report: Any = None) -> bool:
    """--metrics-json; False (said, naming the file and the run) when it cannot be written:
    the run itself is saved, and a failed or stopped run keeps its own exit code."""
    if not path:
        return True
    metrics = result.metrics_json(task)
    if init_report is not None:  # what --init-from (or the project's weights) loaded
        metrics["init"] = init_report.to_json()
    try:
        atomic_write_text(path, json.dumps(metrics, indent=2) + "\n")
    except OSError as exc:
        say(one_line(f"error: {path}: cannot be written ({exc.strerror or exc}); the run is "
                     f"in {result.run_dir}"), sys.stderr)
        return False
    return True


def _unusable_output(path: str | None) -> str | None:
    """Why the file `path` cannot be written (a folder, a folder that does not exist),
    or None; a disk that fills later is caught when it is written."""
    if not path:
        return None
    target = Path(path)
    if target.is_dir():
        return f"{path}: is a folder; --metrics-json names the file to write"
    if not target.parent.is_dir():
        return f"{path}: the folder {target.parent} does not exist"
    return None


def done_line(task: Any, result: TrainResult) -> str:
    """``done: validation accuracy 0.9812 after 3 epochs``: the task's headline metric."""
    final = result.final
    if final is None:
        return "done"
    if final.extra.get("samples_png"):
        return f"done: {final.epoch} epochs; last sample grid {final.extra['samples_png']}"
    metrics = final.metrics()
    for key, label in task.headline[:1]:
        if metrics.get(key) is not None:
            return f"done: {label} {metrics[key]:.4f} after {final.epoch} epochs"
    return f"done: {final.epoch} epochs"


def add_run_options(p: argparse.ArgumentParser, each: str = "") -> None:
    """--epochs and --device, as `train` and `sweep` (`each`: " for every trial") take them."""
    p.add_argument("--epochs", type=int, help=f"override the project's epochs{each}")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the project's)")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a project headless, with a progress bar",
                       description="Train a project and save the run (weights, trainer state, "
                                   "metrics) in a folder.")
    p.add_argument("project", metavar="PROJECT", type=path_arg)
    add_run_options(p)
    p.add_argument("--amp", choices=("off", "bf16", "fp16"), help="mixed precision")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="override the batch size")
    p.add_argument("--lr", type=float, help="override the learning rate")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--clip-grad-norm", type=float, dest="clip_grad_norm", metavar="X",
                   help="clip the gradients' total norm to X before each step (0: off)")
    p.add_argument("--early-stopping", type=_json_object, dest="early_stopping",
                   metavar="JSON", help='stop when a metric stops improving, e.g. '
                   '\'{"metric": "val_loss", "patience": 3}\' (\'{}\': off)')
    p.add_argument("--keep", choices=("last", "best"),
                   help="best: also keep the weights of the best epoch by --keep-metric in "
                        "<run>/best/, which export, probe and generate then use")
    p.add_argument("--keep-metric", dest="keep_metric", metavar="METRIC",
                   help="the metric that picks the best epoch (default val_loss; lowest for "
                        "losses, highest for accuracies)")
    p.add_argument("--accumulate", type=in_range(int, 1, 10_000), metavar="N",
                   help="batches per optimisation step (gradient accumulation; default 1)")
    p.add_argument("--augment", type=_json_object, metavar="JSON",
                   help='augment training images, e.g. \'{"hflip": {}, "crop": {"padding": 4}}\' '
                   '(sets dataset.augment; \'{}\': off)')
    p.add_argument("--stats-every", type=int, dest="stats_every", metavar="N",
                   help="record per-layer weight and gradient statistics (stats.jsonl) every "
                        "N steps and at each epoch's end (0: off)")
    p.add_argument("--tensorboard", nargs="?", const="", default=None, metavar="DIR",
                   help="also write TensorBoard event files, into DIR (default: the run "
                        "folder's tensorboard/); needs pip install torchloom[tensorboard]")
    p.add_argument("--out", metavar="DIR", type=path_arg,
                   help="run folder (default: runs/<timestamp> next to the project)")
    p.add_argument("--resume", metavar="DIR", type=path_arg,
                   help="continue a run folder (or warm-start from it if the graph changed)")
    p.add_argument("--init-from", metavar="FILE", dest="init_from", type=path_arg,
                   help="start a new run from pretrained weights: a .safetensors file or a "
                        "torch state dict (.pt, .pth, .bin), matched to the blocks by name "
                        "(or a run folder's weights, wherever they still fit)")
    p.add_argument("--metrics-json", metavar="FILE", type=path_arg, dest="metrics_json",
                   help="also write the per-epoch metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "EXIT_STOPPED", "add_parser",
           "add_run_options", "cmd_train", "stop_on_interrupt"]
