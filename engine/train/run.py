"""A prepared run and what every task's run shares before its first step: run folders,
resuming a checkpoint or warm-starting from one, the project's initial weights.

`tasks.prepare.prepare_training` builds a `TrainingJob` with these; `TrainingJob.run()`
then trains. The command line and the GUI's worker both use that pair, so they train the
same way.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from ..data import Split
from ..errors import TrainingError
from ..project import Project, graph_to_dict
from . import checkpoint as ckpt
from .batches import batch_starts
from .callbacks import TrainResult
from .config import TrainConfig
from .loop import RunLoop
from .pretrained import WEIGHT_SUFFIXES, is_weights_file, load_pretrained, read_weights_file


@dataclass
class TrainingJob:
    trainer: RunLoop
    model: nn.Module
    split: Split
    config: TrainConfig
    run_dir: Path | None
    notes: list[str] = field(default_factory=list)
    reinitialized: list[str] = field(default_factory=list)
    resumed: bool = False
    #: what a start from a weights file loaded, block by block (`pretrained.InitReport`)
    init_report: Any = None
    #: copies of the weights as they train, for views that ask (`probe.live.LiveWeights`);
    #: None unless the caller added it
    live: Any = None

    def run(self) -> TrainResult:
        result = self.trainer.fit()
        result.reinitialized = list(self.reinitialized)
        return result

    def data(self) -> dict[str, Any]:
        """What the run says of its data (names, sizes, shapes, classes)."""
        info = self.trainer.data_info
        return dict(info) if info is not None else self.split.describe()


def check_resumable(state: dict[str, Any], config: TrainConfig, n: int) -> None:
    """A checkpoint can continue under `config` (any task): epochs are left, and the
    batch size fits where it stopped (see `match_batch_size`)."""
    if state["epoch"] >= config.epochs:
        raise TrainingError(
            f"that run already finished {state['epoch']} of {config.epochs} epochs: ask "
            f"for more (e.g. --epochs {state['epoch'] + 2}) to train further", kind="config")
    match_batch_size(state, config, n)


def match_batch_size(state: dict[str, Any], config: TrainConfig, n: int) -> None:
    """A resume with another batch_size. The checkpoint counts batches, not samples, so in
    the middle of an epoch the count would point at the wrong samples of the epoch's
    shuffle (some seen twice, some never): refused, naming the size that resumes. At an
    epoch's end (a stop during validation) the new size simply applies from the next one."""
    saved = (state.get("config") or {}).get("batch_size")
    if saved is None or saved == config.batch_size:
        return
    done, steps = int(state["step_in_epoch"]), len(batch_starts(n, int(saved)))
    if 0 < done < steps:
        raise TrainingError(
            f"that run stopped in the middle of epoch {int(state['epoch']) + 1} (batch {done} "
            f"of {steps}) with batch_size {saved}, and batch_size is now {config.batch_size}: "
            f"resume with batch_size {saved}, or start a new run from its weights to train "
            f"with {config.batch_size}", kind="config")
    if done == steps:  # the epoch's training is done; only its validation is left
        state["step_in_epoch"] = len(batch_starts(n, config.batch_size))


def runs_dir_for(project: Project) -> Path:
    """``runs`` next to the project file (or in the working folder)."""
    base = project.path.parent if project.path is not None else Path.cwd()
    return base / "runs"


def default_run_dir(project: Project, runs_dir: Path | None = None) -> Path:
    """``runs/<timestamp>``, made unique."""
    base = runs_dir or runs_dir_for(project)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = base / stamp
    n = 2
    while path.exists():
        path = base / f"{stamp}-{n}"
        n += 1
    return path


def check_run_folder(run_dir: Path) -> None:
    """Make sure the run folder can be written before the first step: a read-only folder or
    a full disk is a path that cannot be used (the command line's exit 2), said at once,
    not a failed run minutes later. A folder made here and then refused is removed again."""
    existed = run_dir.exists()
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".write-check-", dir=run_dir)
        try:
            os.write(fd, b"0" * 4096)
        finally:
            os.close(fd)
            os.unlink(name)
    except OSError as exc:
        if not existed:
            with contextlib.suppress(OSError):
                run_dir.rmdir()
        raise TrainingError(f"cannot write the run folder {run_dir} "
                            f"({exc.strerror or exc}): choose another with --out",
                            kind="path") from None


