"""The study loop: each trial is an ordinary run of a copy of the project, pruned early by
Optuna's median rule, and the study lives in SQLite so a sweep that stopped picks up where
it was.

Trials train through `tasks.prepare.prepare_training` and `TrainingJob.run`, the path
`torchloom train` and the GUI's Train button take, so a trial's run folder is a run like
any other (the Runs tab lists it, `torchloom probe` reads it) and holds the project as the
trial trained it. The command line and the GUI's Sweep tab both call `run_sweep`.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import SweepError, TorchloomError
from ..project import Project
from ..train.callbacks import Callback, EpochReport, StopWhen
from ..train.early_stop import metric_mode, reported_metrics
from ..train.run import runs_dir_for
from .space import SweepParam, apply_values

__all__ = ["PRUNER_STARTUP_TRIALS", "SweepControl", "SweepResult", "TrialRecord",
           "choose_metric", "run_sweep", "study_path"]

#: Trials that run to their end before the median rule prunes any (Optuna's own default
#: is 5, which a sweep of ten trials would barely get past).
PRUNER_STARTUP_TRIALS = 3


@dataclass
class TrialRecord:
    """One trial as `--json` and the GUI's table show it."""

    number: int
    params: dict[str, Any]
    value: float | None
    state: str  # "complete", "pruned", "fail" or "running"
    run_dir: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "params": self.params, "value": self.value,
                "state": self.state, "run_dir": self.run_dir}


@dataclass
class SweepResult:
    metric: str
    mode: str
    storage: Path
    study_name: str
    trials: list[TrialRecord] = field(default_factory=list)
    #: whether Stop (or Ctrl+C) ended it before its trials were done
    stopped: bool = False

    @property
    def best(self) -> TrialRecord | None:
        done = [t for t in self.trials if t.state == "complete" and t.value is not None]
        if not done:
            return None
        pick = max if self.mode == "max" else min
        return pick(done, key=lambda t: t.value)  # type: ignore[arg-type, return-value]

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {"best": None if best is None else
                {"params": best.params, "value": best.value, "run_dir": best.run_dir},
                "trials": [t.to_json() for t in self.trials]}


class SweepControl:
    """Stop a sweep from another thread: the trial in progress stops within a batch (its
    run folder keeps a checkpoint) and no further trial starts."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.trainer: Any = None

    def stop(self) -> None:
        self._stop.set()
        trainer = self.trainer
        if trainer is not None:
            trainer.stop()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()


def study_path(project: Project, runs_dir: Path | None = None) -> Path:
    """``runs/<project file name>.sweep.sqlite``: beside the project's runs."""
    stem = project.path.stem if project.path is not None else \
        re.sub(r"[^A-Za-z0-9_.-]+", "_", project.name) or "project"
    return (runs_dir or runs_dir_for(project)) / f"{stem}.sweep.sqlite"


def choose_metric(project: Project, metric: str | None, mode: str | None) -> tuple[str, str]:
    """The metric a sweep optimises (default: the task's headline, else val_loss), checked
    against what the task reports, and its direction."""
    from ..tasks import task_for

    task = task_for(project)
    reported = reported_metrics(task.metric_columns)
    if metric is None:
        metric = next((key for key, _ in task.headline if key in reported), "val_loss")
    if metric not in reported:
        raise SweepError(f"'{metric}' is not a metric the {project.task} task reports; it "
                         f"reports {', '.join(reported)}", "--metric")
    mode = mode or metric_mode(metric)
    if mode not in ("min", "max"):
        raise SweepError(f"must be min or max, got {mode!r}", "--mode")
    return metric, mode


def run_sweep(project: Project, space: Sequence[SweepParam], *, trials: int,
              metric: str | None = None, mode: str | None = None,
              timeout: float | None = None, overrides: dict[str, Any] | None = None,
              storage: Path | None = None, runs_dir: Path | None = None,
              control: SweepControl | None = None,
              on_trial_start: Callable[[int, dict[str, Any]], None] | None = None,
              on_trial: Callable[[TrialRecord], None] | None = None,
              callbacks: Callable[[], Iterable[Callback]] | None = None,
              pruner_startup: int = PRUNER_STARTUP_TRIALS) -> SweepResult:
    """Run trials until the study holds `trials` finished ones (a resumed study counts the
    trials it already has), `timeout` seconds have passed, or `control` stops it.

    Args:
        overrides: training settings for every trial (epochs, device); a swept name must
            not be among them.
        storage: the study's SQLite file (default `study_path`).
        runs_dir: where the trials' run folders go (default ``runs`` next to the project).
        callbacks: makes each trial's extra callbacks (a progress bar, the GUI's signals).
        on_trial_start, on_trial: told as each trial begins and ends.
    Raises `SweepError` for a bad request and the engine's typed errors for a project that
    cannot train (the trial that found it is marked failed).
    """

    if trials < 1:
        raise SweepError(f"must be 1 or more, got {trials}", "--trials")
    if timeout is not None and not timeout > 0:
        raise SweepError(f"must be a number of seconds above 0, got {timeout}", "--timeout")
    metric, mode = choose_metric(project, metric, mode)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    for param in space:
        if param.node is None and param.name in overrides:
            raise SweepError(f"is swept, so it cannot also be set to {overrides[param.name]}",
                             param.name)
    control = control or SweepControl()
    runs_dir = runs_dir or runs_dir_for(project)
    storage = storage or study_path(project, runs_dir)
    study = _open_study(project, storage, metric, mode, pruner_startup)
    from ..tasks.prepare import prepare_training

    started = time.monotonic()
    result = SweepResult(metric, mode, storage, study.study_name)
    ran = 0
    while _finished(study) < trials:
        # as Optuna's own `timeout`: checked between trials, so at least one runs
        late = timeout is not None and ran > 0 and time.monotonic() - started > timeout
        if control.stopping or late:
            break
        ran += 1
        trial = study.ask()
        values = {p.name: p.suggest(trial) for p in space}
        if on_trial_start is not None:
            on_trial_start(trial.number, values)
        record = _run_trial(study, trial, project, space, values, metric, overrides,
                            control, prepare_training, list(callbacks() if callbacks else ()),
                            _trial_dir(runs_dir, trial.number))
        if on_trial is not None:
            on_trial(record)
    result.stopped = control.stopping
    result.trials = [_record(t) for t in study.get_trials(deepcopy=False)]
    return result


