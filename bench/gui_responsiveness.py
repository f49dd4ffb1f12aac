"""Does the GUI stay responsive while it trains? And does training lose speed to it?

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--epochs 2]

Trains the Keras MNIST CNN on mnist5k from the GUI's worker thread, offscreen, while a
10 ms main-thread QTimer records how late each tick fires, and trains the same project
headless with `torchloom train` in its own process; the two alternate for a few pairs.
Prints the time from Train to the first plotted point, the tick lateness, and the
throughput ratio GUI / headless. Targets: first point < 1 s, lateness p99 < 16 ms, ratio
>= 0.95. The first epoch of every run is left out, so neither side counts torch's
first-call costs.

It measures twice: on the machine as it is, then with a background load it starts itself
(one busy process per core, `--load-only` for just that, `--idle-only` for the first).

The lateness probe is itself Python on the main thread, 100 times a second: each tick
takes the GIL from the training thread, and on a loaded machine the thread that holds it
may wait for a core while holding it. So the throughput ratio is measured in GUI runs
without the probe (the window as a person uses it), and the lateness in GUI runs with it;
the ratio of the probed runs is printed too, as what the probe costs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TORCHLOOM_DATA_DIR", tempfile.mkdtemp())

import numpy as np  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def samples_per_s(result) -> float:  # type: ignore[no-untyped-def]
    """Over the epochs after the first, as for the headless runs."""
    epochs = result.epochs[1:]
    seconds = sum(e.seconds for e in epochs)
    return sum(e.samples_per_s * e.seconds for e in epochs) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=6,
                        help="GUI/headless run pairs (the ratio of one pair spread 0.83-1.19 "
                             "on an idle machine: four pairs could not tell 0.93 from 0.95)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--idle-only", action="store_true")
    which.add_argument("--load-only", action="store_true")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be 2 or more: the first epoch of each run is not counted")
    from torchloom.gui.app import make_app
    from torchloom.gui.engine_loader import engine_loader
    from torchloom.gui.main_window import MainWindow

    app = make_app()
    loader = engine_loader()
    loader.limit_gui_thread = True  # as the app runs (see EngineLoader)
    loader.start()
    loader.wait()
    work = Path(tempfile.mkdtemp())
    project_path = work / "mnist_cnn.json"
    shutil.copy(ROOT / "resources/examples/mnist_cnn.json", project_path)
    window = MainWindow()
    window.ask_unsaved = lambda name: "discard"
    window.resize(1600, 1000)
    window.show()
    window.open_path(project_path)
    window._set_training_setting("epochs", args.epochs)
    app.processEvents()

    from PySide6.QtCore import QEventLoop

    def headless_run() -> float:
        """`torchloom train` on the same project in its own process: what a person runs
        headless. Its first epoch pays torch's first-call costs, so both sides count the
        epochs after the first."""
        with tempfile.TemporaryDirectory() as tmp:
            metrics = Path(tmp) / "metrics.json"
            subprocess.run([sys.executable, "-m", "torchloom.engine.cli", "train",
                            str(project_path), "--epochs", str(args.epochs), "--quiet",
                            "--out", str(Path(tmp) / "run"), "--metrics-json", str(metrics)],
                           check=True, stdout=subprocess.DEVNULL)
            epochs = json.loads(metrics.read_text())["epochs"][1:]
        return len(epochs) / sum(1 / e["samples_per_s"] for e in epochs)  # equal-sized epochs

    def measure(label: str) -> None:
        lateness: list[float] = []
        first_points: list[float] = []
        busy: list[float] = []

        def gui_run(probe: bool = True) -> float:
            clock = QElapsedTimer()
            timer = QTimer()
            timer.setInterval(10)
            last = [0.0]

            def tick() -> None:
                now = clock.nsecsElapsed() / 1e6
                if last[0]:
                    lateness.append(max(now - last[0] - 10.0, 0.0))
                last[0] = now

            if probe:
                timer.timeout.connect(tick)
            first: list[float] = []

            def on_reports(reports: list) -> None:
                if not first:
                    first.append(time.perf_counter())

            window.controller.reports.connect(on_reports)
            loop = QEventLoop()

            def on_state(state: str) -> None:
                if state == "idle":
                    loop.quit()

            window.controller.state_changed.connect(on_state)
            clock.start()
            timer.start()
            cpu_before, wall_before = time.thread_time(), time.perf_counter()
            clicked = time.perf_counter()
            window.train()
            loop.exec()  # the real event loop, as the app runs it
            timer.stop()
            busy.append((time.thread_time() - cpu_before) / (time.perf_counter() - wall_before))
            window.controller.reports.disconnect(on_reports)
            window.controller.state_changed.disconnect(on_state)
            first_points.append(first[0] - clicked)
            result = window.controller.last_result
            assert result is not None and result.status == "finished", result
            return samples_per_s(result)

        ratios, probed, gui_rates, headless_rates = [], [], [], []
        for i in range(args.pairs):  # alternate the order, so drift hits all alike
            if i % 2:
                h, g, p = headless_run(), gui_run(probe=False), gui_run()
            else:
                p, g, h = gui_run(), gui_run(probe=False), headless_run()
            gui_rates.append(g)
            headless_rates.append(h)
            ratios.append(g / h)
            probed.append(p / h)
        late = np.array(lateness)
        ratio = float(np.median(ratios))
        print(f"{label}: Keras MNIST CNN on mnist5k, {args.epochs} epochs, offscreen, "
              f"{args.pairs} pairs")
        print("time from Train to the first plotted point: "
              f"{np.median(first_points):.3f} s median (target < 1 s)")
        print(f"GUI runs: {np.median(gui_rates):,.0f} samples/s; headless: "
              f"{np.median(headless_rates):,.0f} samples/s (medians); per-pair ratios "
              + ", ".join(f"{r:.2f}" for r in ratios))
        print(f"ticks: {len(late)}, lateness p50 {np.percentile(late, 50):.1f} ms; the GUI "
              f"thread was busy {np.median(busy):.0%} of the time")
        print("with the lateness probe running, per-pair ratios "
              + ", ".join(f"{r:.2f}" for r in probed) + f" (median {np.median(probed):.2f})")
        q1, q3 = np.percentile(ratios, [25, 75])
        print(f"ratio of the median rates {np.median(gui_rates) / np.median(headless_rates):.2f}"
              f"; per-pair ratios' quartiles {q1:.2f}-{q3:.2f}")
        print(f"lateness p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms, "
              f"throughput ratio vs headless {ratio:.2f} (runs without the probe)")

    if not args.load_only:
        measure("idle")
    if not args.idle_only:
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(os.cpu_count() or 1)]
        try:
            measure(f"loaded ({len(spinners)} busy processes)")
        finally:
            for p in spinners:
                p.kill()
                p.wait()
    window.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
