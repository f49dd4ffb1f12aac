"""The `torchloom` command line: the engine's work, scriptable.

Exit codes (a public contract): 0 all good; 1 the graph (or one of the files given to
`check`) has errors, and also, for `export`, a block cannot be expressed in the format or
the export's check failed (nothing written), and, for `import`, the files are written but
the graph has errors or its outputs differ from the module's; 2 a file cannot be read or
parsed, a path given cannot be used (an output that is a file where a folder goes or the
reverse, a file `import` would replace without --force), or the command line is wrong;
3 an internal error, which is a bug (set TORCHLOOM_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Callable, Sequence

from .errors import ProjectFileError, TorchloomError

EXIT_OK, EXIT_GRAPH, EXIT_FILE, EXIT_INTERNAL = 0, 1, 2, 3

def _print(text: str = "", file=None) -> None:
    print(text, file=file or sys.stdout)


def cmd_summary(args: argparse.Namespace) -> int:
    from .project import load_project
    from .summary import format_table, summarize

    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        if args.json:
            _print(json.dumps({"error": exc.to_dict()}))
        _print(f"error: {exc.describe()}", sys.stderr)
        return EXIT_FILE
    if project.is_gan:
        from .gan.report import gan_summary

        return gan_summary(project, args.project, args.json, _print)
    summary = summarize(project.graph, project.name)
    analysis = summary.analysis
    if args.json:
        _print(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        _print(f"{project.name}  ({args.project})")
        _print()
        _print(format_table(summary))
        for problem in analysis.warnings:
            _print(f"warning: {problem.describe()}")
    for problem in analysis.errors:
        _print(problem.describe(), sys.stderr if args.json else sys.stdout)
    return EXIT_GRAPH if analysis.errors else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .project import load_project
    from .shapes import infer

    worst = EXIT_OK
    results = []
    for path in args.files:
        try:
            project = load_project(path)
            if project.is_gan:
                from .gan.checks import analyze_gan

                analysis: Any = analyze_gan(project)
            else:
                analysis = infer(project.graph)
        except ProjectFileError as exc:
            results.append({"file": path, "ok": False, "errors": [exc.to_dict()]})
            line = exc.describe()
            worst = EXIT_GRAPH
        else:
            errors = analysis.errors
            results.append({"file": path, "ok": not errors,
                            "errors": [e.to_dict() for e in errors]})
            line = f"{path}: " + ("ok" if not errors else "; ".join(e.describe() for e in errors))
            if errors:
                worst = EXIT_GRAPH
        if not args.json:
            _print(_one_line(line))
    if args.json:
        text = json.dumps({"ok": worst == EXIT_OK, "files": results}, ensure_ascii=False)
        _print(_one_line(text))
    return worst


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    """One line any UTF-8 terminal can print. A file name that is not valid UTF-8 reaches
    Python as lone surrogates, and an id or a type in a file may hold a line break; both are
    escaped (as JSON escapes them, so JSON output stays valid JSON)."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def build_parser(extend: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """The parser for every engine command; `extend(subparsers)` may add more (the GUI's
    `gui` command is added this way, so the engine never imports the GUI)."""
    from .. import engine

    parser = argparse.ArgumentParser(
        prog="torchloom", description="Build, check and train PyTorch models drawn as graphs.")
    parser.add_argument("--version", action="version",
                        version=f"torchloom {engine.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("summary", help="print the nodes with shapes, parameters and FLOPs",
                       description="Print every node's output shape, parameter count and "
                                   "FLOPs (batch 1), the totals, and every graph error.")
    p.add_argument("project", metavar="PROJECT", help="a .json project file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("check", help="validate project files, one line per file",
                       description="Validate many project files in one process.")
    p.add_argument("files", metavar="FILE", nargs="+")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_check)

    from .train_cli import add_parser as add_train

    add_train(sub)
    from .probe_cli import add_parser as add_probe

    add_probe(sub)
    from .export_cli import add_parser as add_export

    add_export(sub)
    from .import_cli import add_parser as add_import

    add_import(sub)
    from .sample_cli import add_parser as add_sample

    add_sample(sub)
    if extend is not None:
        extend(sub)
    for name, command in sub.choices.items():
        if name != "import" and "--trust-code" not in command._option_string_actions:
            command.add_argument(
                "--trust-code", action="store_true",
                help="run the Python files that the project's Code blocks name (for this "
                     "command only); without it those blocks are reported as not trusted")
    return parser


def main(argv: Sequence[str] | None = None,
         extend: Callable[[Any], None] | None = None) -> int:
    parser = build_parser(extend)
    args = parser.parse_args(argv)
    if getattr(args, "trust_code", False):
        from .codefiles import trust_all_for_session

        trust_all_for_session()
    try:
        return args.func(args)
    except TorchloomError as exc:
        _print(f"error: {exc.describe()}", sys.stderr)
        return EXIT_FILE
    except BrokenPipeError:  # e.g. `torchloom check *.json | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _print("interrupted", sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug; say so in one line
        if os.environ.get("TORCHLOOM_DEBUG"):
            raise
        _print(f"internal error: {type(exc).__name__}: {exc} (this is a bug in Torchloom; "
               "rerun with TORCHLOOM_DEBUG=1 for details)", sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
