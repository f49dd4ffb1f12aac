"""The `torchloom` command line: the engine's work, scriptable. One module per command.

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
import importlib
import os
import sys
from typing import Any, Callable, Sequence

from ..errors import TorchloomError
from .output import EXIT_FILE, EXIT_GRAPH, EXIT_INTERNAL, EXIT_OK, one_line, say

__all__ = ["COMMANDS", "EXIT_FILE", "EXIT_GRAPH", "EXIT_INTERNAL", "EXIT_OK", "build_parser",
           "main"]

#: The commands, each a module of this package with `add_parser(subparsers)`, in the order
#: `torchloom --help` lists them.
COMMANDS = ("summary", "check", "train", "lr_find", "sweep", "probe", "export", "importing",
            "sample",            "generate")


class _Parser(argparse.ArgumentParser):
    """argparse, printing through `say`: its errors quote what was typed (`invalid choice:
    '...'`), which may be a file name holding an escape sequence."""

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            say(message.rstrip("\n"), file or sys.stderr)


def build_parser(extend: Callable[[Any], None] | None = None) -> argparse.ArgumentParser:
    """The parser for every engine command; `extend(subparsers)` may add more (the GUI's
    `gui` command is added this way, so the engine never imports the GUI)."""
    from .. import __version__

    parser = _Parser(
        prog="torchloom", description="Build, check and train PyTorch models drawn as graphs.")
    parser.add_argument("--version", action="version",
                        version=f"torchloom {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    if extend is not None:
        extend(sub)
    for name, command in sub.choices.items():
        if name != "import" and "--trust-code" not in command._option_string_actions:
            command.add_argument(
                "--trust-code", action="store_true",
                help="run the Python files inside the project's folder that its Code blocks "
                     "name (for this command only); without it those blocks are reported as "
                     "not trusted")
            command.add_argument(
                "--trust-code-file", action="append", default=[], metavar="PATH",
                dest="trust_code_file",
                help="run this one code file (its current content), also one outside the "
                     "project's folder, which --trust-code does not cover; repeat it per file")
    return parser


def _trust(args: argparse.Namespace) -> None:
    """--trust-code and --trust-code-file, for this process only (nothing is remembered)."""
    from pathlib import Path

    from ..codefiles import trust_all_for_session, trust_file

    if getattr(args, "trust_code", False):
        trust_all_for_session()
    for name in getattr(args, "trust_code_file", None) or ():
        trust_file(Path(name), remember=False)  # a missing file: exit 2, named


def main(argv: Sequence[str] | None = None,
         extend: Callable[[Any], None] | None = None) -> int:
    parser = build_parser(extend)
    args = parser.parse_args(argv)
    try:
        _trust(args)
        return args.func(args)
    except TorchloomError as exc:
        say(one_line(f"error: {exc.describe()}"), sys.stderr)
        return EXIT_FILE
    except BrokenPipeError:  # e.g. `torchloom check *.json | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        say("interrupted", sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug; say so in one line
        if os.environ.get("TORCHLOOM_DEBUG"):
            raise
        say(f"internal error: {type(exc).__name__}: {exc} (this is a bug in Torchloom; "
            "rerun with TORCHLOOM_DEBUG=1 for details)", sys.stderr)
        return EXIT_INTERNAL
