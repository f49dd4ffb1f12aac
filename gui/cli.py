"""The `torchloom` command: the engine's commands plus `gui`. Qt loads only for `gui`."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

from torchloom.engine import cli as engine_cli


def cmd_gui(args: argparse.Namespace) -> int:
    from .app import run_gui

    if args.train and not (args.project and args.screenshot):
        print("error: --train needs a PROJECT and --screenshot", file=sys.stderr)
        return 2
    return run_gui(args.project, screenshot=args.screenshot, theme_name=args.theme,
                   report_startup=args.report_startup, train=args.train)


def add_gui_parser(sub: Any) -> None:
    p = sub.add_parser("gui", help="open the visual editor",
                       description="Open the visual editor, on a project if one is given.")
    p.add_argument("project", metavar="PROJECT", nargs="?", help="a .json project file")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="render the window at 1600x1000 with the project fitted, save the PNG "
                        "and exit (works with QT_QPA_PLATFORM=offscreen)")
    p.add_argument("--train", action="store_true",
                   help="with --screenshot: train with the project's settings first, and "
                        "render the window with its curves")
    p.add_argument("--theme", choices=("dark", "light"), help="the colour theme")
    p.add_argument("--report-startup", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_gui)


def main(argv: Sequence[str] | None = None) -> int:
    return engine_cli.main(argv, extend=add_gui_parser)


if __name__ == "__main__":
    sys.exit(main())
