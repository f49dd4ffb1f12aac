"""The text of the exported ``train.py``: DistributedDataParallel training with torch alone.

Kept apart from `torchrun_export` so the script reads as the script it is. The export fills
in ``__TITLE__`` and ``__CONFIG__`` (the project's training settings); nothing else in it
is generated. It mirrors Torchloom's run loop (same optimisers, loss, cosine schedule, same
dropped one-sample last batch) so a run on N processes lands where a Torchloom run does.
"""

from __future__ import annotations

import json
from typing import Any

#: The training settings the script carries, in the order it lists them.
CONFIG_KEYS = ("epochs", "batch_size", "optimizer", "lr", "weight_decay", "momentum",
               "schedule", "loss", "seed", "frozen", "lr_scales")


def render_train_script(title: str, config: dict[str, Any]) -> str:
    """``train.py`` for a project called `title` with training settings `config`.

    The title is the person's own text and lands inside the docstring, so it goes in only
    as `docstring_text` makes it; the settings go in as Python literals."""
    lines = ["CONFIG = {"]
    lines += [f"    {_literal(key)}: {_literal(config[key])}," for key in CONFIG_KEYS]
    lines.append("}")
    return (TRAIN_SCRIPT.replace("__TITLE__", docstring_text(title))
            .replace("__CONFIG__", "\n".join(lines)))


def render_readme(title: str) -> str:
    """``README.txt``, whose first line names the project (on that one line)."""
    return README.replace("__TITLE__", one_line(title))


def docstring_text(text: str) -> str:
    """`text` safe between the double quotes inside the script's docstring: no double
    quote (a run of them would close the docstring), no backslash (an escape, or a
    line continuation), and on one line (the first line is the --help description)."""
    return one_line(text).replace('"', "'").replace("\\", "/")


def one_line(text: str) -> str:
    """`text` with line breaks, tabs and other control characters as single spaces."""
    cleaned = "".join(c if c.isprintable() else " " for c in str(text))
    return " ".join(cleaned.split()) or "untitled"


def _literal(value: Any) -> str:
    """A config value as Python source: a string JSON-quoted (double quotes, every special
    character escaped, which Python reads back the same), anything else as `repr`."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


TRAIN_SCRIPT = '''\
"""Train "__TITLE__" with DistributedDataParallel (a script exported by Torchloom).

One machine, N processes (one per GPU, or N CPU processes):

    torchrun --nproc-per-node N train.py [--device cpu|cuda] [--epochs E]
             [--batch-size B] [--lr LR] [--out DIR]

Without torchrun it trains as one process: python train.py --device cpu

It needs only PyTorch; model.py and data.npz sit next to it.
--batch-size is the global batch: each of the N processes takes batch-size // N samples
per step, so N processes take the same optimiser steps one process would.
After every epoch rank 0 prints a line and writes DIR/checkpoint.pt (weights, optimiser,
epoch) and DIR/model.safetensors (when safetensors is installed); the weight names are
those of a Torchloom run's model.safetensors. The last line rank 0 prints is JSON.
"""

from __future__ import annotations

import argparse
import ast
import gc
import json
import math
import os
import sys
import time
import zipfile
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import build  # noqa: E402 - the exported model, next to this script

#: The project's training settings; the command line overrides some of them.
__CONFIG__


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"),
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    parser.add_argument("--batch-size", type=int, default=CONFIG["batch_size"],
                        help="the global batch, split evenly across the processes")
    parser.add_argument("--lr", type=float, default=CONFIG["lr"])
    parser.add_argument("--out", type=Path, default=Path("checkpoints"),
                        help="where rank 0 writes checkpoint.pt and model.safetensors")
    parser.add_argument("--data", type=Path, default=HERE / "data.npz")
    parser.add_argument("--init", type=Path, default=HERE / "init.pt",
                        help="starting weights (the export's); without the file: fresh ones")
    parser.add_argument("--resume", type=Path,
                        help="a checkpoint.pt to continue from (if it exists yet)")
    return parser.parse_args(argv)


def setup(device_name: str) -> tuple[int, int, torch.device, bool]:
    """Rank, world size and device. torchrun sets WORLD_SIZE; without it, one process."""
    distributed = "WORLD_SIZE" in os.environ
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device_name == "cuda":
        if local_rank >= torch.cuda.device_count():
            sys.exit(f"rank {rank}: no CUDA device {local_rank} (found "
                     f"{torch.cuda.device_count()}): start at most one process per GPU")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if distributed:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device, distributed


#: The array types data.npz holds, as .npy headers name them.
NPY_DTYPES = {"<f4": torch.float32, "<f8": torch.float64, "<f2": torch.float16,
              "<i8": torch.int64, "<i4": torch.int32, "<i2": torch.int16, "|i1": torch.int8,
              "|u1": torch.uint8, "|b1": torch.bool}


def read_npz(path: Path) -> dict[str, torch.Tensor]:
    """Read data.npz's numeric arrays without numpy: an NPZ is a zip of .npy files, each a
    short header (a Python dict literal, read with ast.literal_eval, never executed) and the
    raw array."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            if raw[:6] != b"\\x93NUMPY":
                raise ValueError(f"{path}: {name} is not a .npy array")
            width = 2 if raw[6] == 1 else 4
            length = int.from_bytes(raw[8:8 + width], "little")
            start = 8 + width + length
            header = ast.literal_eval(raw[8 + width:start].decode("latin1"))
            if header["descr"] not in NPY_DTYPES:
                continue  # text (the class names): training needs only the numbers
            if header["fortran_order"]:
                raise ValueError(f"{path}: {name} is stored column-major; save it C-ordered")
            dtype = NPY_DTYPES[header["descr"]]
            body = bytearray(raw[start:])
            flat = (torch.frombuffer(body, dtype=dtype) if body
                    else torch.empty(0, dtype=dtype))
            arrays[name.removesuffix(".npy")] = flat.reshape(header["shape"])
    return arrays


