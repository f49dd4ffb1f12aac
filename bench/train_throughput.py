"""Training throughput: the run loop against two hand-written loops, on identical weights and
batches, in one process.

    python bench/train_throughput.py [--device cpu|cuda] [--epochs 2] [--rounds 3]

All three train the Keras MNIST CNN (resources/examples/mnist_cnn.json) at batch 64 with
Adam on the mnist5k training split, normalised once, in the same shuffled order:

- trainer:    torchloom's run loop with the classify task (data on the device, indexed
              per batch, channels-last layout for this image model);
- trainer-nchw: the same with channels-last switched off, to show what the layout buys;
- dataloader: a hand-written loop over DataLoader(TensorDataset), collating every batch;
- sliced:     a hand-written loop over pre-shuffled tensors, sliced per batch (views).

Targets on CPU: trainer >= 1.25x dataloader, trainer >= 0.97x sliced, and --amp bf16 >=
1.3x fp32 with validation accuracy within one point. Rounds alternate the order of the
contenders; the ratios are medians over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from torchloom.engine.compile import compile_graph
from torchloom.engine.data import fit_to_graph, load_dataset, split_dataset
from torchloom.engine.data.dataset import Split
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer
from torchloom.engine.tasks import get_task
from torchloom.engine.train import RunLoop, TrainConfig
from torchloom.engine.train.batches import batch_starts, epoch_permutation

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def setup(device: str):
    project = load_project(ROOT / "resources/examples/mnist_cnn.json")
    analysis = infer(project.graph)
    data, _ = fit_to_graph(load_dataset({"name": "mnist5k"}), project.graph, analysis)
    split = split_dataset(data, 0.2, 0)
    norm = split.normalization
    train = split.train
    train.x = norm.apply(train.x)
    val = split.val
    val.x = norm.apply(val.x)
    model = compile_graph(project.graph, analysis, seed=0)
    return project, analysis, model.state_dict(), train, val


def fresh_model(project, analysis, weights, device):
    model = compile_graph(project.graph, analysis, seed=0)
    model.load_state_dict(weights)
    return model.to(device)


def run_trainer(project, analysis, weights, train, val, device, epochs, amp="off",
                channels_last=None, augment=None):
    model = fresh_model(project, analysis, weights, device)
    empty = train.subset(torch.arange(0))
    split = Split(train, empty, None, train)
    config = TrainConfig(epochs=epochs, batch_size=BATCH, device=device, amp=amp, seed=0)
    trainer = RunLoop(get_task("classify"), model, split, config, report_interval=1e9,
                      augment=augment)
    trainer.channels_last = channels_last
    start = time.perf_counter()
    result = trainer.fit()
    seconds = time.perf_counter() - start
    assert result.status == "finished", result.error
    return len(train) * epochs / seconds, model


def run_dataloader(project, analysis, weights, train, val, device, epochs):
    model = fresh_model(project, analysis, weights, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dataset = TensorDataset(train.x, train.y)
    start = time.perf_counter()
    for epoch in range(epochs):
        order = epoch_permutation(0, epoch, len(train)).tolist()
        loader = DataLoader(dataset, batch_size=BATCH, sampler=order)
        total = 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
    return len(train) * epochs / (time.perf_counter() - start), model


def run_sliced(project, analysis, weights, train, val, device, epochs):
    model = fresh_model(project, analysis, weights, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    starts = batch_starts(len(train), BATCH)
    start = time.perf_counter()
    for epoch in range(epochs):
        perm = epoch_permutation(0, epoch, len(train))
        xs, ys = train.x[perm].to(device), train.y[perm].to(device)
        total = 0.0
        for s in starts:
            xb, yb = xs[s:s + BATCH], ys[s:s + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
    return len(train) * epochs / (time.perf_counter() - start), model


@torch.no_grad()
def accuracy(model, val, device, amp="off"):
    model.eval()
    ctx = torch.autocast(torch.device(device).type, dtype=torch.bfloat16) if amp == "bf16" \
        else torch.autocast("cpu", enabled=False)
    with ctx:
        out = model(val.x.to(device))
    return (out.argmax(-1).cpu() == val.y).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    project, analysis, weights, train, val, = setup(args.device)
    def trainer_nchw(*a):
        return run_trainer(*a, channels_last=False)

    contenders = {"trainer": run_trainer, "trainer-nchw": trainer_nchw,
                  "dataloader": run_dataloader, "sliced": run_sliced}
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    bf16_ratios, acc = [], {}
    for r in range(args.rounds):
        names = list(contenders) if r % 2 == 0 else list(reversed(contenders))
        for name in names:
            rate, _ = contenders[name](project, analysis, weights, train, val, args.device,
                                       args.epochs)
            rates[name].append(rate)
        fp32, m32 = run_trainer(project, analysis, weights, train, val, args.device, args.epochs)
        bf16, m16 = run_trainer(project, analysis, weights, train, val, args.device, args.epochs,
                                amp="bf16")
        bf16_ratios.append(bf16 / fp32)
        acc = {"fp32": accuracy(m32, val, args.device), "bf16": accuracy(m16, val, args.device,
                                                                           "bf16")}
    med = {name: statistics.median(v) for name, v in rates.items()}
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"Keras MNIST CNN, batch {BATCH}, {len(train)} samples x {args.epochs} epochs, "
          f"{args.rounds} rounds")
    for name, rate in med.items():
        print(f"{name:>11}: {rate:8.0f} samples/s (median)")
    print(f"trainer / dataloader: {med['trainer'] / med['dataloader']:.2f}x (target >= 1.25x)")
    print(f"trainer / sliced:     {med['trainer'] / med['sliced']:.2f}x (target >= 0.97x)")
    print(f"without channels-last: trainer / dataloader "
          f"{med['trainer-nchw'] / med['dataloader']:.2f}x, trainer / sliced "
          f"{med['trainer-nchw'] / med['sliced']:.2f}x")
    print(f"bf16 / fp32 trainer:  {statistics.median(bf16_ratios):.2f}x (target >= 1.3x); "
          f"val accuracy fp32 {acc['fp32']:.4f}, bf16 {acc['bf16']:.4f} "
          f"(difference {abs(acc['fp32'] - acc['bf16']) * 100:.2f} points, target <= 1)")


if __name__ == "__main__":
    main()
