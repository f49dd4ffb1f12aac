"""`torchloom train`: the engine's training, headless, with a progress bar."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from .errors import CompileError, TorchloomError
from .train.callbacks import BatchReport, Callback, EpochReport, TrainResult

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 1, 2, 130


class ProgressBar(Callback):
    """A tqdm bar over all steps, with loss, accuracy and samples/s; one line per epoch."""

    def __init__(self, stream: Any = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
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
        post = {"epoch": f"{report.epoch}/{report.epochs}", "loss": f"{report.loss:.4f}"}
        if "d_loss" in report.extra:  # a GAN: both losses instead of one
            post = {"epoch": post["epoch"], "d_loss": f"{report.extra['d_loss']:.3f}",
                    "g_loss": f"{report.extra['g_loss']:.3f}"}
        if report.accuracy is not None:
            post["acc"] = f"{report.accuracy:.3f}"
        post["samples/s"] = f"{report.samples_per_s:,.0f}"
        self.bar.set_postfix(post, refresh=False)

    def on_epoch_end(self, report: EpochReport) -> None:
        if "d_loss" in report.extra:
            self._write(gan_epoch_line(report))
            if report.extra.get("warning"):
                self._write(f"warning: {report.extra['warning']}")
            return
        line = f"epoch {report.epoch}: train loss {report.train_loss:.4f}"
        if report.train_acc is not None:
            line += f" acc {report.train_acc:.4f}"
        if report.val_loss is not None:
            line += f", val loss {report.val_loss:.4f}"
        if report.val_acc is not None:
            line += f" acc {report.val_acc:.4f}"
        line += f", {report.samples_per_s:,.0f} samples/s, {report.seconds:.1f} s"
        self._write(line)

    def _write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def gan_epoch_line(report: EpochReport) -> str:
    """One GAN epoch as the command line prints it."""
    e = report.extra
    line = (f"epoch {report.epoch}: d_loss {e['d_loss']:.4f} g_loss {e['g_loss']:.4f}, "
            f"D accuracy real {e['d_real_acc']:.3f} fake {e['d_fake_acc']:.3f}, diversity "
            f"{e['diversity']:.2f}, {report.samples_per_s:,.0f} samples/s, "
            f"{report.seconds:.1f} s")
    if e.get("samples_png"):
        line += f", samples {e['samples_png']}"
    return line


def _metrics_json(result: TrainResult) -> dict[str, Any]:
    keys = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s")
    return {"epochs": [{**{k: getattr(e, k) for k in keys}, **e.extra} for e in result.epochs],
            "device": result.device, "status": result.status,
            "run_dir": str(result.run_dir) if result.run_dir else None,
            "error": result.error.message if result.error else None,
            "reinitialized": result.reinitialized}


def cmd_train(args: argparse.Namespace) -> int:
    from .project import load_project
    from .train.run import prepare_training

    progress = ProgressBar(enabled=not args.quiet)
    try:
        project = load_project(args.project)
        overrides = {"epochs": args.epochs, "device": args.device, "amp": args.amp,
                     "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed}
        job = prepare_training(project, overrides=overrides,
                               out_dir=Path(args.out) if args.out else None,
                               resume=Path(args.resume) if args.resume else None,
                               callbacks=[progress])
    except CompileError as exc:
        for err in exc.errors:
            print(err.describe(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except TorchloomError as exc:  # a project, data, device or setting problem
        print(f"error: {exc.describe()}", file=sys.stderr)
        return EXIT_BAD_INPUT
    data = job.split.describe()
    if project.is_gan:
        print(f"training the GAN {project.name} on {job.trainer.device}: {data['name']}, "
              f"{data['train_samples']} samples of shape {data['sample_shape']}, latent "
              f"{list(job.trainer.latent_shape)}")  # type: ignore[attr-defined]
    else:
        print(f"training {project.name} on {job.trainer.device}: {data['name']}, "
              f"{data['train_samples']} train / {data['val_samples']} validation samples, "
              f"input {data['input_shape']}, {len(data['classes'])} classes")
    for note in job.notes:
        print(f"note: {note}")
    if job.run_dir is not None:
        print(f"run folder: {job.run_dir}")

    def on_sigint(signum: int, frame: Any) -> None:
        print("\nstopping after this batch (Ctrl+C again to abort)", file=sys.stderr)
        job.trainer.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        result = job.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        progress.close()
    if args.metrics_json:
        Path(args.metrics_json).write_text(json.dumps(_metrics_json(result), indent=2) + "\n")
    if result.status == "failed":
        assert result.error is not None
        print(f"training failed: {result.error.message}", file=sys.stderr)
        return EXIT_FAILED
    if result.status == "stopped":
        print(f"stopped at step {result.step}; resume with: torchloom train {args.project} "
              f"--resume {result.run_dir}")
        return EXIT_STOPPED
    final = result.final
    if final is not None and final.val_acc is not None:
        print(f"done: validation accuracy {final.val_acc:.4f} after {final.epoch} epochs")
    elif final is not None and final.extra.get("samples_png"):
        print(f"done: {final.epoch} epochs; last sample grid {final.extra['samples_png']}")
    else:
        print("done")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a project headless, with a progress bar",
                       description="Train a project and save the run (weights, trainer state, "
                                   "metrics) in a folder.")
    p.add_argument("project", metavar="PROJECT")
    p.add_argument("--epochs", type=int, help="override the project's epochs")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the project's)")
    p.add_argument("--amp", choices=("off", "bf16", "fp16"), help="mixed precision")
    p.add_argument("--batch-size", type=int, dest="batch_size", help="override the batch size")
    p.add_argument("--lr", type=float, help="override the learning rate")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--out", metavar="DIR", help="run folder (default: runs/<timestamp> next to "
                                                "the project)")
    p.add_argument("--resume", metavar="DIR", help="continue a run folder (or warm-start from it "
                                                   "if the graph changed)")
    p.add_argument("--metrics-json", metavar="FILE", dest="metrics_json",
                   help="also write the per-epoch metrics as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "EXIT_STOPPED", "add_parser",
           "cmd_train"]
