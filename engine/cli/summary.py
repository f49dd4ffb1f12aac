"""`torchloom summary`: every node's output shape, parameters and FLOPs, and every problem,
for any task (a GAN's two graphs each get their table)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import ProjectFileError
from .output import EXIT_FILE, EXIT_GRAPH, EXIT_OK, one_line, path_arg, say


def cmd_summary(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks import task_for

    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        if args.json:
            say(json.dumps({"error": exc.to_dict()}))
        say(one_line(f"error: {exc.describe()}"), sys.stderr)
        return EXIT_FILE
    task = task_for(project)
    if args.json:
        payload = task.summary_json(project)
        say(json.dumps(payload, ensure_ascii=False))
        errors = task.analyze(project).errors
    else:
        analysis, lines = task.summary_lines(project, args.project)
        # each line escaped on its own (an id's line break must not start a fake line), all
        # written at once: a 10,000-node table is not 10,000 flushes
        say("\n".join(one_line(line) for line in lines))
        errors = analysis.errors
    if errors:
        say("\n".join(one_line(problem.describe()) for problem in errors),
            sys.stderr if args.json else sys.stdout)
    return EXIT_GRAPH if errors else EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("summary", help="print the nodes with shapes, parameters and FLOPs",
                       description="Print every node's output shape, parameter count and "
                                   "FLOPs (batch 1), the totals, the task and every graph "
                                   "error.")
    p.add_argument("project", metavar="PROJECT", type=path_arg, help="a .json project file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_summary)
