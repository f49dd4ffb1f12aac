"""`torchloom sweep`: a hyperparameter study over a project, each trial an ordinary run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import CompileError, TorchloomError
from .output import EXIT_FILE, EXIT_OK, in_range, one_line, path_arg, say, say_json
from ..train.interrupt import stop_on_interrupt
from .train import EXIT_FAILED, EXIT_STOPPED, INTERRUPTED, add_run_options


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..sweep.run import SweepControl, run_sweep, study_path
    from ..sweep.space import format_value, parse_space
    from ..tasks import task_for

    control = SweepControl()

    def started(number: int, values: dict[str, Any]) -> None:
        if not args.json:
            say(f"trial {number}: {_values(values, format_value)}")

    def ended(record: Any) -> None:
        if args.json:
            return
        shown = f"{result_metric[0]} {record.value:.4f}" if record.value is not None else \
            (record.error or "no value")
        say(f"trial {record.number}: {record.state}, {shown}"
            + (f"  ({record.run_dir})" if record.run_dir else ""))

    result_metric = [args.metric or ""]
    try:
        project = load_project(args.project)
        space = parse_space(args.param or [], project)
        analysis = task_for(project).analyze(project)
        if analysis.errors:
            for err in analysis.errors:
                say(one_line(err.describe()), sys.stderr)
            return EXIT_FILE
        from ..sweep.run import choose_metric

        result_metric[0], mode = choose_metric(project, args.metric, args.mode)
        storage = Path(args.storage) if args.storage else study_path(project)
        if not args.json:
            say(f"study '{project.name}' in {storage}: {args.trials} trial(s), "
                f"{mode} {result_metric[0]}")
        with stop_on_interrupt(control.stop, lambda text: say(text, sys.stderr), INTERRUPTED):
            result = run_sweep(project, space, trials=args.trials, metric=args.metric,
                               mode=args.mode, timeout=args.timeout, storage=storage,
                               overrides={"epochs": args.epochs, "device": args.device},
                               control=control, on_trial_start=started, on_trial=ended)
    except CompileError as exc:
        for err in exc.errors:
            say(one_line(err.describe()), sys.stderr)
        return EXIT_FILE
    except TorchloomError as exc:
        say(one_line(f"error: {exc.describe()}"), sys.stderr)
        return EXIT_FILE
    best = result.best
    if args.json:
        say_json(result.to_json())
    elif best is not None:
        say(f"best: trial {best.number}, {result.metric} {best.value:.4f}: "
            f"{_values(best.params, format_value)}  ({best.run_dir})")
    if result.stopped:
        say(f"stopped; run the same command again to continue the study in {result.storage}",
            sys.stderr)
        return EXIT_STOPPED
    if best is None:
        failed = [t.error for t in result.trials if t.error]
        say("sweep failed: no trial finished" + (f" (last: {failed[-1]})" if failed else ""),
            sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _values(values: dict[str, Any], fmt: Any) -> str:
    return ", ".join(f"{k}={fmt(v)}" for k, v in values.items())


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sweep", help="search hyperparameters with Optuna, one run per trial",
                       description="Train the project once per trial with values drawn "
                                   "from the ranges given, prune poor trials early, and "
                                   "report the best. The study is kept in SQLite, so the "
                                   "same command continues a sweep that stopped.")
    p.add_argument("project", metavar="PROJECT", type=path_arg)
    p.add_argument("--trials", type=in_range(int, 1, 100_000), default=10,
                   help="trials the study should hold when done (default 10)")
    p.add_argument("--param", action="append", metavar="SPEC",
                   help="what to vary: name=low:high, name=low:high:log or name=a,b,c; "
                        "name is a training setting (lr) or <block id>.<param> "
                        "(fc1.out_features). Repeat for each")
    p.add_argument("--metric", help="the per-epoch metric to optimise (default: the task's "
                                    "headline, such as val_acc)")
    p.add_argument("--mode", choices=("min", "max"),
                   help="minimise or maximise the metric (default: max for accuracies, r2, f1, "
                        "miou and exact match, else min)")
    p.add_argument("--timeout", type=in_range(float, 0.001, 1e9), metavar="S",
                   help="start no new trial after S seconds")
    add_run_options(p, " for every trial")
    p.add_argument("--storage", metavar="FILE", type=path_arg,
                   help="the study's SQLite file (default runs/<project>.sweep.sqlite)")
    p.add_argument("--json", action="store_true",
                   help='print {"best": {...}, "trials": [...]} on stdout')
    p.set_defaults(func=cmd_sweep)


__all__ = ["add_parser", "cmd_sweep"]
