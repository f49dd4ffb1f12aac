"""Hostile paths for the fuzz soak (issue 20 §1): every place a project or a command line
names a file or a folder, given something that is not what it should be.

    python bench/hostile_paths.py [--timeout 60] [--workers 2]

The places (`SLOTS`): the project itself, a Code block's file, a dataset's file, a run folder
and the files inside it, `--init-from`, `--input`, `--trust-code-file`, the source of
`import`, and the places written to (`-o`, `--out`, `--metrics-json`). The things given
(`KINDS`): a FIFO, /dev/zero, /dev/full, a socket, a link to /dev/zero, a dangling link, a
link loop, a folder where a file is meant, a file where a folder is meant, an empty file.

Each case is one `torchloom` command in its own process, with a timeout. Its outcome is one
of: handled (exit 0, 1 or 2 with no traceback), internal error (exit 3, or a traceback on
the terminal), hang (no answer within the timeout) or crash (killed by a signal or another
exit code). Its peak memory is the child's own (`wait4`'s `ru_maxrss`). Last line, exactly:

    paths <n>, handled <h>, internal errors <i>, hangs <g>, crashes <c>, max peak MB <m>
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]

#: What a path can be instead of what it should be: name -> make(path) (None: not here)
def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _link(target: str) -> Callable[[Path], None]:
    return lambda path: os.symlink(target, path)


def _loop(path: Path) -> None:
    os.symlink(path.name + ".b", path)
    os.symlink(path.name, path.with_name(path.name + ".b"))


_SOCKETS: list[socket.socket] = []


def _socket(path: Path) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    _SOCKETS.append(s)


KINDS: dict[str, Callable[[Path], None]] = {
    "fifo": _fifo,
    "dev_zero": _link("/dev/zero"),  # the name stays ours; what opens is the device
    "dev_full": _link("/dev/full"),
    "socket": _socket,
    "link_dangling": _link("/nowhere/at/all"),
    "link_loop": _loop,
    "folder": lambda path: path.mkdir(),
    "file": lambda path: path.write_text("not a folder\n"),
    "empty": lambda path: path.write_bytes(b""),
}


def _project(folder: Path, name: str, dataset: dict[str, Any] | None = None,
             code_file: str | None = None) -> Path:
    nodes: list[dict[str, Any]] = [
        {"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
        {"id": "flatten", "type": "Flatten"},
        {"id": "fc", "type": "Linear", "params": {"out_features": 10}}]
    edges = [{"from": "x", "to": "flatten"}, {"from": "flatten", "to": "fc"}]
    if code_file is not None:
        nodes.append({"id": "code", "type": "Code",
                      "params": {"file": code_file, "class_name": "Net"}})
        edges = [{"from": "x", "to": "flatten"}, {"from": "flatten", "to": "code"},
                 {"from": "code", "to": "fc"}]
    data = {"format": "torchloom-project", "version": 1, "name": name,
            "graph": {"nodes": nodes, "edges": edges},
            "dataset": dataset or {"name": "digits"},
            "training": {"epochs": 1, "batch_size": 64, "seed": 0, "device": "cpu"}}
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def _run_folder_with(good: Path, folder: Path, inner: str, kind: str) -> Path:
    """A copy of the good run folder whose `inner` file is replaced by `kind`."""
    run = folder / f"run-{inner}-{kind}"
    shutil.copytree(good, run, symlinks=True)
    target = run / inner
    if target.is_dir():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    KINDS[kind](target)
    return run


def cases(folder: Path, good_run: Path, project: Path) -> list[tuple[str, list[str]]]:
    """(name, torchloom argv) for every slot and kind."""
    out: list[tuple[str, list[str]]] = []
    p = str(project)
    for kind in KINDS:
        def bad(stem: str, suffix: str = "", kind: str = kind) -> Path:
            path = folder / f"{stem}-{kind}{suffix}"
            KINDS[kind](path)
            return path

        out.append((f"project/{kind} check", ["check", str(bad("proj", ".json"))]))
        out.append((f"project/{kind} summary", ["summary", str(bad("proj2", ".json"))]))
        out.append((f"project/{kind} train", ["train", str(bad("proj3", ".json")), "--out",
                                               str(folder / f"out-proj-{kind}")]))
        code = bad("net", ".py")
        out.append((f"code file/{kind} check",
                    ["check", str(_project(folder, f"code-{kind}", code_file=code.name))]))
        csv = bad("data", ".csv")
        with_csv = _project(folder, f"csv-{kind}", dataset={"path": csv.name, "target": "y"})
        out.append((f"dataset file/{kind} check", ["check", str(with_csv)]))
        out.append((f"dataset file/{kind} train",
                    ["train", str(with_csv), "--quiet", "--out", str(folder / f"o-{kind}")]))
        out.append((f"run folder/{kind} export",
                    ["export", p, "--format", "safetensors", "--weights", str(bad("run")),
                     "-o", str(folder / f"e-{kind}.safetensors")]))
        for inner in sorted(q.name for q in good_run.iterdir()):  # each file of a run
            run = _run_folder_with(good_run, folder, inner, kind)
            out.append((f"run/{inner}/{kind} export",
                        ["export", p, "--format", "safetensors", "--weights", str(run), "-o",
                         str(folder / f"e-{inner}-{kind}.safetensors")]))
            out.append((f"run/{inner}/{kind} probe",
                        ["probe", p, "--weights", str(run), "--node", "fc", "--out",
                         str(folder / f"pr-{inner}-{kind}")]))
        out.append((f"init-from/{kind} train",
                    ["train", p, "--quiet", "--init-from", str(bad("init", ".pt")), "--out",
                     str(folder / f"i-{kind}")]))
        out.append((f"probe input/{kind} probe",
                    ["probe", p, "--weights", str(good_run), "--node", "fc", "--input",
                     str(bad("in", ".npz")), "--out", str(folder / f"pi-{kind}")]))
        out.append((f"trust-code-file/{kind} check",
                    ["check", p, "--trust-code-file", str(bad("trusted", ".py"))]))
        out.append((f"import source/{kind} import",
                    ["import", str(bad("src", ".py")), "--input-shape", "1,8,8", "-o",
                     str(folder / f"im-{kind}.json")]))
        # places written to: a folder where a file goes, a FIFO nobody reads, /dev/full...
        out.append((f"export -o/{kind} export",
                    ["export", p, "--format", "python", "--weights", str(good_run), "-o",
                     str(bad("exported", ".py"))]))
        out.append((f"train --out/{kind} train",
                    ["train", p, "--quiet", "--out", str(bad("outdir"))]))
        out.append((f"metrics-json/{kind} train",
                    ["train", p, "--quiet", "--out", str(folder / f"m-{kind}"),
                     "--metrics-json", str(bad("metrics", ".json"))]))
    return out


def run_case(argv: list[str], timeout: float, cwd: Path) -> dict[str, Any]:
    """One command; its exit, its peak memory (its own, from wait4) and whether it hung."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("TORCHLOOM_DEBUG", None)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen([sys.executable, "-m", "torchloom.engine.cli", *argv],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=cwd, env=env, start_new_session=True)
        hung = threading.Event()

        def kill() -> None:
            hung.set()
            os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    seconds = time.perf_counter() - start
    code = proc.returncode
    if hung.is_set():
        outcome = "hang"
    elif code == 3 or "Traceback (most recent call last)" in text:
        outcome = "internal error"
    elif code in (0, 1, 2):
        outcome = "handled"
    else:
        outcome = "crash"
    lines = [line for line in text.splitlines() if line.strip()]
    said = next((line for line in lines if "error" in line.lower() or "cannot" in line),
                lines[-1] if lines else "")
    return {"outcome": outcome, "exit": code, "peak_mb": usage.ru_maxrss / 1024,
            "seconds": seconds, "said": said.strip()}


