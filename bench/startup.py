"""Start-up time: from the command to an interactive window with an example open.

    python bench/startup.py [--runs 5] [--example resources/examples/mnist_cnn.json]

Runs `torchloom gui EXAMPLE` offscreen and takes the time from just before the process is
started to the first turn of the event loop after the window is shown (the app prints it
and quits). The baseline, measured in the same run, is a bare `python -c "import torch"`:
the window must not wait for it. Target: under 1.5 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def startup(example: str, data_dir: str) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_T0=repr(time.time()),
               TORCHLOOM_EXIT_AFTER_STARTUP="1", TORCHLOOM_DATA_DIR=data_dir)
    env["TORCHLOOM_T0"] = repr(time.time())
    done = subprocess.run([sys.executable, "-m", "torchloom.gui.cli", "gui", example,
                           "--report-startup"], capture_output=True, text=True, env=env,
                          timeout=120)
    for line in done.stdout.splitlines():
        if line.startswith("startup "):
            return float(line.split()[1])
    raise RuntimeError(f"no start-up report: {done.stdout} {done.stderr}")


def import_torch() -> float:
    start = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], check=True)
    return time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--example", default=str(ROOT / "resources/examples/mnist_cnn.json"))
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as data_dir:
        startup(args.example, data_dir)  # warm the file cache
        app = [startup(args.example, data_dir) for _ in range(args.runs)]
        torch = [import_torch() for _ in range(args.runs)]
    a, t = statistics.median(app), statistics.median(torch)
    print(f"{args.runs} runs, medians")
    print(f"window with the example open: {a:.3f} s (target < 1.5 s)")
    print(f"python -c 'import torch':     {t:.3f} s (baseline)")
    print(f"ratio window / torch import:  {a / t:.2f}x")


if __name__ == "__main__":
    main()
