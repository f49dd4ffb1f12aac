"""`torchloom import`: an existing PyTorch model onto the canvas, as a project file.

Exit codes: 0 imported, and the imported graph reproduces the module's outputs; 1 the import
ran but the graph still has errors or its outputs differ from the module's (the report says
why; no file is written); 2 the source cannot be read, run or built, a file it would write
exists already (without --force), or the command line is wrong. Only exit 0 leaves files:
a failed import removes what it wrote and puts back the files --force was to replace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import TorchloomError
from .output import path_arg, say, say_json

EXIT_OK, EXIT_DIFFERS, EXIT_BAD_INPUT = 0, 1, 2

_HELP_TRUST = ("Importing a .py file RUNS it, as `python file.py` would (code under "
               "`if __name__ == '__main__':` does not run): import only your own code or code "
               "you trust. The project file it writes stays inert; parts that become Code "
               "nodes live in PROJECT_code.py beside it, which this import trusts for you.")


def parse_shape(text: str) -> list[int]:
    """``1,28,28`` (or ``1x28x28``, ``[1, 28, 28]``) -> [1, 28, 28]."""
    cleaned = text.strip().strip("[]()").replace("x", ",").replace(" ", "")
    try:
        shape = [int(part) for part in cleaned.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a shape: {text!r} (write e.g. 1,28,28)") from None
    if not shape or any(s < 1 for s in shape):
        raise argparse.ArgumentTypeError(f"not a shape: {text!r} (sizes must be at least 1)")
    return shape


def parse_kwargs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"--kwargs is not valid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('--kwargs must be a JSON object, e.g. '
                                         '\'{"num_classes": 10}\'')
    return value


def cmd_import(args: argparse.Namespace) -> int:
    from ..importer import import_module

    source = str(args.source)
    is_pt2 = source.lower().endswith(".pt2")
    if not is_pt2 and not args.input_shape:
        message = ("give the shape of one input sample, without the batch: "
                   "--input-shape 1,28,28 (a .pt2 carries its own)")
        return _fail(args, message, {"message": message})
    if is_pt2 and (args.input_shape or args.input_dtype or args.kwargs):
        say("note: a .pt2 carries its own input shapes and weights; --input-shape, "
            "--input-dtype and --kwargs are ignored", sys.stderr)
    try:
        result = import_module(source, Path(args.out), input_shapes=args.input_shape,
                               input_dtypes=args.input_dtype, kwargs=args.kwargs,
                               force=args.force, keep_failed=False)
    except TorchloomError as exc:
        error: dict[str, Any] = {"message": exc.message}
        for key, attr in (("file", "path"), ("line", "line")):
            if getattr(exc, attr, None) is not None:
                error[key] = getattr(exc, attr)
        return _fail(args, exc.describe(), error)
    except OSError as exc:  # reading is checked inside; this is writing: a full disk, no rights
        where = exc.filename or args.out
        message = f"{where}: cannot be written ({exc.strerror or exc})"
        return _fail(args, message, {"message": message, "file": str(where)})
    if args.json:
        say_json(result.to_json())
    else:
        for line in result.lines():
            say(line)
    return EXIT_OK if result.ok else EXIT_DIFFERS


def _fail(args: argparse.Namespace, text: str, error: dict[str, Any]) -> int:
    if args.json:
        say_json({"ok": False, "error": error})
    say(f"error: {text}", sys.stderr)
    return EXIT_BAD_INPUT


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="turn a PyTorch nn.Module (.py class or .pt2) into a project",
        description="Import an existing PyTorch model as an editable, trainable project: "
                    "known layers and calls become blocks, anything else becomes Code nodes, "
                    "and the module's weights become the project's initial weights "
                    "(PROJECT.safetensors). The import checks that the new graph computes "
                    "what the module computes. " + _HELP_TRUST,
        epilog="Exit codes: 0 imported and reproduces the module; 1 the graph has errors or "
               "its outputs differ (see the report; nothing is written); 2 the source cannot "
               "be read, run or built, or a file it would write exists (see --force). Only "
               "exit 0 leaves files behind.")
    p.add_argument("source", metavar="SOURCE",
                   help="path/to/file.py:ClassName (the file is executed), or an exported .pt2")
    p.add_argument("-o", "--out", metavar="PROJECT.json", required=True, type=path_arg,
                   help="the project file to write")
    p.add_argument("--input-shape", metavar="SHAPE", type=parse_shape, action="append",
                   dest="input_shape",
                   help="one sample's shape without the batch, e.g. 1,28,28 (required for .py; "
                        "repeat it for a forward with several inputs)")
    p.add_argument("--input-dtype", choices=("float32", "int64"), action="append",
                   dest="input_dtype",
                   help="float32 (default) or int64 for token ids; repeat per input")
    p.add_argument("--kwargs", metavar="JSON", type=parse_kwargs, default=None,
                   help='constructor keyword arguments, e.g. \'{"num_classes": 10}\'')
    p.add_argument("--force", action="store_true",
                   help="replace PROJECT.json, PROJECT.safetensors and PROJECT_code.py if "
                        "they exist; without it the import refuses before running anything")
    p.add_argument("--json", action="store_true", help="print one JSON object instead")
    p.set_defaults(func=cmd_import)


__all__ = ["EXIT_BAD_INPUT", "EXIT_DIFFERS", "EXIT_OK", "add_parser", "cmd_import",
           "parse_shape"]
