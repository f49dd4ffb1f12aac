"""Training-step throughput of the compiled graph against a hand-written module.

Both train the Keras MNIST CNN (resources/examples/mnist_cnn.json) with Adam at batch 64 on
the same in-memory random batch stream, in alternating rounds so that drift in machine
load hits both alike. Prints the ratio compiled / hand-written; the target is >= 1.00x
(within noise: the compiled module runs the same kernels through generated Python).

    python bench/compile_vs_handwritten.py [--rounds 20] [--steps 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from torchloom.engine.compile import compile_graph
from torchloom.engine.project import load_project

ROOT = Path(__file__).resolve().parents[1]


class HandWritten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 128)
        self.drop = nn.Dropout(0.5)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(self.drop(F.relu(self.fc1(torch.flatten(x, 1)))))


def steps_per_second(model: nn.Module, opt: torch.optim.Optimizer, xs: torch.Tensor,
                     ys: torch.Tensor, steps: int, batch: int) -> float:
    model.train()
    n = xs.shape[0] // batch
    start = time.perf_counter()
    for i in range(steps):
        j = (i % n) * batch
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs[j:j + batch]), ys[j:j + batch])
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    torch.manual_seed(0)
    xs = torch.randn(args.batch * 20, 1, 28, 28)
    ys = torch.randint(0, 10, (args.batch * 20,))
    compiled = compile_graph(load_project(ROOT / "resources/examples/mnist_cnn.json").graph,
                             seed=0)
    hand = HandWritten()
    hand.load_state_dict(compiled.state_dict())
    runs = {"compiled": (compiled, torch.optim.Adam(compiled.parameters(), lr=1e-3)),
            "hand-written": (hand, torch.optim.Adam(hand.parameters(), lr=1e-3))}
    for model, opt in runs.values():  # warm-up
        steps_per_second(model, opt, xs, ys, 5, args.batch)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(args.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            rates[name].append(steps_per_second(*runs[name], xs, ys, args.steps, args.batch))
    med = {name: statistics.median(v) for name, v in rates.items()}
    pair_ratios = sorted(a / b for a, b in zip(rates["compiled"], rates["hand-written"]))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"{args.rounds} rounds x {args.steps} steps")
    for name, rate in med.items():
        print(f"{name:>13}: {rate:7.1f} steps/s ({rate * args.batch:8.0f} samples/s), median")
    print(f"per-round ratios: min {pair_ratios[0]:.3f}, max {pair_ratios[-1]:.3f}")
    print(f"ratio compiled / hand-written: {statistics.median(pair_ratios):.3f}x "
          "(median of rounds; target >= 1.00x)")


if __name__ == "__main__":
    main()
