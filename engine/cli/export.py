"""`torchloom export`: the project's model as a file other tools read, verified.

Every export checks itself before it is kept (the numbers are printed), so a file this
command leaves behind reproduces the model; one that does not exits 1 and leaves nothing.
A problem with the paths given (an -o that is a file where a folder goes, or the reverse,
a folder that cannot be created, a sidecar that would replace the project) exits 2, like
any other bad argument.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import ExportError, ExportPathError, ProjectFileError, TorchloomError
from ..export import FORMATS, ExportResult
from ..export.notes import add_run_notes
from .output import fail as _fail, path_arg, say, say_json

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

#: What each format's check ran the export with, for the "verified: ..." line.
_CHECKED_WITH = {"onnx": "ONNX Runtime", "pt2": "the reloaded program",
                 "python": "the exported code", "torchrun": "the exported model"}


def cmd_export(args: argparse.Namespace) -> int:
    from ..project import load_project
    from ..tasks import task_for

    fmt, out = args.format, Path(args.out)
    weights = Path(args.weights) if args.weights else None
    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), {"file": exc.path})
    task = task_for(project)
    errors = task.analyze(project).errors
    if errors:  # the graph itself is wrong: the same exit code as `summary`
        return _fail(args, EXIT_FAILED, f"the graph has {len(errors)} error(s)",
                     {"errors": [e.to_dict() for e in errors]},
                     lines=[e.describe() for e in errors])
    if weights is not None and not weights.exists():
        return _fail(args, EXIT_BAD_INPUT, f"{weights}: no such run folder or weights file",
                     {"file": str(weights)})
    if fmt not in task.export_formats:  # e.g. one-model formats for a GAN's two networks
        try:
            task.export(project, fmt, out, weights)
        except ExportError as exc:
            return _fail(args, EXIT_FAILED, exc.describe(), _where(exc))
    try:  # weights that cannot be read or do not fit: a file problem, before any writing
        weights_from = task.weights_source(project, weights, fmt)
    except TorchloomError as exc:
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), _where(exc))
    if fmt in ("onnx", "pt2", "safetensors") and out.is_dir():
        return _fail(args, EXIT_BAD_INPUT, f"{out}: is a folder; -o names the file to write",
                     {"file": str(out)})
    from ..export import export_project

    try:
        result = export_project(project, fmt, out, weights=weights)
    except ExportPathError as exc:  # a bad -o: a file where a folder goes, an unusable name
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), _where(exc))
    except ExportError as exc:  # cannot express a block, or does not reproduce the model
        return _fail(args, EXIT_FAILED, exc.describe(), _where(exc))
    except TorchloomError as exc:  # e.g. a code file that changed since it was trusted
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), _where(exc))
    add_run_notes(result, weights)
    if args.json:
        say_json({"ok": True, **result.to_json(), "weights": weights_from})
        return EXIT_OK
    for file in result.files:
        say(f"wrote {file}{_size(file)}")
    say(f"weights: {weights_from}")
    say(checks_line(result))
    for note in result.notes:
        say(f"note: {note}")
    return EXIT_OK


def checks_line(result: ExportResult) -> str:
    """The verification as one sentence: what was compared, and how closely it matched."""
    checks = result.checks
    against = checks.get("compared_with") or _CHECKED_WITH.get(result.format, "the export")
    parts = []
    if checks.get("outputs_identical"):
        parts.append(f"{against} gives outputs identical to PyTorch's")
    elif "max_abs_diff" in checks:
        part = f"{against} matches PyTorch, max difference {checks['max_abs_diff']:.2g}"
        batches = [str(b) for b in checks.get("batch_sizes") or ()]
        if batches:
            shown = ", ".join(batches[:-1]) + f" and {batches[-1]}" if len(batches) > 1 \
                else batches[0]
            part += f" on batches of {shown}"
        parts.append(part)
    if checks.get("tensors_equal"):
        parts.append(f"all {checks.get('tensors', 0)} tensors read back identical")
    if checks.get("sidecar_loads"):
        parts.append("the sidecar opens as the same project")
    parts += [text for key, text in _OTHER_CHECKS.items() if checks.get(key)]
    return "verified: " + ("; ".join(parts) if parts else "ok")


_OTHER_CHECKS = {"script_compiles": "the script compiles",
                 "data_roundtrip": "the data reads back unchanged"}


def _size(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return ""
    if path.is_dir():
        return ""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f" ({size:.0f} {unit})" if unit == "bytes" else f" ({size:.1f} {unit})"
        size /= 1024
    return ""  # pragma: no cover


def _where(exc: TorchloomError) -> dict[str, Any]:
    out = {}
    for key, attr in (("format", "fmt"), ("node", "node"), ("file", "path")):
        value = getattr(exc, attr, None)
        if value is not None:
            out[key] = value
    return out


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export", help="write the model as python, onnx, pt2, safetensors or a torchrun script",
        description="Export the project's model and verify the export reproduces it: onnx "
                    "and pt2 are reloaded and run on fresh batches (another batch size than "
                    "the traced one) and must match PyTorch within 1e-4; safetensors is read "
                    "back tensor by tensor. A failed check exits 1 and leaves no file.",
        epilog="Weights: the run folder given with --weights, else the project's initial "
               "weights, else a fresh seeded initialisation. See docs/export.md.")
    p.add_argument("project", metavar="PROJECT", type=path_arg, help="the .json project file")
    p.add_argument("-f", "--format", required=True, choices=FORMATS, help="the export format")
    p.add_argument("-o", "--out", required=True, metavar="OUT", type=path_arg,
                   help="the file to write (a folder for torchrun); for safetensors the "
                        "graph goes next to it as <OUT stem>.json")
    p.add_argument("--weights", metavar="RUN_DIR", type=path_arg,
                   help="a run folder (from `torchloom train`) or a .safetensors file")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"ok", "format", "files", "checks", "notes", '
                        '"weights"} instead')
    p.set_defaults(func=cmd_export)


__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "add_parser", "checks_line",
           "cmd_export"]