def _open_study(project: Project, storage: Path, metric: str, mode: str,
                pruner_startup: int) -> Any:
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"cannot make {storage.parent} ({exc.strerror or exc})",
                         "--storage") from None
    direction = "maximize" if mode == "max" else "minimize"
    try:
        study = optuna.create_study(
            storage=f"sqlite:///{storage.resolve()}", study_name=project.name,
            direction=direction, load_if_exists=True,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=pruner_startup))
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors: not a study file
        raise SweepError(f"{storage} cannot be used as a study ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:200]})", "--storage") from None
    saved = study.user_attrs.get("metric")
    if saved is None:
        study.set_user_attr("metric", metric)
    elif saved != metric or study.direction.name.lower() != direction:
        was = "max" if study.direction.name == "MAXIMIZE" else "min"
        raise SweepError(f"the study '{project.name}' in {storage} optimises {saved} "
                         f"({was}); sweep that, or give another --storage", "--metric")
    for frozen in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        # a trial a crash left running: closed as failed, and not counted as done
        study.tell(frozen.number, state=TrialState.FAIL)
    study.sampler = optuna.samplers.TPESampler(
        seed=int(project.training_config().get("seed") or 0) + len(study.trials))
    return study


def _finished(study: Any) -> int:
    """Trials done: complete, pruned, or failed in training (not those a stop or a crash
    cut short, which a resumed sweep runs again)."""
    from optuna.trial import TrialState

    done = 0
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            done += 1
        elif t.state == TrialState.FAIL and "error" in t.user_attrs:
            done += 1
    return done


def _run_trial(study: Any, trial: Any, project: Project, space: Sequence[SweepParam],
               values: dict[str, Any], metric: str, overrides: dict[str, Any],
               control: SweepControl, prepare: Any, extra: list[Callback],
               run_dir: Path) -> TrialRecord:
    from optuna.trial import TrialState

    def judge(report: EpochReport) -> bool:
        value = report.metrics().get(metric)
        if value is None or not math.isfinite(value):
            return False
        trial.report(float(value), report.epoch)
        last = pruner.trainer is not None and report.epoch >= pruner.trainer.config.epochs
        return not last and bool(trial.should_prune())  # the last epoch: nothing to save

    pruner = StopWhen(judge)
    copy = apply_values(project, space, values)
    try:
        job = prepare(copy, overrides=overrides, out_dir=run_dir, callbacks=[pruner, *extra])
    except TorchloomError as exc:  # a bad project, data or device: not a trial done
        trial.set_user_attr("note", exc.describe())
        study.tell(trial, state=TrialState.FAIL)
        raise
    trial.set_user_attr("run_dir", str(job.run_dir))
    pruner.attach(job.trainer)
    control.trainer = job.trainer
    if control.stopping:
        job.trainer.stop()
    try:
        result = job.run()
    finally:
        control.trainer = None
    if result.status == "failed":
        assert result.error is not None
        trial.set_user_attr("error", result.error.message)
        frozen = study.tell(trial, state=TrialState.FAIL)
    elif pruner.stopped_after is not None:
        frozen = study.tell(trial, state=TrialState.PRUNED)
    elif result.status == "stopped":  # by hand: not counted as done (see `_finished`)
        trial.set_user_attr("note", "stopped before its end")
        frozen = study.tell(trial, state=TrialState.FAIL)
    else:
        final = result.final.metrics().get(metric) if result.final is not None else None
        if final is None or not math.isfinite(final):
            trial.set_user_attr("error", f"the run reported no {metric}")
            frozen = study.tell(trial, state=TrialState.FAIL)
        else:
            frozen = study.tell(trial, float(final))
    return _record(frozen)


def _trial_dir(base: Path, number: int) -> Path:
    """``runs/<timestamp>-trial<N>``: sorted among the project's other runs by time."""
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-trial{number}"
    path, n = base / stem, 2
    while path.exists():
        path, n = base / f"{stem}-{n}", n + 1
    return path


def _record(frozen: Any) -> TrialRecord:
    state = frozen.state.name.lower()
    value = frozen.value if state in ("complete", "pruned") else None
    if value is None and state == "pruned" and frozen.intermediate_values:
        value = frozen.intermediate_values[max(frozen.intermediate_values)]
    attrs = frozen.user_attrs
    return TrialRecord(frozen.number, dict(frozen.params), value, state,
                       attrs.get("run_dir"), attrs.get("error") or attrs.get("note"))
