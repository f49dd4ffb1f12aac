"""`torchloom sample`: samples from a trained GAN's generator, in the dataset's own units.

Writes an .npz with ``x`` [N, *sample_shape] (float32): the generator's [-1, 1] output
mapped back with the run's data range (pixel intensities in [0, 1] for mnist5k), and
optionally a PNG grid of them. Exit codes as the other commands: 0 written; 1 the project's
graphs have errors; 2 a file or argument cannot be used (not a GAN project, a run folder
that is missing, interrupted or does not fit the generator, an unwritable output).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from ..errors import ProbeError, ProjectFileError, TorchloomError
from .output import fail as _fail, in_range, MAX_SEED, path_arg, say, say_json

EXIT_OK, EXIT_GRAPH, EXIT_BAD_INPUT = 0, 1, 2
MAX_SAMPLES = 100_000


class SampleError(ProbeError):
    """A run folder or an output that `torchloom sample` cannot use."""


def generate(project: Any, run_dir: Path, n: int, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """N samples [N, *shape] as a float32 numpy array in the dataset's units, and what was
    used (the run folder's step, the data range). Raises `SampleError` for a run folder
    that does not fit, `CompileError` for graph errors."""
    import torch

    from ..compile import compile_graph
    from ..errors import CompileError
    from ..gan.checks import analyze_gan
    from ..gan.data import DataRange
    from ..train import checkpoint as ckpt
    from ..train.best import load_run_weights

    checked = analyze_gan(project)
    if not checked.ok:
        raise CompileError(checked.errors)
    if not run_dir.is_dir():
        raise SampleError("no such run folder", path=str(run_dir))
    try:
        chosen = load_run_weights(run_dir)  # the best epoch's weights, if the run kept them
        weights = chosen.tensors
        state = ckpt.load_state(run_dir / ckpt.STATE_FILE)
    except ckpt.CheckpointError as exc:
        raise SampleError(exc.message) from None
    if state.get("recipe") != "gan" or "data_range" not in state:
        raise SampleError("is not a GAN run folder (train the GAN project with `torchloom "
                          "train` first)", path=str(run_dir))
    scale = DataRange.from_json(state["data_range"])
    generator = compile_graph(project.graphs()["generator"], checked.generator, seed=0,
                              class_name="Generator")
    prefix = "generator."
    saved = {k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)}
    mine = generator.state_dict()
    wrong = [k for k, v in mine.items() if k not in saved or saved[k].shape != v.shape]
    if wrong:
        node = wrong[0].split(".", 1)[0]
        raise SampleError(f"its generator weights do not fit the project's generator (first "
                          f"at node {node}): sample with the project the run trained",
                          path=str(run_dir))
    generator.load_state_dict({k: saved[k] for k in mine})
    generator.eval()
    assert checked.latent_shape is not None
    gen = torch.Generator().manual_seed(seed)
    out = []
    with torch.no_grad():
        for start in range(0, n, 1024):
            z = torch.randn((min(1024, n - start), *checked.latent_shape), generator=gen)
            out.append(scale.to_data(generator(z)).float())
    x = torch.cat(out).numpy()
    best = chosen.best or {}
    return x, {"step": int(best.get("step", state["step"])),
               "epoch": int(best.get("epoch", state["epoch"])),
               "data_range": scale.to_json(), "weights_used": chosen.describe()}


def cmd_sample(args: argparse.Namespace) -> int:
    from ..errors import CompileError
    from ..project import load_project
    from ..tasks import task_class

    try:
        project = load_project(args.project)
    except ProjectFileError as exc:
        return _fail(args, EXIT_BAD_INPUT, exc.describe(), {"file": exc.path})
    if not getattr(task_class(project.task), "samples", False):
        return _fail(args, EXIT_BAD_INPUT, f"{args.project}: is a {project.task} project; "
                     "`torchloom sample` draws from a GAN (\"task\": \"gan\")",
                     {"file": args.project})
    out = Path(args.out)
    if out.is_dir():
        return _fail(args, EXIT_BAD_INPUT, f"{out}: is a folder; -o names the .npz to write",
                     {"file": str(out)})
    try:
        x, used = generate(project, Path(args.weights), args.n, args.seed)
    except CompileError as exc:
        return _fail(args, EXIT_GRAPH, f"the project has {len(exc.errors)} error(s)",
                     {"errors": [e.to_dict() for e in exc.errors]},
                     lines=[e.describe() for e in exc.errors])
    except TorchloomError as exc:
        return _fail(args, EXIT_BAD_INPUT, exc.describe(),
                     {"file": getattr(exc, "path", None)})
    try:
        _write(out, x, args.png)
    except OSError as exc:
        where = exc.filename or out
        return _fail(args, EXIT_BAD_INPUT, f"{where}: cannot be written "
                     f"({exc.strerror or exc})", {"file": str(where)})
    low, high = float(x.min()), float(x.max())
    summary = {"ok": True, "file": str(out), "png": args.png, "n": int(x.shape[0]),
               "shape": list(x.shape), "min": low, "max": high, "seed": args.seed,
               "weights": str(args.weights), **used}
    if args.json:
        say_json(summary)
    else:
        say(f"wrote {out}: x {list(x.shape)} float32, values {low:.3f} .. {high:.3f} "
            f"(data range {used['data_range']['low']:g} .. {used['data_range']['high']:g}), "
            f"from {args.weights} at step {used['step']}, using {used['weights_used']}")
        if args.png:
            say(f"wrote {args.png}: a grid of the first {min(len(x), 64)} samples")
    return EXIT_OK


def _write(out: Path, x: Any, png: str | None) -> None:
    import numpy as np

    from ..fileio import atomic_write_bytes

    buffer = io.BytesIO()
    np.savez(buffer, x=x)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, buffer.getvalue())
    if png:
        from ..gan.samples import save_grid

        save_grid(_unit(x[:64]), Path(png))


def _unit(x: Any) -> Any:
    """Samples into [0, 1] for the picture: already there for image data; otherwise scaled
    by their own range."""
    low, high = float(x.min()), float(x.max())
    if low >= 0.0 and high <= 1.0:
        return x
    return (x - low) / max(high - low, 1e-12)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sample", help="generate samples from a trained GAN as .npz (and a PNG grid)",
        description="Run a trained GAN's generator on seeded noise and write the samples as "
                    "x in an .npz, in the dataset's own units (pixel intensities in [0, 1] for "
                    "the built-in image datasets).")
    p.add_argument("project", metavar="PROJECT", type=path_arg, help="the GAN's .json project file")
    p.add_argument("--weights", required=True, metavar="RUN_DIR", type=path_arg,
                   help="a run folder from `torchloom train`")
    p.add_argument("--n", type=in_range(int, 1, MAX_SAMPLES), default=64,
                   help="how many samples (default 64)")
    p.add_argument("-o", "--out", required=True, metavar="OUT.npz", type=path_arg,
                   help="the .npz to write")
    p.add_argument("--png", metavar="GRID.png", type=path_arg,
                   help="also write a grid of the first 64")
    p.add_argument("--seed", type=in_range(int, 0, MAX_SEED, "2**63 - 1"), default=0,
                   help="seeds the noise (default 0)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object {"ok", "file", "shape", "min", "max", ...}')
    p.set_defaults(func=cmd_sample)


__all__ = ["EXIT_BAD_INPUT", "EXIT_GRAPH", "EXIT_OK", "SampleError", "add_parser",
           "cmd_sample", "generate"]
