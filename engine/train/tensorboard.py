"""TensorBoard event files for any run: one callback, so every task writes the same way.

Asked for with the training setting ``"tensorboard": true`` or ``torchloom train
--tensorboard [DIR]``; the files go to ``<run folder>/tensorboard/`` unless DIR says where.
Scalars: the loss (and a task's own numbers) and the learning rate at each report, and
every metric of every epoch at the epoch's last step. Histograms: the weights and gradients
of each layer, from the run loop's per-layer captures (`layer_stats`), so they cost nothing
more. The graph, through ``add_graph`` where torch can trace the model (a note says when
it cannot).

``torch.utils.tensorboard`` needs the optional ``tensorboard`` package and is imported only
when a run asks for it, so a training that does not is not slowed at its start.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..errors import TrainingError
from .callbacks import BatchReport, Callback, EpochReport, TrainResult

if TYPE_CHECKING:
    from .loop import RunLoop

INSTALL_HINT = "pip install torchloom[tensorboard]"


def require_tensorboard() -> Any:
    """The `SummaryWriter` class, or a TrainingError naming the setting and the install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TrainingError("training setting tensorboard needs the tensorboard package, "
                            f"which is not installed: {INSTALL_HINT} (or pip install "
                            "tensorboard)", kind="config") from None
    return SummaryWriter


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


class TensorBoardLog(Callback):
    """Writes the run's numbers into `log_dir`. The writer opens when the run begins (so a
    resumed run purges anything logged after its checkpoint's step) and closes at its end."""

    def __init__(self, loop: "RunLoop", log_dir: Path) -> None:
        self.writer_class = require_tensorboard()
        self.loop = loop
        self.log_dir = Path(log_dir)
        self.writer: Any = None
        #: why the graph was not written, or None
        self.graph_note: str | None = None

    def on_train_begin(self, info: dict[str, Any]) -> None:
        start = int(info.get("start_step") or 0)
        self.writer = self.writer_class(str(self.log_dir), purge_step=start or None)
        if start == 0:
            self._add_graph()

    def _add_graph(self) -> None:
        """Trace the model on two training samples, in eval mode and with the random state
        put back, so writing the graph changes nothing about the run."""
        loop = self.loop
        model = loop.model
        try:
            n = min(2, len(loop.split.train))
            idx = torch.arange(n, device=loop.device)
            x, _ = loop.batch("train", idx, augment=False)
            from ..data.inputs import Inputs

            example = tuple(x.values()) if isinstance(x, Inputs) else x
            was_training = model.training
            devices = [loop.device] if loop.device.type == "cuda" else []
            quiet = contextlib.redirect_stdout(io.StringIO())  # torch prints its failure
            with torch.random.fork_rng(devices=devices), warnings.catch_warnings(), quiet:
                warnings.simplefilter("ignore")
                model.eval()
                try:
                    self.writer.add_graph(model, example)
                finally:
                    model.train(was_training)
        except Exception as exc:  # noqa: BLE001 - torch cannot trace every model
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.graph_note = f"TensorBoard: the graph was not written (torch cannot trace " \
                              f"this model: {first[:200]})"
            loop.run_info.setdefault("notes", []).append(self.graph_note)
            self.writer.add_text("notes", self.graph_note, 0)

    def on_batch_end(self, report: BatchReport) -> None:
        if self.writer is None:
            return
        if _number(report.loss):
            self.writer.add_scalar("train/loss", report.loss, report.step)
        self.writer.add_scalar("train/lr", report.lr, report.step)
        for name, value in report.extra.items():
            if _number(value):
                self.writer.add_scalar(f"train/{name}", value, report.step)

    def on_epoch_end(self, report: EpochReport) -> None:
        if self.writer is None:
            return
        for name, value in report.metrics().items():
            if name != "epoch" and _number(value):
                self.writer.add_scalar(f"epoch/{name}", value, report.step)
        self.writer.add_scalar("epoch/lr", report.lr, report.step)
        self.writer.flush()

    def on_stats(self, capture: dict[str, Any]) -> None:
        if self.writer is None:
            return
        step = capture["step"]
        for node, entry in capture["nodes"].items():
            for kind, tag in (("weight", "weights"), ("grad", "gradients")):
                described = entry.get(kind)
                if described:
                    self._histogram(f"{tag}/{node}", described, step)

    def _histogram(self, tag: str, d: dict[str, Any], step: int) -> None:
        num = sum(d["counts"])
        if num == 0:
            return
        mean, std = d["mean"], d["std"]
        self.writer.add_histogram_raw(tag, d["min"], d["max"], num, mean * num,
                                      (std * std + mean * mean) * num, d["edges"][1:],
                                      d["counts"], step)

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def on_finished(self, result: TrainResult) -> None:
        self._close()

    def on_failed(self, error: TrainingError) -> None:
        self._close()


def tensorboard_log(loop: "RunLoop", log_dir: Path | None) -> TensorBoardLog:
    """The callback for `loop`, writing into `log_dir` (default: the run folder's
    ``tensorboard/``). Raises a TrainingError naming the setting when the package is missing
    or there is nowhere to write."""
    from .runfiles import TENSORBOARD_DIR

    require_tensorboard()
    if log_dir is None:
        if loop.run_dir is None:
            raise TrainingError("training setting tensorboard needs a run folder to write "
                                "into, or a folder of its own (--tensorboard DIR)",
                                kind="config")
        log_dir = loop.run_dir / TENSORBOARD_DIR
    return TensorBoardLog(loop, log_dir)
