"""From a project to a run: the task builds the model and the data, the run loop trains.

`prepare_training` does everything that can fail on bad input before the first step, and
raises typed errors for it (`ProjectFileError`, `CompileError`, `DataError`,
`TrainingError`); `TrainingJob.run()` then trains. The command line and the GUI's worker
both use this pair, so they train the same way, whatever the task.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable

from ..data.augment_ops import augmenter_for
from ..data.skipped import skipped_note
from ..project import Project
from ..train.callbacks import Callback
from ..train.config import TrainConfig
from ..train.loop import RunLoop
from ..train.tensorboard import require_tensorboard, tensorboard_log
from ..train.run import TrainingJob, check_run_folder, default_run_dir, starting_point
from . import task_for


def prepare_training(project: Project, *, overrides: dict[str, Any] | None = None,
                     out_dir: Path | None = None, resume: Path | None = None,
                     init_from: Path | None = None, runs_dir: Path | None = None,
                     callbacks: Iterable[Callback] = (), save: bool = True,
                     report_interval: float = 0.1, probe_every: int = 0,
                     tensorboard_dir: Path | None = None) -> TrainingJob:
    """Check and build everything a run needs.

    Args:
        project: the project to train.
        overrides: training settings that replace the project's (epochs, device, amp...).
        out_dir: the run folder; default ``runs/<timestamp>`` next to the project.
        resume: a run folder. With the same graph the run continues there at the same step;
            with an edited graph it is a warm start: unchanged nodes keep their weights
            (matched by id and shape), the others start fresh, listed in `reinitialized`.
        init_from: a run folder whose weights start a *new* run, wherever they still fit
            (same id, same shapes): keep training after editing the graph; or a weights
            file (``.safetensors``, a torch state dict) matched to the blocks by name, with
            a report of what it loaded (`TrainingJob.init_report`, `train.pretrained`).
        runs_dir: where new run folders go (default: ``runs`` next to the project).
        callbacks: reporting hooks.
        save: False trains without writing a run folder.
        probe_every: hand a live probe to `on_probe` every this many steps (0: never; only
            for tasks whose runs can be probed).
        tensorboard_dir: write TensorBoard event files there (turns the ``tensorboard``
            setting on; by default they go to the run folder's ``tensorboard/``).
    """
    task = task_for(project)
    config = TrainConfig.from_project(project, **(overrides or {}))
    if tensorboard_dir is not None and not config.tensorboard:
        config = replace(config, tensorboard=True)
    if config.tensorboard:
        require_tensorboard()  # before anything is built or written
    tokenizer, tokenizer_note = _run_tokenizer(resume, init_from)
    built = task.prepare(project, config, tokenizer)
    augment = augmenter_for(project.dataset, built.split.train, task.targets, config.seed,
                            built.split.normalization)
    start = starting_point(project, built.model, built.node_ids, config, len(built.split.train),
                           out_dir=out_dir, resume=resume, init_from=init_from)
    run_dir = start.run_dir
    if save and run_dir is None:
        run_dir = default_run_dir(project, runs_dir)
    if save and run_dir is not None:
        check_run_folder(run_dir)
    notes = built.notes + start.notes + tokenizer_note
    skipped = skipped_note(built.data_info if built.data_info is not None
                           else built.split.describe())
    if skipped:  # said where training starts, not only in run.json
        notes.append(skipped)
    run_info = {"project": project.name, "task": task.name,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "resumed_from": str(resume) if resume else None,
                "init_from": str(start.init_from) if start.init_from else None,
                "reinitialized": start.reinitialized, "notes": notes}
    if augment is not None:
        run_info["augment"] = augment.chosen
    loop = RunLoop(task, built.model, built.split, config, callbacks=callbacks,
                   run_dir=run_dir if save else None, project=project,
                   node_ids=built.node_ids, report_interval=report_interval,
                   run_info=run_info, data_info=built.data_info, probe=built.probe,
                   probe_every=probe_every if task.probes else 0, augment=augment)
    if config.tensorboard:
        loop.callbacks.append(tensorboard_log(loop, tensorboard_dir))
    if start.state is not None:
        loop.restore(start.state)
    if start.init_report is not None:  # run.json says what the weights file loaded
        loop.run_info["init_report"] = start.init_report.to_json()
    return TrainingJob(loop, built.model, built.split, config, run_dir if save else None,
                       notes, start.reinitialized, start.state is not None,
                       init_report=start.init_report)


def _run_tokenizer(resume: Path | None, init_from: Path | None) -> tuple[Any, list[str]]:
    """The tokenizer of the run a training continues or starts from, if it has one: the
    weights learned the ids that tokenizer gave, so a refit (the text or the tokenizer
    settings may have changed since) would give their rows to other tokens."""
    from ..text.vocab import run_tokenizer

    for folder in (resume, init_from):
        if folder is not None and Path(folder).is_dir():
            tok = run_tokenizer(folder)
            if tok is not None:
                return tok, [f"text encoded with the tokenizer of {Path(folder).name} "
                             f"({tok.kind}, {tok.vocab_size} tokens), as its weights "
                             "learned it; not refitted"]
    return None, []


def find_lr(project: Project, *, start: float = 1e-7, end: float = 10.0, steps: int = 100,
            device: str | None = None, on_step: Any = None, stop: Any = None) -> Any:
    """The learning-rate finder (`train.lr_find`) on a fresh copy of the project's model,
    built as training builds it; nothing is written and the project is not changed.
    Returns an `LrFindResult`; raises what preparing a training raises (`TorchloomError`)."""
    from ..train.lr_find import check_range, sweep_lr

    check_range(start, end, steps)  # before the data is loaded
    overrides: dict[str, Any] = {"accumulate": 1, "schedule": "constant", "epochs": 1}
    if device is not None:
        overrides["device"] = device
    job = prepare_training(project, overrides=overrides, save=False)
    return sweep_lr(job.trainer, start=start, end=end, steps=steps, on_step=on_step,
                    stop=stop)
