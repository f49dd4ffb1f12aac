"""`torchloom probe`: what one node of a trained model sees, as .npy and PNG files.

The same capture the inspect panel shows, for scripts, reports and machines with no screen:
the node's raw numbers go to one .npy (for numpy, for a notebook), and each sample gets a
picture a person can open.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProbeError, ProjectFileError
from .output import one_line, path_arg, say, say_json

if TYPE_CHECKING:  # numpy and torch load only when the command runs, not to parse it
    import numpy as np

EXIT_OK, EXIT_GRAPH, EXIT_BAD_INPUT = 0, 1, 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def read_samples(path: str, limit: int | None = None) -> np.ndarray:
    """The array ``x`` of a person's .npz (first `limit` samples), or a ProbeError that
    names the file. Nothing in it is unpickled."""
    import numpy as np

    from ..safe_read import NotAFileError, check_regular

    try:
        check_regular(path)  # numpy would wait on a FIFO and read a device for ever
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ProbeError("no such file", path=path) from None
    except NotAFileError as exc:
        raise ProbeError(f"is {exc.kind}, not an .npz file", path=path) from None
    except ValueError as exc:  # numpy guesses "pickle" for any file it does not recognise
        reason = "not an .npz file" if "pickle" in str(exc) else f"cannot be read ({exc})"
        raise ProbeError(reason, path=path) from None
    except Exception as exc:  # noqa: BLE001 - numpy raises many types for a bad file
        raise ProbeError(f"cannot be read as .npz ({exc})", path=path) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ProbeError("is a single array, not an .npz file with the samples as 'x'",
                         path=path)
    with loaded:
        if "x" not in loaded.files:
            have = ", ".join(loaded.files) or "nothing"
            raise ProbeError(f"has no array 'x' holding the samples (it has {have})", path=path)
        try:
            x = loaded["x"]
        except Exception as exc:  # noqa: BLE001 - object arrays, truncated members
            raise ProbeError(f"'x' cannot be read ({exc})", path=path) from None
    if x.ndim == 0 or x.shape[0] == 0:
        raise ProbeError("'x' holds no samples", path=path)
    if x.dtype.kind not in "biuf":
        raise ProbeError(f"'x' holds {x.dtype} values, not numbers", path=path)
    return x[:limit] if limit else x


def _file_stem(trained: Any, node_id: str) -> str:
    """The node id, made safe for a file name (the module name: usually the id itself)."""
    return str(trained.names[node_id])


def _token_labels(x: Any, length: int, names: list[str] | None = None) -> list[str]:
    """The tokens of one sample when the input is a token sequence of this length (by name
    where the dataset names its tokens, else by id), else positions."""
    if x.dim() == 1 and not x.is_floating_point() and x.shape[0] == length:
        return [names[t] if names and 0 <= t < len(names) else str(t)
                for t in (int(v) for v in x)]
    return [str(i) for i in range(length)]


def cmd_probe(args: argparse.Namespace) -> int:
    if args.stats:
        return cmd_stats(args)
    missing = [flag for flag, value in (("--weights", args.weights), ("--node", args.node),
                                        ("--out", args.out)) if not value]
    if missing:  # argparse's own words and exit code 2, as when they were required
        args.parser.error(f"the following arguments are required: {', '.join(missing)} "
                          "(or --stats)")
    import numpy as np
    import torch

    from ..probe.loaded import load_trained
    from ..probe.node_capture import capture_node
    from ..probe.render import feature_grid, head_heatmaps, save_png, vector_strip
    from ..project import load_project
    from ..shapes import infer
    from ..tasks import task_class

    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        say(one_line(f"error: {exc.describe()}"), sys.stderr)
        return EXIT_BAD_INPUT
    if not task_class(project.task).probes:  # e.g. a GAN: two networks, no probe batch
        say(f"error: {args.project}: is a {project.task} project; `torchloom probe` looks "
            "inside one-network models. Draw a GAN's samples with `torchloom sample`", sys.stderr)
        return EXIT_BAD_INPUT
    errors = infer(project.graph).errors
    if errors:  # the graph itself is wrong: the same exit code as `summary`
        for err in errors:
            say(one_line(f"error: {err.describe()}"), sys.stderr)
        return EXIT_GRAPH
    trained = load_trained(args.weights, project)
    raw = None
    if args.input:
        trained.refuse_several("probing samples from a file (--input)")
        raw = torch.from_numpy(read_samples(args.input))
    captured = capture_node(trained, args.node, x=raw, samples=args.samples,
                            source=args.input or "the samples", fewer="fewer with --samples")
    node_id, kind, data, x = captured.node, captured.kind, captured.data, captured.x

    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProbeError(f"cannot create the output folder ({exc.strerror or exc})",
                         path=str(out)) from None
    stem = _file_stem(trained, node_id)
    files: list[Path] = []
    try:
        files.append(_save_npy(out / f"{stem}.npy", data.numpy().astype(np.float32)))
        for i in range(data.shape[0]):
            if kind == "attention":
                tokens = (trained.info.get("data") or {}).get("tokens")
                heads = head_heatmaps(data[i], _token_labels(x[i], data.shape[2], tokens),
                                      _token_labels(x[i], data.shape[3], tokens))
                for h, image in enumerate(heads):
                    files.append(out / f"{stem}_sample{i}_head{h}.png")
                    save_png(image, files[-1])
            else:
                image = feature_grid(data[i]) if kind == "feature_maps" else vector_strip(data[i])
                files.append(out / f"{stem}_sample{i}.png")
                save_png(image, files[-1])
    except OSError as exc:
        raise ProbeError(f"cannot write there ({exc.strerror or exc})", path=str(out)) from None

    if args.json:
        say_json({"node": node_id, "kind": kind, "shape": list(data.shape),
                  "files": [str(f) for f in files], "weights": trained.weights_used})
    else:
        for f in files:
            say(f)
        say(f"using {trained.weights_used}", sys.stderr)
    return EXIT_OK


def _number(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


def cmd_stats(args: argparse.Namespace) -> int:
    """`torchloom probe RUN --stats`: the run's per-layer statistics (its stats.jsonl)."""
    from ..fileio import atomic_write_text
    from ..probe.stats_history import StatsHistory

    run_dir = Path(args.weights or args.project)
    history = StatsHistory.read(run_dir)
    if not history.captures:
        raise ProbeError("its stats.jsonl holds no capture yet", path=str(run_dir))
    summary = {"run": str(run_dir), **history.summary()}
    text = json.dumps(summary, ensure_ascii=False)
    written = None
    if args.out:
        out = Path(args.out)
        try:
            out.mkdir(parents=True, exist_ok=True)
            written = out / "stats.json"
            atomic_write_text(written, text + "\n")
        except OSError as exc:
            raise ProbeError(f"cannot write there ({exc.strerror or exc})",
                             path=str(out)) from None
    if args.json:
        say_json(summary)
        return EXIT_OK
    steps = summary["steps"]
    say(f"{run_dir}: {len(steps)} captures of per-layer statistics, steps {steps[0]}..{steps[-1]}")
    epochs = summary["epochs"]
    header = f"{'node':<16} {'params':>9}  " + " ".join(f"{'epoch ' + str(e):>9}"
                                                       for e in epochs)
    say("gradient norm per layer per epoch (mean of its captures); ! marks non-finite values")
    say(header + "  dead ReLU")
    for item in summary["nodes"]:
        cells = []
        for j in range(len(epochs)):
            norm = item["grad_norm"][j] if "grad_norm" in item else None
            flag = "!" if "nonfinite" in item and item["nonfinite"][j] else ""
            cells.append(f"{_number(norm) + flag:>9}")
        dead = item.get("dead_relu")
        params = item["params"] if item["params"] is not None else "-"
        say(f"{item['node']:<16} {params:>9}  " + " ".join(cells)
            + (f"  {100 * dead:.0f} %" if dead is not None else ""))
    if written is not None:
        say(written)
    return EXIT_OK


