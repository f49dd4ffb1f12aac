"""Per-layer statistics' cost: training throughput with a capture every N steps (the
``stats_every`` default, 50) against none.

    python bench/layer_stats_overhead.py [--device cpu|cuda] [--epochs 1] [--rounds 3]
                                         [--every 50]

Trains the Keras MNIST CNN (resources/examples/mnist_cnn.json, 225k parameters) on mnist5k
at batch 64, the same seed both ways, with a run folder (so stats.jsonl is written). As in
bench/probe_overhead.py, two identical runs on a busy machine differ by more than the
captures cost, so the bench also measures a capture directly: its median time on the
trained model times the number of captures, over the training time. Target: <= 3 %.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training

ROOT = Path(__file__).resolve().parents[1]


def throughput(project, device: str, epochs: int, every: int, folder: Path
               ) -> tuple[float, int, float]:
    """Samples/s, captures taken, and the direct overhead estimate (0 without captures)."""
    job = prepare_training(project, overrides={"epochs": epochs, "device": device,
                                               "stats_every": every},
                           out_dir=folder / f"run-{every}-{time.monotonic_ns()}")
    result = job.run()
    assert result.status == "finished", result.error
    seen = sum(r.samples_per_s * r.seconds for r in result.epochs)
    seconds = sum(r.seconds for r in result.epochs)
    direct, count = 0.0, 0
    recorder = job.trainer.layer_stats
    if recorder is not None:
        count = sum(1 for _ in open(recorder.path))  # type: ignore[arg-type]
        times = []
        for _ in range(10):
            start = time.perf_counter()
            recorder.record(job.trainer)
            times.append(time.perf_counter() - start)
        direct = count * statistics.median(times) / seconds
    return seen / seconds, count, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    project = load_project(ROOT / "resources/examples/mnist_cnn.json")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        throughput(project, args.device, 1, 0, folder)  # warm-up: data cache, kernels
        ratios, directs = [], []
        for r in range(args.rounds):
            order = [0, args.every] if r % 2 == 0 else [args.every, 0]
            rates = {}
            for every in order:
                rates[every], count, direct = throughput(project, args.device, args.epochs,
                                                         every, folder)
                if every:
                    captures = count
                    directs.append(direct)
            ratios.append(rates[args.every] / rates[0])
            print(f"round {r + 1}: none {rates[0]:,.0f} samples/s, every {args.every} steps "
                  f"{rates[args.every]:,.0f} samples/s ({captures} captures), ratio "
                  f"{ratios[-1]:.3f}, capture time {100 * directs[-1]:.2f} % of training")
    print(f"layer_stats_overhead: with / without = {statistics.median(ratios):.3f}x (median "
          f"of {args.rounds}); capture time / training time = "
          f"{100 * statistics.median(directs):.2f} % (target <= 3 %)")


if __name__ == "__main__":
    main()
