"""Fuzz soak: many random graphs and damaged project files, through the same strategies and
the same checks as ``tests/engine/fuzz`` (which CI runs a few hundred of).

    python bench/fuzz_soak.py [--graphs 10000] [--projects 2000] [--workers 2] [--batch 500]
                              [--seed 0] [--no-bombs] [--bomb-folder DIR] [--no-paths]

Cases run in batches, each batch in its own worker process (so a crash ends one batch, not
the soak), `--workers` at a time, one torch thread each. Each batch is one Hypothesis run
seeded with `--seed` plus the batch number, so a run is reproducible. Project batches also
draw the big damage CI only samples: 10 MB strings and nesting up to 100,000 deep.

Then the hostile data files of `data_bombs` (issue 20 §2: a 1 MB ``.csv.gz`` of rows, an
endless CSV line, NPZ and IDX headers declaring terabytes or more than they hold, a 144 MP
PNG, a 2.5 GB corpus), each loaded with the default limits in its own interpreter, one line
each with its peak resident memory (``ru_maxrss``), and their summary:

    bombs <n>, refused <r>, loaded <l>, crashes <c>, max peak MB <m>

Then the hostile paths of `hostile_paths` (issue 20 §1: a FIFO, /dev/zero, a socket, link
loops and the like in every place a project or a command line names a file), one
`torchloom` command each with a timeout, and their summary:

    paths <n>, handled <h>, internal errors <i>, hangs <g>, crashes <c>, max peak MB <m>

It prints every failure (the input, shortened, and the exception), one line per kind, and
last exactly:

    cases <n>, untyped errors <k>, crashes <c>, max seconds per case <t>

How each number is counted:

- cases: cases that finished in a worker, passed or failed (graphs plus project files).
- untyped errors: cases whose check failed. Mostly that is an exception that is not a
  `TorchloomError` escaping the engine (OverflowError, UnicodeEncodeError...); the count
  also takes in every other broken rule: a typed error naming no node, parameter or place, a
  forward that disagrees with the measured shapes, a step over its time limit (2 s). The
  per-kind line splits them.
- crashes: worker processes that died instead of finishing their batch: killed by a signal
  (a segfault in a native kernel, the out-of-memory killer), a non-zero exit, or no answer
  within `--batch-timeout` seconds (killed, counted as a hang). The cases of the batch left
  undone are not counted as cases.
- max seconds per case: the slowest single case's wall time, measured in the worker around
  the check (process start-up and the warm-up are not in it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MARK = "@@soak "
#: Cases slower than this are listed with their input.
SLOW = 5.0


# ---- worker: one batch, one line per case on stdout ---------------------------------------


def _kind_of(exc: BaseException) -> str:
    from torchloom.engine.errors import TorchloomError

    if isinstance(exc, AssertionError):
        return "broken rule"
    if isinstance(exc, TorchloomError):
        return "typed error where none belongs"
    return "untyped exception"


def run_batch(kind: str, count: int, seed: int, current: Path | None = None) -> None:
    """Run `count` cases of `kind` ("graph" or "project") and print one line per case;
    each case's input is written to `current` before it runs."""
    sys.path.insert(0, str(ROOT))
    import torch
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    from tests.engine.fuzz.cases import run_graph_spec, run_project_bytes, warm_up
    from tests.engine.fuzz.damage import damaged_projects
    from tests.engine.fuzz.strategies import graph_specs

    torch.set_num_threads(1)
    folder = Path(tempfile.mkdtemp(prefix="torchloom-soak-"))
    if kind == "project":
        warm_up(folder)
    strategy = graph_specs() if kind == "graph" else damaged_projects(big=True)

    def report(**fields: Any) -> None:
        print(MARK + json.dumps(fields, ensure_ascii=True), flush=True)

    @hypothesis_seed(seed)
    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def case(drawn: Any) -> None:
        shown = repr(drawn)[:1500]
        if current is not None:  # so that a crash can name the case that caused it
            current.write_text(shown)
        start = time.perf_counter()
        try:
            if kind == "graph":
                outcome = run_graph_spec(drawn)
            else:
                outcome = run_project_bytes(drawn.data, folder, step_seconds=2.0)
        except Exception as exc:  # noqa: BLE001 - recorded, never hidden: that is the point
            report(t=time.perf_counter() - start, fail=_kind_of(exc), input=shown,
                   exc=f"{type(exc).__name__}: {str(exc)[:500]}",
                   where=traceback.format_exc()[-1500:])
            return
        took = time.perf_counter() - start
        report(t=took, outcome=outcome, **({"input": shown} if took > SLOW else {}))

    case()
    report(done=True)


# ---- hostile data files: peak memory per load -------------------------------------------------


