"""`torchloom generate`: continue a prompt with a trained language model.

Prints the continuation (or, with --json, one object ``{"prompt", "text", "tokens"}``). The
run folder's own tokenizer.json encodes the prompt, never a refit. Exit codes as the other
commands: 0 generated; 1 the project's graph has errors; 2 a file or argument cannot be used
(not a language-model project, a run folder that is missing or does not fit, a prompt the
tokenizer cannot encode or longer than the model's context).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import ProjectFileError, TorchloomError
from .output import (EXIT_FILE, EXIT_GRAPH, EXIT_OK, MAX_SEED, fail as _fail, in_range,
                     path_arg, printable, say, say_json)


def cmd_generate(args: argparse.Namespace) -> int:
    from ..probe.loaded import load_trained
    from ..project import load_project
    from ..tasks import task_for
    from ..text.generate import generate_text

    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        return _fail(args, EXIT_FILE, exc.describe(), {"file": exc.path})
    if project.task != "language_model":
        return _fail(args, EXIT_FILE, f"{args.project}: is a {project.task} project; "
                     '`torchloom generate` continues text with a "language_model" project',
                     {"file": args.project})
    stream = not args.json and sys.stdout.isatty()
    try:
        analysis = task_for(project).analyze(project)
    except TorchloomError as exc:
        return _fail(args, EXIT_FILE, exc.describe(), {"file": getattr(exc, "path", None)})
    if analysis.errors:
        return _fail(args, EXIT_GRAPH, f"the project has {len(analysis.errors)} error(s)",
                     {"errors": [e.to_dict() for e in analysis.errors]},
                     lines=[e.describe() for e in analysis.errors])
    try:
        trained = load_trained(Path(args.weights), project)
        if stream:
            sys.stdout.write(printable(args.prompt))

        def shown(_token: int, piece: str) -> None:
            if stream:
                sys.stdout.write(printable(piece))
                sys.stdout.flush()

        result = generate_text(trained, args.prompt, args.tokens, args.temperature,
                               args.top_k, args.seed, on_token=shown)
    except TorchloomError as exc:
        return _fail(args, EXIT_FILE, exc.describe(), {"file": getattr(exc, "path", None)})
    if args.json:
        say_json({**result.to_json(), "weights": trained.weights_used})
    elif stream:
        say()
    else:  # a model trained on someone's text may produce any character
        say(args.prompt + result.text)
    say(f"using {trained.weights_used}", sys.stderr)
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "generate", help="continue a prompt with a trained language model",
        description="Continue PROMPT with the language model a run folder holds, one token at "
                    "a time, with the run's own tokenizer. The same seed gives the same text.")
    p.add_argument("project", metavar="PROJECT", type=path_arg,
                   help='the "language_model" project file')
    p.add_argument("--weights", required=True, metavar="RUN_DIR", type=path_arg,
                   help="a run folder from `torchloom train`")
    p.add_argument("--prompt", required=True, metavar="TEXT", help="the text to continue")
    p.add_argument("--tokens", type=in_range(int, 1, 100_000), default=200,
                   help="how many tokens to add (default 200)")
    p.add_argument("--temperature", type=in_range(float, 0.0, 100.0), default=1.0,
                   help="below 1 is safer, above 1 wilder; 0 always takes the likeliest "
                        "token (default 1)")
    p.add_argument("--top-k", type=in_range(int, 1, 1 << 30), default=None, metavar="K",
                   help="sample only among the K likeliest tokens (default: all)")
    p.add_argument("--seed", type=in_range(int, 0, MAX_SEED, "2**63 - 1"), default=0,
                   help="seeds the sampling (default 0)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"prompt", "text", "tokens"}')
    p.set_defaults(func=cmd_generate)


__all__ = ["add_parser", "cmd_generate"]
