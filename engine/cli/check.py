"""`torchloom check`: validate many project files in one process, one line per file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..errors import ProjectFileError
from .output import EXIT_GRAPH, EXIT_OK, one_line, path_arg, say, say_json


def cmd_check(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks import task_for

    worst = EXIT_OK
    results = []
    for path in args.files:
        try:
            project = load_project(path)
            task = task_for(project)
            analysis = task.analyze(project)
        except ProjectFileError as exc:
            results.append({"file": path, "ok": False, "errors": [exc.to_dict()]})
            line = exc.describe()
            worst = EXIT_GRAPH
        else:
            errors = analysis.errors
            warnings = _setting_warnings(analysis)
            results.append({"file": path, "ok": not errors, "task": task.name,
                            "errors": [e.to_dict() for e in errors]})
            if project.heads:  # a model with several outputs: its heads, in output order
                results[-1]["heads"] = [{"node": node, **head.to_dict()}
                                        for node, head in project.heads.items()]
            if warnings:  # only then: a file without any reads exactly as before
                results[-1]["warnings"] = [w.to_dict() for w in warnings]
            line = f"{path}: " + ("ok" if not errors else "; ".join(e.describe() for e in errors))
            if errors:
                worst = EXIT_GRAPH
            if not args.json:  # stderr: stdout keeps its one line per file
                for warning in warnings:
                    say(one_line(f"warning: {path}: {warning.describe()}"), sys.stderr)
        if not args.json:
            say(one_line(line))
    if args.json:
        say_json({"ok": worst == EXIT_OK, "files": results})
    return worst


def _setting_warnings(analysis: Any) -> list[Any]:
    """The warnings about the project file's keys (an unknown training setting, a path
    that the built-in dataset beside it makes useless); a graph's warnings (a block wired
    to nothing) are `summary`'s."""
    from ..project_checks import SettingProblem

    return [w for w in analysis.warnings if isinstance(w, SettingProblem)]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="validate project files, one line per file",
                       description="Validate many project files in one process.")
    p.add_argument("files", metavar="FILE", nargs="+", type=path_arg)
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_check)