def run_bombs(folder: Path | None) -> None:
    """Write the bombs, load each in a fresh interpreter, print its line and the summary."""
    import shutil

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from data_bombs import load_and_measure, write_bombs

    where = folder or Path(tempfile.mkdtemp(prefix="torchloom-bombs-"))
    try:
        cases = write_bombs(where)
        print(f"{'bomb':40s} {'file':>9s} {'peak MB':>8s} {'s':>6s}  outcome")
        results = []
        for name, spec, task in cases:
            on_disk = sum(p.stat().st_size for p in (where / spec["path"]).rglob("*")
                          if p.is_file()) if (where / spec["path"]).is_dir() else \
                (where / spec["path"]).stat().st_size
            got = load_and_measure(spec, where, task)
            results.append(got)
            print(f"{name:40s} {on_disk / 1e6:7.2f}MB {got['peak_mb']:8.0f} "
                  f"{got['seconds']:6.1f}  {got['outcome'][:160]}", flush=True)
        refused = sum(r["outcome"].startswith("refused") for r in results)
        loaded = sum(r["outcome"].startswith("loaded") for r in results)
        crashes = sum(r["outcome"].startswith("crash") for r in results)
        peak = max((r["peak_mb"] for r in results if r["peak_mb"] == r["peak_mb"]), default=0)
        print(f"bombs {len(results)}, refused {refused}, loaded {loaded}, crashes {crashes}, "
              f"max peak MB {peak:.0f}")
    finally:
        if folder is None:
            shutil.rmtree(where, ignore_errors=True)


# ---- parent: batches in subprocesses, then the figures -------------------------------------


def _run_worker(kind: str, count: int, seed: int, timeout: float) -> dict[str, Any]:
    fd, current_name = tempfile.mkstemp(prefix="torchloom-soak-case-", suffix=".txt")
    os.close(fd)
    current = Path(current_name)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--count",
           str(count), "--seed", str(seed), "--current", str(current)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
        stdout, code, err = proc.stdout, proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        stdout = out.decode() if isinstance(out, bytes) else out
        code, err = "timeout", f"no answer within {timeout:.0f} s"
    records = [json.loads(line[len(MARK):]) for line in stdout.splitlines()
               if line.startswith(MARK)]
    done = any(r.get("done") for r in records)
    last = current.read_text(errors="replace")
    current.unlink()
    crash = None if done and code == 0 else f"exit {code}: {err[-800:]}\n  during: {last}"
    return {"kind": kind, "seed": seed, "cases": [r for r in records if "t" in r],
            "crash": crash}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=10_000)
    parser.add_argument("--projects", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-timeout", type=float, default=1800.0)
    parser.add_argument("--no-bombs", action="store_true",
                        help="skip the hostile data files (they write ~10 MB and take minutes)")
    parser.add_argument("--bomb-folder", type=Path,
                        help="where the hostile data files are written (default: a temporary "
                        "folder, removed after)")
    parser.add_argument("--no-paths", action="store_true",
                        help="skip the hostile paths (about 270 commands, a few minutes)")
    parser.add_argument("--worker", choices=("graph", "project"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--current", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_batch(args.worker, args.count, args.seed, args.current)
        return

    jobs = []
    for kind, total in (("graph", args.graphs), ("project", args.projects)):
        for i, start in enumerate(range(0, total, args.batch)):
            jobs.append((kind, min(args.batch, total - start), args.seed * 1000 + i))
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(lambda job: _run_worker(*job, args.batch_timeout), jobs))
    wall = time.perf_counter() - started
    if not args.no_bombs:
        run_bombs(args.bomb_folder)
    if not args.no_paths:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from hostile_paths import run_all

        run_all(workers=args.workers)

    cases = [c for r in results for c in r["cases"]]
    failures = [c for c in cases if "fail" in c]
    crashes = [r for r in results if r["crash"]]
    for c in failures:
        print(f"FAIL ({c['fail']}): {c['exc']}\n  input: {c['input']}\n{c['where']}")
    for r in crashes:
        print(f"CRASH in the {r['kind']} batch seeded {r['seed']}: {r['crash']}")
    for c in cases:
        if c["t"] > SLOW and "fail" not in c:
            print(f"SLOW ({c['t']:.1f} s, {c['outcome']}): {c['input']}")
    for kind in ("graph", "project"):
        mine = [c for r in results if r["kind"] == kind for c in r["cases"]]
        outcomes: dict[str, int] = {}
        for c in mine:
            key = c.get("outcome") or c["fail"]
            outcomes[key] = outcomes.get(key, 0) + 1
        print(f"{kind}: {len(mine)} cases, " + ", ".join(
            f"{k} {v}" for k, v in sorted(outcomes.items())))
    print(f"wall {wall:.0f} s with {args.workers} workers")
    slowest = max((c["t"] for c in cases), default=0.0)
    print(f"cases {len(cases)}, untyped errors {len(failures)}, crashes {len(crashes)}, "
          f"max seconds per case {slowest:.2f}")


if __name__ == "__main__":
    main()