def same_graphs(a: Project, b: Project) -> bool:
    """Whether two projects train the same network(s): same task, every graph equal."""
    if a.task != b.task:
        return False
    return all(graph_to_dict(g) == graph_to_dict(b.graphs()[k]) for k, g in a.graphs().items())


@dataclass
class StartingPoint:
    """Where a run's weights and counters come from (see `starting_point`)."""

    run_dir: Path | None
    state: dict[str, Any] | None = None
    init_from: Path | None = None
    notes: list[str] = field(default_factory=list)
    reinitialized: list[str] = field(default_factory=list)
    #: what starting from a weights file loaded, block by block (`pretrained.InitReport`)
    init_report: Any = None


def starting_point(project: Project, model: nn.Module, node_ids: dict[str, str],
                   config: TrainConfig, n_train: int, *, out_dir: Path | None,
                   resume: Path | None, init_from: Path | None) -> StartingPoint:
    """Load the weights a run starts from into `model`, for any task.

    `resume` with the same graph(s) continues that run folder at its step (its trainer
    state comes back in `state`); with an edited graph it is a warm start. A warm start
    (`init_from`, or the project's own ``weights``) keeps every node whose tensors still fit
    by id and shape and lists the others in `reinitialized`. `init_from` may also be a
    weights file (safetensors or a torch state dict: `pretrained`), matched by name with a
    report of what it loaded in `init_report`. Every checkpoint read here is
    checked against its checkpoint.json: one that a crash interrupted is refused
    (`CheckpointError`), never loaded.
    """
    for folder in (resume, init_from):
        if folder is None or Path(folder).is_dir():
            continue
        if folder is init_from and is_weights_file(Path(folder)):
            continue  # pretrained weights in a file
        raise ckpt.CheckpointError(
            f"{folder}: no such run folder" if folder is resume else
            f"{folder}: neither a run folder nor a weights file ("
            + ", ".join(WEIGHT_SUFFIXES) + ")")
    from ..rename import follow_renames, rename_weights

    start = StartingPoint(out_dir)
    if resume is not None:
        saved_project = ckpt.read_project_copy(resume)
        if same_graphs(follow_renames(saved_project, project), project):
            weights = rename_weights(ckpt.load_weights(resume / ckpt.MODEL_FILE),
                                     saved_project, project)
            model.load_state_dict(weights)
            state = ckpt.load_state(resume / ckpt.STATE_FILE)
            start.run_dir = start.run_dir or resume
            start.notes.append(f"resuming {resume} at step {state['step']}")
            check_resumable(state, config, n_train)
            start.state = state
            return start
        init_from = resume
    if init_from is None and project.weights_path() is not None:
        file = project.weights_path()
        assert file is not None
        report = load_pretrained(model, file, node_ids,
                                 rename_weights(read_weights_file(file), None, project))
        start.reinitialized, start.init_report = list(report.reinitialized), report
        start.notes.append(f"started from the project's weights {file.name}: kept "
                           f"{len(report.matched)} node(s); initialised "
                           f"{', '.join(start.reinitialized) or 'none'} fresh")
        start.notes += [line.strip() for line in report.lines()[1:]
                        if not line.strip().startswith("loaded:")]
    elif init_from is not None and is_weights_file(Path(init_from)):  # a file, not a run
        report = load_pretrained(model, Path(init_from), node_ids)
        start.reinitialized, start.init_report = list(report.reinitialized), report
        start.notes += [line.strip() for line in report.lines()]
        start.init_from = Path(init_from)
        return start
    if init_from is not None:
        weights = ckpt.load_weights(Path(init_from) / ckpt.MODEL_FILE)
        weights = rename_weights(weights, ckpt.project_copy_or_none(Path(init_from)), project)
        loaded, start.reinitialized = ckpt.load_matching(model, weights, node_ids)
        start.notes.append(f"warm start from {init_from}: kept the weights of {len(loaded)} "
                           f"node(s); re-initialised "
                           f"{', '.join(start.reinitialized) or 'none'}")
    start.init_from = init_from
    return start
