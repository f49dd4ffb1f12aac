"""From a project to a running Trainer: data, fit checks, compile, resume or warm start.

`prepare_training` does everything that can fail on bad input before the first step, and
raises typed errors for it (`ProjectFileError`, `CompileError`, `DataError`,
`TrainingError`); `TrainingJob.run()` then trains. The command line and the GUI's worker
both use this pair, so they train the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from torch import fx

from ..compile import compile_graph, module_names
from ..data import Split, fit_to_graph, load_dataset, split_dataset
from ..errors import CompileError, TrainingError
from ..probe.batch import choose_probe_batch
from ..project import Project, graph_to_dict
from ..shapes import infer
from . import checkpoint as ckpt
from .callbacks import Callback, TrainResult
from .config import TrainConfig
from .trainer import Trainer, batch_starts


@dataclass
class TrainingJob:
    trainer: Trainer
    model: fx.GraphModule
    split: Split
    config: TrainConfig
    run_dir: Path | None
    notes: list[str] = field(default_factory=list)
    reinitialized: list[str] = field(default_factory=list)
    resumed: bool = False

    def run(self) -> TrainResult:
        result = self.trainer.fit()
        result.reinitialized = list(self.reinitialized)
        return result


def check_resumable(state: dict[str, Any], config: TrainConfig, n: int) -> None:
    """A checkpoint can continue under `config` (both recipes): epochs are left, and the
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


def prepare_training(project: Project, *, overrides: dict[str, Any] | None = None,
                     out_dir: Path | None = None, resume: Path | None = None,
                     init_from: Path | None = None, runs_dir: Path | None = None,
                     callbacks: Iterable[Callback] = (), save: bool = True,
                     report_interval: float = 0.1, probe_every: int = 0) -> TrainingJob:
    """Check and build everything a run needs. A GAN project (``"recipe": "gan"``) gets a
    `gan.run.GanTrainingJob` instead, with the same `run()`, `trainer.stop()` and fields.

    Args:
        project: the project to train.
        overrides: training settings that replace the project's (epochs, device, amp...).
        out_dir: the run folder; default ``runs/<timestamp>`` next to the project.
        resume: a run folder. With the same graph the run continues there at the same step;
            with an edited graph it is a warm start: unchanged nodes keep their weights
            (matched by id and shape), the others start fresh, listed in `reinitialized`.
        init_from: a run folder whose weights start a *new* run, wherever they still fit
            (same id, same shapes): keep training after editing the graph.
        runs_dir: where new run folders go (default: ``runs`` next to the project).
        callbacks: reporting hooks.
        save: False trains without writing a run folder.
        probe_every: hand a live probe to `on_probe` every this many steps (0: never).
    """
    if project.is_gan:
        from ..gan.run import prepare_gan_training

        return prepare_gan_training(  # type: ignore[return-value]
            project, overrides=overrides, out_dir=out_dir, resume=resume, init_from=init_from,
            runs_dir=runs_dir, callbacks=callbacks, save=save, report_interval=report_interval,
            probe_every=probe_every)
    config = TrainConfig.from_project(project, **(overrides or {}))
    graph = project.graph
    analysis = infer(graph)
    if not analysis.ok:
        raise CompileError(analysis.errors)
    base = project.path.parent if project.path is not None else None
    data = load_dataset(project.dataset, base, config.task)
    data, notes = fit_to_graph(data, graph, analysis, config.loss)
    split = split_dataset(data, config.val_split, config.seed)
    if len(split.train) < 2:
        raise TrainingError(f"only {len(split.train)} training sample(s): lower val_split or add "
                            "data", kind="config")
    model = compile_graph(graph, analysis, seed=config.seed)
    names = module_names(n.id for n in graph.nodes)
    node_ids = {name: node_id for node_id, name in names.items()}
    run_dir = out_dir
    reinitialized: list[str] = []
    state = None
    for folder in (resume, init_from):
        if folder is not None and not Path(folder).is_dir():
            raise ckpt.CheckpointError(f"{folder}: no such run folder")
    # Every checkpoint read below is checked against the run's checkpoint.json: one that a
    # crash interrupted is refused (CheckpointError), never loaded.
    if resume is not None:
        saved_project = ckpt.read_project_copy(resume)
        weights = ckpt.load_weights(resume / ckpt.MODEL_FILE)
        same_graph = graph_to_dict(saved_project.graph) == graph_to_dict(graph)
        if same_graph:
            model.load_state_dict(weights)
            state = ckpt.load_state(resume / ckpt.STATE_FILE)
            run_dir = run_dir or resume
            notes.append(f"resuming {resume} at step {state['step']}")
            check_resumable(state, config, len(split.train))
        else:
            init_from = resume
    if init_from is None and state is None and project.weights_path() is not None:
        file = project.weights_path()
        assert file is not None
        loaded, reinitialized = ckpt.load_matching(model, ckpt.load_weights(file), node_ids)
        notes.append(f"started from the project's weights {file.name}: kept {len(loaded)} "
                     f"node(s); initialised {', '.join(reinitialized) or 'none'} fresh")
    if init_from is not None and state is None:
        weights = ckpt.load_weights(init_from / ckpt.MODEL_FILE)
        loaded, reinitialized = ckpt.load_matching(model, weights, node_ids)
        notes.append(f"warm start from {init_from}: kept the weights of {len(loaded)} "
                     f"node(s); re-initialised {', '.join(reinitialized) or 'none'}")
    if save and run_dir is None:
        run_dir = default_run_dir(project, runs_dir)
    run_info = {"project": project.name, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "resumed_from": str(resume) if resume else None,
                "init_from": str(init_from) if init_from else None,
                "reinitialized": reinitialized, "notes": notes}
    probe = choose_probe_batch(split.val if len(split.val) else split.train, seed=config.seed)
    trainer = Trainer(model, split, config, callbacks=callbacks,
                      run_dir=run_dir if save else None, project=project, node_ids=node_ids,
                      report_interval=report_interval, run_info=run_info, probe=probe,
                      probe_every=probe_every)
    if state is not None:
        trainer.restore(state)
    return TrainingJob(trainer, model, split, config, run_dir if save else None, notes,
                       reinitialized, state is not None)
