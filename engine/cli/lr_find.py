"""`torchloom lr-find`: sweep the learning rate on a copy of the model and suggest one.

Prints the suggestion (or, with --json, one object ``{"lrs", "losses", "suggested_lr",
"rule", "ended"}``). Nothing is written: the project and its runs stay as they are. Exit
codes as `torchloom train`'s: 0 swept; 1 the sweep failed (out of memory, say); 2 the
project, its graph or data, a setting or an option cannot be used (a GAN, which trains two
optimizers, included); 130 stopped with Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import CompileError, TorchloomError
from .output import fail as _fail, in_range, path_arg, say, say_json

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

RULES = {"steepest": "the steepest descent of the smoothed loss",
         "min/10": "a tenth of the rate at the lowest smoothed loss"}


def cmd_lr_find(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks.prepare import find_lr

    try:
        project = load_project(args.project)
        result = find_lr(project, start=args.start, end=args.end, steps=args.steps,
                         device=args.device)
    except CompileError as exc:
        return _fail(args, EXIT_BAD_INPUT, f"the graph has {len(exc.errors)} error(s)",
                     {"errors": [e.to_dict() for e in exc.errors]},
                     lines=[e.describe() for e in exc.errors])
    except TorchloomError as exc:
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), {"file": getattr(exc, "path", None)})
    except RuntimeError as exc:  # out of memory and the like, during a step
        return _fail(args, EXIT_FAILED, f"the sweep failed: {str(exc).splitlines()[0]}", {})
    if args.json:
        say_json(result.to_json())
        return EXIT_OK if result.lrs else EXIT_FAILED
    if not result.lrs:
        say("no rate could be tried: the loss was not finite from the first step", sys.stderr)
        return EXIT_FAILED
    ended = {"diverged": f"; stopped at {result.lrs[-1]:.3g}, where the loss diverged",
             "stopped": "; stopped"}.get(result.ended or "", "")
    say(f"swept {len(result.lrs)} rates from {result.lrs[0]:.3g} to {result.lrs[-1]:.3g}"
        f"{ended}; lowest smoothed loss {min(result.losses):.4g}")
    say(f"suggested lr: {result.suggested_lr:.3g} ({RULES[result.rule]})")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "lr-find", help="suggest a learning rate from a short sweep on a copy of the model",
        description="Train a fresh copy of the project's model for a few steps with the "
                    "learning rate growing exponentially from --start to --end, one step a "
                    "batch, and suggest a rate: where the smoothed loss falls fastest (or a "
                    "tenth of the rate at its lowest). Stops early once the loss diverges "
                    "(4 times its lowest). Writes nothing; the project is not changed.")
    p.add_argument("project", metavar="PROJECT", type=path_arg, help="the .json project file")
    p.add_argument("--start", type=in_range(float, 1e-12, 10.0), default=1e-7,
                   help="the first rate (default 1e-7)")
    p.add_argument("--end", type=in_range(float, 1e-12, 1000.0), default=10.0,
                   help="the last rate (default 10)")
    p.add_argument("--steps", type=in_range(int, 2, 100_000), default=100,
                   help="rates to try, one batch each (default 100)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the project's)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"lrs", "losses", "suggested_lr", "rule", '
                        '"ended"}')
    p.set_defaults(func=cmd_lr_find)


__all__ = ["add_parser", "cmd_lr_find"]
