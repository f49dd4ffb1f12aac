"""Live-probe overhead: training throughput with a probe every 50 steps against none.

    python bench/probe_overhead.py [--device cpu|cuda] [--epochs 2] [--rounds 5] [--every 50]

Trains the Keras MNIST CNN (resources/examples/mnist_cnn.json) on mnist5k at batch 64, the
same seed both ways, and compares the run loop's own samples/s (which counts the probe time:
a probe runs inside the training loop). Each probe captures every node on the run's probe
batch (20 validation samples) and hands it to a callback that keeps it, as the GUI's does.
Rounds alternate the order; the ratio is the median over rounds. On a busy 2-core machine
two identical runs differ by up to 10 %, more than the probes cost, so the bench also
measures the probe directly: the median time of one capture on the trained model, times
the number of probes, over the training time. Target: overhead <= 3 %.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from torchloom.engine.probe import capture
from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train import Callback

ROOT = Path(__file__).resolve().parents[1]


class Keep(Callback):
    def __init__(self) -> None:
        self.count = 0
        self.last = None

    def on_probe(self, result) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        self.last = result


def throughput(project, device: str, epochs: int, every: int) -> tuple[float, int, float]:
    """Samples/s, probes taken, and the direct overhead estimate (0 without probes)."""
    keep = Keep()
    job = prepare_training(project, overrides={"epochs": epochs, "device": device},
                           save=False, callbacks=[keep], probe_every=every)
    result = job.run()
    assert result.status == "finished", result.error
    seen = sum(r.samples_per_s * r.seconds for r in result.epochs)
    seconds = sum(r.seconds for r in result.epochs)
    direct = 0.0
    if every:
        trainer = job.trainer
        names = {node: name for name, node in trainer.node_ids.items()}
        times = []
        for _ in range(20):
            start = time.perf_counter()
            capture(trainer.model, trainer._probe_x, names)
            times.append(time.perf_counter() - start)
        direct = keep.count * statistics.median(times) / seconds
    return seen / seconds, keep.count, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    project = load_project(ROOT / "resources/examples/mnist_cnn.json")
    throughput(project, args.device, 1, 0)  # warm-up: data cache, kernels
    ratios, directs = [], []
    for r in range(args.rounds):
        order = [0, args.every] if r % 2 == 0 else [args.every, 0]
        rates = {}
        for every in order:
            rates[every], count, direct = throughput(project, args.device, args.epochs, every)
            if every:
                probes = count
                directs.append(direct)
        ratios.append(rates[args.every] / rates[0])
        print(f"round {r + 1}: none {rates[0]:,.0f} samples/s, probes every {args.every} "
              f"steps {rates[args.every]:,.0f} samples/s ({probes} probes), "
              f"ratio {ratios[-1]:.3f}, probe time {100 * directs[-1]:.2f} % of training")
    ratio = statistics.median(ratios)
    direct = statistics.median(directs)
    print(f"probe_overhead: with probes / without = {ratio:.3f}x (median of {args.rounds}); "
          f"probe time / training time = {100 * direct:.2f} % (target <= 3 %)")


if __name__ == "__main__":
    main()