def load_data(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """The prepared (already normalised) splits, moved to the device once."""
    data = read_npz(path)
    return {key: data[key].to(device) for key in ("x_train", "y_train", "x_val", "y_val")}


def freeze(model: torch.nn.Module) -> None:
    """The project's frozen blocks: no gradients (set before DDP wraps the model)."""
    for name in CONFIG["frozen"]:
        model.get_submodule(name).requires_grad_(False)


def train_mode(net: torch.nn.Module, model: torch.nn.Module) -> None:
    """`net` (the model, or DDP around it) in training mode, with the frozen blocks of
    `model` (their BatchNorm statistics, their dropout) left in eval mode."""
    net.train()
    for name in CONFIG["frozen"]:
        model.get_submodule(name).eval()


def param_groups(model: torch.nn.Module, lr: float) -> list:
    """One group per block learning-rate scale, trainable parameters only."""
    groups = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault(CONFIG["lr_scales"].get(name.split(".")[0], 1.0), []).append(p)
    return [{"params": ps, "lr": lr * s, "lr_scale": s} for s, ps in groups.items()]


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    decay = CONFIG["weight_decay"]
    if CONFIG["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=CONFIG["momentum"], weight_decay=decay)
    if CONFIG["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=decay)


def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if CONFIG["loss"] == "cross_entropy":
        return F.cross_entropy(out.float(), y)
    regress = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss}[CONFIG["loss"]]
    return regress(out.float().reshape(y.shape), y)


def batch_starts(n: int, batch: int) -> list[int]:
    """Batch offsets; a last batch of one sample is dropped (BatchNorm cannot train on it)."""
    starts = list(range(0, n, batch))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return starts


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor
             ) -> tuple[float | None, float | None]:
    """Validation loss and accuracy over the whole validation split (rank 0 only)."""
    if len(y) == 0:
        return None, None
    model.eval()
    total, correct = 0.0, 0
    for start in range(0, len(y), 512):
        out = model(x[start:start + 512])
        yb = y[start:start + 512]
        total += float(loss_fn(out, yb)) * len(yb)
        if CONFIG["loss"] == "cross_entropy":
            correct += int((out.argmax(-1) == yb).sum())
    accuracy = correct / len(y) if CONFIG["loss"] == "cross_entropy" else None
    return total / len(y), accuracy


def save_atomic(path: Path, write) -> None:
    """Write beside `path`, then rename: a crash never leaves half a checkpoint."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def save_checkpoint(out: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    epoch: int, history: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    state = {"model": weights, "optimizer": optimizer.state_dict(), "epoch": epoch,
             "history": history, "config": dict(CONFIG)}
    save_atomic(out / "checkpoint.pt", lambda p: torch.save(state, p))
    try:
        from safetensors.torch import save_file
    except ImportError:
        return
    save_atomic(out / "model.safetensors", lambda p: save_file(weights, str(p)))


def resume_found(path: Path | None, world: int, device: torch.device,
                 distributed: bool) -> bool:
    """Whether to resume from `path`. A missing file means "start from the beginning", so
    one command line serves the first start and every restart (torchrun --max-restarts);
    but every process must see the same answer, or they would train different epochs."""
    found = path is not None and path.is_file()
    if distributed:
        count = torch.tensor([int(found)], device=device)
        dist.all_reduce(count)
        if 0 < int(count) < world:
            sys.exit(f"{path} is readable by {int(count)} of {world} processes: every machine "
                     "needs it (put --out on shared storage, or copy the checkpoint)")
    return found


def log(rank: int, text: str) -> None:
    if rank == 0:
        print(text, flush=True)


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device,
          distributed: bool) -> None:
    torch.manual_seed(CONFIG["seed"] + rank)  # dropout masks differ between processes
    data = load_data(args.data, device)
    model = build()
    if args.init.is_file():
        model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    state = None
    if resume_found(args.resume, world, device, distributed):
        state = torch.load(args.resume, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
    elif args.resume is not None:
        log(rank, f"no checkpoint at {args.resume} yet: training from the start")
    freeze(model)
    model.to(device)
    net = model
    if distributed:
        ids = [device.index] if device.type == "cuda" else None
        net = DistributedDataParallel(model, device_ids=ids)
    optimizer = make_optimizer(param_groups(model, args.lr), args.lr)
    start_epoch, history = 0, []
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, history = int(state["epoch"]), list(state.get("history", []))
        if start_epoch >= args.epochs:
            log(rank, f"{args.resume} has already trained {start_epoch} epochs: ask for more "
                      f"with --epochs {start_epoch + 1} or higher")
    per_process = max(1, args.batch_size // world)
    sampler = DistributedSampler(range(len(data["y_train"])), num_replicas=world, rank=rank,
                                 shuffle=True, seed=CONFIG["seed"])
    starts = batch_starts(sampler.num_samples, per_process)
    total_steps = len(starts) * args.epochs
    log(rank, f"{world} process(es) on {device.type}, global batch {per_process * world} "
              f"({per_process} per process), {len(data['y_train'])} training samples, "
              f"epochs {start_epoch + 1}..{args.epochs}")
    classify = CONFIG["loss"] == "cross_entropy"
    for epoch in range(start_epoch, args.epochs):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every process
        order = torch.tensor(list(sampler), device=device)
        train_mode(net, model)
        sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, seen
        began = time.perf_counter()
        for i, start in enumerate(starts):
            if CONFIG["schedule"] == "cosine":
                step = epoch * len(starts) + i
                for group in optimizer.param_groups:
                    group["lr"] = (args.lr * group["lr_scale"] * 0.5
                                   * (1 + math.cos(math.pi * step / total_steps)))
            idx = order[start:start + per_process]
            xb, yb = data["x_train"][idx], data["y_train"][idx]
            out = net(xb)
            loss = loss_fn(out, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients of all processes here
            optimizer.step()
            sums[0] += loss.detach().double() * len(idx)
            if classify:
                sums[1] += (out.detach().argmax(-1) == yb).sum()
            sums[2] += len(idx)
        if distributed:
            dist.all_reduce(sums)  # totals over every process
        seconds = time.perf_counter() - began
        loss_sum, correct, seen = sums.tolist()
        if rank == 0:
            val_loss, val_acc = evaluate(model, data["x_val"], data["y_val"])
            row = {"epoch": epoch + 1, "train_loss": loss_sum / seen,
                   "train_acc": correct / seen if classify else None, "val_loss": val_loss,
                   "val_acc": val_acc, "samples_per_s": seen / seconds}
            history.append(row)
            shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items()
                              if isinstance(v, float) and k != "samples_per_s")
            log(rank, f"epoch {epoch + 1}/{args.epochs}  {shown}  "
                      f"{row['samples_per_s']:,.0f} samples/s")
            save_checkpoint(args.out, model, optimizer, epoch + 1, history)
    if distributed:
        dist.barrier()  # every process leaves together, after rank 0's last checkpoint
    last = history[-1] if history else {}
    log(rank, json.dumps({"val_acc": last.get("val_acc"), "val_loss": last.get("val_loss"),
                          "train_loss": last.get("train_loss"), "epochs": args.epochs,
                          "world_size": world, "checkpoint": str(args.out / "checkpoint.pt")}))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rank, world, device, distributed = setup(args.device)
    try:
        train(args, rank, world, device, distributed)
    finally:
        if distributed:
            # DDP's reducer sits in reference cycles: free it while the process group is
            # still alive, or its teardown at exit can abort the process.
            gc.collect()
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''

README = '''\
__TITLE__: a training script exported by Torchloom

    train.py      trains the model with DistributedDataParallel (needs only torch)
    model.py      the model as plain PyTorch code (class Model, build())
    data.npz      the project's data, split and normalised as Torchloom trains it:
                  x_train, y_train, x_val, y_val (plus mean/std, classes when known)
    init.pt       the starting weights (a torch state dict)

Run it on one machine with N processes (one per GPU, or N CPU processes):

    torchrun --nproc-per-node N train.py --device cuda
    torchrun --nproc-per-node 2 train.py --device cpu --epochs 5

or as a single process: python train.py --device cpu

Options: --epochs E, --batch-size B (the global batch), --lr LR, --out DIR
(default ./checkpoints), --resume DIR/checkpoint.pt. Rank 0 logs each epoch and
writes checkpoint.pt and model.safetensors to DIR. Load model.safetensors back into
Torchloom as a project's initial weights, or into model.py with
build().load_state_dict(safetensors.torch.load_file("model.safetensors")).

Several machines, and when to move to FSDP: see docs/scale-out.md in Torchloom.
'''
