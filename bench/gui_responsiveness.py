"""Does the GUI stay responsive while it trains? And does training lose speed to it?

    QT_QPA_PLATFORM=offscreen python bench/gui_responsiveness.py [--epochs 2]

Trains the Keras MNIST CNN on mnist5k from the GUI's worker thread, offscreen, while a
10 ms main-thread QTimer records how late each tick fires, and trains the same project
headless (the engine's run loop alone, on a plain thread) in the same process; the two
alternate for a few pairs. Prints the time from Train to the
first plotted point, the tick lateness, and the throughput ratio GUI / headless. Targets:
first point < 1 s, lateness p99 < 30 ms, ratio >= 0.95. One warm-up epoch runs first, so
neither measured run pays torch's first-call costs.
"""

from __future__ import annotations

import argparse
import os
import threading
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
    seconds = sum(e.seconds for e in result.epochs)
    samples = sum(e.samples_per_s * e.seconds for e in result.epochs)
    return samples / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=4, help="GUI/headless run pairs")
    args = parser.parse_args()
    from torchloom.engine.project import load_project
    from torchloom.engine.tasks.prepare import prepare_training
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

    import torch
    from PySide6.QtCore import QEventLoop

    def headless_run() -> float:
        """The same training with no GUI around it, on a plain thread like the GUI's worker
        (a thread, because once the main thread owns an OpenMP team, every other thread's
        team runs ~25 % slower here: the GUI thread never computes for that reason)."""
        out: list[float] = []

        def work() -> None:
            torch.set_num_threads(loader.train_threads)
            out.append(samples_per_s(prepare_training(
                load_project(project_path), overrides={"epochs": args.epochs},
                save=False).run()))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return out[0]

    lateness: list[float] = []
    first_points: list[float] = []
    busy: list[float] = []

    def gui_run() -> float:
        clock = QElapsedTimer()
        timer = QTimer()
        timer.setInterval(10)
        last = [0.0]

        def tick() -> None:
            now = clock.nsecsElapsed() / 1e6
            if last[0]:
                lateness.append(max(now - last[0] - 10.0, 0.0))
            last[0] = now

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

    headless_run()  # warm-up: torch's first-call costs out of the way
    ratios, gui_rates, headless_rates = [], [], []
    for i in range(args.pairs):  # alternate the order, so drift hits both alike
        if i % 2:
            h, g = headless_run(), gui_run()
        else:
            g, h = gui_run(), headless_run()
        gui_rates.append(g)
        headless_rates.append(h)
        ratios.append(g / h)
    late = np.array(lateness)
    ratio = float(np.median(ratios))
    print(f"Keras MNIST CNN on mnist5k, {args.epochs} epochs, offscreen, {args.pairs} pairs")
    print(f"time from Train to the first plotted point: {np.median(first_points):.3f} s median "
          "(target < 1 s)")
    print(f"GUI runs: {np.median(gui_rates):,.0f} samples/s; headless: "
          f"{np.median(headless_rates):,.0f} samples/s (medians); per-pair ratios "
          + ", ".join(f"{r:.2f}" for r in ratios))
    print(f"ticks: {len(late)}, lateness p50 {np.percentile(late, 50):.1f} ms; the GUI thread "
          f"was busy {np.median(busy):.0%} of the time")
    print(f"lateness p99 {np.percentile(late, 99):.1f} ms, max {late.max():.1f} ms, "
          f"throughput ratio vs headless {ratio:.2f}")
    window.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