def good_run_folder(folder: Path, project: Path) -> Path:
    run = folder / "good-run"
    done = subprocess.run([sys.executable, "-m", "torchloom.engine.cli", "train", str(project),
                           "--quiet", "--out", str(run)], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if done.returncode != 0:
        raise SystemExit(f"the good run did not train: {done.stdout}{done.stderr}")
    return run


def run_all(timeout: float = 60.0, workers: int = 2, folder: Path | None = None) -> list[dict]:
    where = folder or Path(tempfile.mkdtemp(prefix="torchloom-paths-"))
    try:
        project = _project(where, "good")
        good = good_run_folder(where, project)
        todo = cases(where, good, project)
        print(f"{'path':44s} {'exit':>4s} {'peak MB':>8s} {'s':>6s}  outcome: what it said",
              flush=True)
        lock = threading.Lock()

        def one(case: tuple[str, list[str]]) -> dict[str, Any]:
            name, argv = case
            got = {"name": name, **run_case(argv, timeout, where)}
            with lock:
                print(f"{name:44s} {got['exit']:>4} {got['peak_mb']:8.0f} "
                      f"{got['seconds']:6.1f}  {got['outcome']}: {got['said'][:150]}",
                      flush=True)
            return got

        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, todo))
        count = {k: sum(r["outcome"] == k for r in results)
                 for k in ("handled", "internal error", "hang", "crash")}
        peak = max(r["peak_mb"] for r in results)
        print(f"paths {len(results)}, handled {count['handled']}, internal errors "
              f"{count['internal error']}, hangs {count['hang']}, crashes {count['crash']}, "
              f"max peak MB {peak:.0f}")
        return results
    finally:
        for s in _SOCKETS:
            s.close()
        if folder is None:
            shutil.rmtree(where, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds after which a command counts as hung (a hang, not a "
                        "speed: the slowest handled case takes a few seconds)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    run_all(args.timeout, args.workers)


if __name__ == "__main__":
    main()