def _save_npy(path: Path, array: np.ndarray) -> Path:
    import numpy as np

    from ..fileio import atomic_write_bytes

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "probe", help="save what one node of a trained model sees, as .npy and PNG files",
        description="Run a trained model on a few samples and save what one node produced. "
                    "OUT/<node>.npy holds the numbers, [K, ...] for K samples (for an "
                    "attention node, its weights [K, heads, queries, keys]). Pictures, per "
                    "sample i: OUT/<node>_sample<i>.png, a grid of every channel for feature "
                    "maps and a heatmap strip for other layers; for attention, one heatmap "
                    "per head, OUT/<node>_sample<i>_head<h>.png. Prints each path written.",
        epilog="The samples are the run's probe batch (a few validation samples per class) "
               "unless --input names an .npz whose array 'x' holds your own, in the "
               "Input's shape.")
    p.add_argument("project", metavar="PROJECT", type=path_arg,
                   help="the .json project file (with --stats: the run folder, or the project "
                        "with --weights RUN_DIR)")
    p.add_argument("--weights", metavar="RUN_DIR", type=path_arg,
                   help="the run folder whose weights to load (from `torchloom train`)")
    p.add_argument("--node", metavar="ID", help="the node id to look at")
    p.add_argument("--stats", action="store_true",
                   help="print the run's per-layer weight and gradient statistics (its "
                        "stats.jsonl): the gradient norm of every layer in every epoch, "
                        "non-finite values, dead ReLUs; with --out also write DIR/stats.json")
    p.add_argument("--samples", metavar="K", type=_positive,
                   help="only the first K samples (default: all)")
    p.add_argument("--input", metavar="FILE.npz", type=path_arg,
                   help="use the samples in this file's array 'x' instead of the probe batch")
    p.add_argument("--out", metavar="DIR", type=path_arg,
                   help="the folder to write into (created if missing)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"node", "kind", "shape", "files"} instead')
    p.set_defaults(func=cmd_probe, parser=p)


__all__ = ["EXIT_BAD_INPUT", "EXIT_GRAPH", "EXIT_OK", "add_parser", "cmd_probe",
           "cmd_stats", "read_samples"]
