"""Augmentation's cost: the run loop with random flip + crop on against the same run without,
on identical weights and batches, in one process.

    python bench/augment_throughput.py [--device cpu|cuda] [--epochs 1] [--rounds 3]

The Keras MNIST CNN (resources/examples/mnist_cnn.json) at batch 64 on mnist5k, as
bench/train_throughput.py trains it. Target: with hflip + crop (padding 4) the trainer keeps
>= 0.9x of its throughput without. Rounds alternate the order; the ratio is the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_throughput import run_trainer, setup  # noqa: E402

from torchloom.engine.data.augment import parse  # noqa: E402
from torchloom.engine.data.augment_ops import Augmenter  # noqa: E402

SPEC = {"hflip": {}, "crop": {"padding": 4}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    project, analysis, weights, train, val = setup(args.device)
    ratios, rates = [], {"plain": [], "augmented": []}
    for r in range(args.rounds):
        order = ["plain", "augmented"] if r % 2 == 0 else ["augmented", "plain"]
        got = {}
        for name in order:
            augment = Augmenter(parse(SPEC), 0) if name == "augmented" else None
            got[name], _ = run_trainer(project, analysis, weights, train, val, args.device,
                                       args.epochs, augment=augment)
            rates[name].append(got[name])
        ratios.append(got["augmented"] / got["plain"])
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"Keras MNIST CNN, batch 64, {len(train)} samples x {args.epochs} epochs, "
          f"{args.rounds} rounds, augment {SPEC}")
    for name, values in rates.items():
        print(f"{name:>10}: {statistics.median(values):8.0f} samples/s (median)")
    print(f"augmented / plain: {statistics.median(ratios):.2f}x (target >= 0.9x)")


if __name__ == "__main__":
    main()
