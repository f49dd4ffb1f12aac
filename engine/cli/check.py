"""`torchloom check`: validate many project files in one process, one line per file."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import ProjectFileError
from .output import EXIT_GRAPH, EXIT_OK, one_line, say


def cmd_check(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks import task_for

    worst = EXIT_OK
    results = []
    for path in args.files:
        try:
            project = load_project(path)
            analysis = task_for(project).analyze(project)
        except ProjectFileError as exc:
            results.append({"file": path, "ok": False, "errors": [exc.to_dict()]})
            line = exc.describe()
            worst = EXIT_GRAPH
        else:
            errors = analysis.errors
            results.append({"file": path, "ok": not errors, "task": project.task,
                            "errors": [e.to_dict() for e in errors]})
            line = f"{path}: " + ("ok" if not errors else "; ".join(e.describe() for e in errors))
            if errors:
                worst = EXIT_GRAPH
        if not args.json:
            say(one_line(line))
    if args.json:
        text = json.dumps({"ok": worst == EXIT_OK, "files": results}, ensure_ascii=False)
        say(one_line(text))
    return worst


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="validate project files, one line per file",
                       description="Validate many project files in one process.")
    p.add_argument("files", metavar="FILE", nargs="+")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_check)
