"""A training run as a notebook holds it: its metrics per epoch, its folder, its status.

`train` returns one; `Run.open` reads one back from any run folder (`torchloom train`'s,
the GUI's), from the files the run loop writes, so the metrics are the same either way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TrainingError
from ..project import Project
from ..safe_read import read_limited
from ..train.callbacks import EpochReport, TrainResult
from ..train.runfiles import MAX_RECORD_BYTES, RUN_FILE, STATE_FILE


@dataclass(eq=False)
class Run:
    """One run: `result` is the run loop's `TrainResult`, `project` the project it trained
    (for `Run.open`, the run folder's own ``project.json``)."""

    result: TrainResult
    task: str
    project: Project | None = None

    @property
    def run_dir(self) -> Path | None:
        return self.result.run_dir

    @property
    def status(self) -> str:
        """``"finished"``, ``"stopped"`` or ``"failed"`` (for `Run.open`, what run.json
        says, which is ``"running"`` for a run still going or killed)."""
        return self.result.status

    @property
    def device(self) -> str:
        return self.result.device

    @property
    def step(self) -> int:
        return self.result.step

    @property
    def error(self) -> TrainingError | None:
        return self.result.error

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """One dict per epoch with the keys of ``torchloom train --metrics-json``'s epochs:
        epoch, train_loss, train_acc, val_loss, val_acc, samples_per_s and the task's own
        metrics (val_mae, val_miou, d_loss...)."""
        return [report.metrics() for report in self.result.epochs]

    def metrics_json(self) -> dict[str, Any]:
        """The whole object ``torchloom train --metrics-json`` writes for this run."""
        return self.result.metrics_json(self.task)

    def dataframe(self) -> Any:
        """`metrics` as a pandas DataFrame, one row per epoch."""
        try:
            import pandas
        except ImportError:
            raise ImportError("Run.dataframe() needs pandas, which is not installed: "
                              "pip install pandas (or use Run.metrics, a list of dicts)"
                              ) from None
        return pandas.DataFrame(self.metrics)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "Run":
        """A run read back from its folder: the metrics from its last checkpoint (state.pt,
        exact, as training reported them), the status and device from run.json.

        Raises:
            CheckpointError: not a run folder, or its checkpoint was interrupted while
                being written (a file that does not match checkpoint.json).
        """
        from ..train import checkpoint as ckpt

        run_dir = Path(path)
        if not run_dir.is_dir():
            raise ckpt.CheckpointError(f"{run_dir}: no such run folder")
        project = ckpt.read_project_copy(run_dir)
        try:
            info = json.loads(read_limited(run_dir / RUN_FILE, MAX_RECORD_BYTES))
        except (OSError, ValueError):
            info = {}
        info = info if isinstance(info, dict) else {}
        state = ckpt.load_state(run_dir / STATE_FILE) if (run_dir / STATE_FILE).exists() \
            else {}
        status = str(info.get("status", "unknown"))
        message = info.get("message")
        saved = info.get("checkpoint") or None
        result = TrainResult(
            status=status,
            epochs=[EpochReport(**row) for row in state.get("history", [])],
            step=int(state.get("step", info.get("step", 0)) or 0),
            device=str(info.get("device", "cpu")), run_dir=run_dir,
            error=TrainingError(str(message)) if status == "failed" and message else None,
            reinitialized=list(info.get("reinitialized") or []),
            checkpoint=(int(saved["epoch"]), int(saved["step"])) if saved else None,
            early_stop=info.get("early_stop"))
        return cls(result, str(info.get("task", project.task)), project)

    def __repr__(self) -> str:
        last = self.metrics[-1] if self.result.epochs else {}
        shown = "".join(f", {k} {last[k]:.4g}" for k in ("val_loss", "val_acc")
                        if isinstance(last.get(k), float))
        n = len(self.result.epochs)
        return (f"Run({str(self.run_dir)!r}, {self.task}, {self.status}, "
                f"{n} epoch{'s' * (n != 1)}{shown})")
