"""Language-model training: the character GPT template through the run loop against the same
model written by hand in plain PyTorch (nanoGPT-style), in one process.

    python bench/lm_throughput.py [--device cpu|cuda] [--amp off|bf16|fp16] [--steps 200]
                                  [--repeats 3] [--warmup 5] [--threads N] [--hand-fused]

Both train on `shakespeare` (char tokenizer, context 128) with AdamW (lr 1e-3, weight decay
0: the trainer's default) at batch 32, on the same windows in the same order, for the same
number of steps, from their own seeded initialisation; the hand-written model has the
template's sizes (embedding 64, 4 pre-norm causal blocks of 4 heads with a 256-wide GELU
feed-forward, LayerNorm, a linear head).

Each side is timed from its first step to its last (the trainer: the whole `RunLoop.fit`,
its setup included; the hand-written loop: its steps, its data already gathered). After a
short untimed warm-up of both, the two alternate for `--repeats` rounds, each a fresh model,
so neither always runs first in a cold or a warm process. The trainer's AdamW takes torch's
fused step; the hand-written one, as nanoGPT's, only on CUDA (`--hand-fused`: on the CPU
too, to compare the models and the loops alone); every round's ratio is printed,
in wall-clock time and in CPU time (`time.process_time`, all threads: steadier than the
clock on a machine shared with other work), then their medians.

Targets: trainer / hand-written training throughput >= 1.0x, and validation loss after the
same steps within 2 %. Then generation speed in tokens per second (greedy, one token at a
time with the whole context recomputed, as `torchloom generate` does), and the cost of one
forward pass at contexts 64, 128 and 256 (the template drawn again with 256 positions, and the
hand-written twin of the same width).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from torchloom.engine.compile import compile_graph
from torchloom.engine.data.dataset import Split
from torchloom.engine.project import load_project, loads_project, project_to_dict
from torchloom.engine.shapes import infer
from torchloom.engine.tasks import get_task
from torchloom.engine.train import RunLoop, TrainConfig
from torchloom.engine.train.batches import epoch_permutation

ROOT = Path(__file__).resolve().parents[1]
BATCH, LR = 32, 1e-3
#: both sides' AdamW decay: the trainer's default (torch's AdamW alone would take 0.01)
WEIGHT_DECAY = 0.0


class Block(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, width = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
        q, k, v = (t.view(n, length, self.heads, -1).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(n, length, width))
        return x + self.mlp(self.ln2(x))


class HandGPT(nn.Module):
    def __init__(self, vocab: int, context: int, width: int = 64, layers: int = 4,
                 heads: int = 4, hidden: int = 256) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.pos = nn.Parameter(torch.randn(context, width) * 0.02)
        self.blocks = nn.Sequential(*[Block(width, heads, hidden) for _ in range(layers)])
        self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[: ids.shape[1]]
        return self.head(self.norm(self.blocks(x)))


def setup():
    project = load_project(ROOT / "resources/examples/char_gpt.json")
    task = get_task("language_model")
    config = TrainConfig(epochs=1, batch_size=BATCH, lr=LR, optimizer="adamw", seed=0,
                         val_split=0.1)
    split, _notes, analysis = task.load_split(project, config)
    return project, analysis, split


def autocast(device: str, amp: str):
    if amp == "off":
        return torch.autocast("cpu", enabled=False)
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(torch.device(device).type, dtype=dtype)


def window_order(split, steps):
    """The training windows both sides see, in the order they see them."""
    return epoch_permutation(0, 0, len(split.train))[: steps * BATCH]


def run_trainer(project, analysis, split, steps, device, amp):
    """(tokens per second, tokens per CPU second, the trained model) through the run loop."""
    model = compile_graph(project.graph, analysis, seed=0)
    order = window_order(split, steps)
    # the loop shuffles its epoch with the seed: lay the windows out so that its shuffle
    # gives them in the hand-written loop's order
    train = split.train.subset(order[epoch_permutation(0, 0, len(order)).argsort()])
    only = Split(train, split.train.subset(torch.arange(0)), None, train)
    config = TrainConfig(epochs=1, batch_size=BATCH, lr=LR, optimizer="adamw", seed=0,
                         weight_decay=WEIGHT_DECAY, device=device, amp=amp, val_split=0.0)
    loop = RunLoop(get_task("language_model"), model, only, config, report_interval=1e9)
    start, cpu = time.perf_counter(), time.process_time()
    result = loop.fit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.status == "finished", result.error
    tokens = len(train) * train.x.shape[1]
    return tokens / seconds, tokens / cpu, model


def run_hand(split, vocab, steps, device, amp, fused=False):
    """(tokens per second, tokens per CPU second, the trained model), nanoGPT-style (whose
    AdamW is fused on CUDA only: `fused` asks for it on the CPU too, as the trainer does)."""
    torch.manual_seed(0)
    model = HandGPT(vocab, split.train.x.shape[1]).to(device)
    fused = fused or device.startswith("cuda")
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY,
                            fused=fused or None)
    scaler = torch.amp.GradScaler(enabled=amp == "fp16" and device.startswith("cuda"))
    order = window_order(split, steps)
    xs, ys = split.train.x[order].to(device), split.train.y[order].to(device)
    start, cpu = time.perf_counter(), time.process_time()
    for s in range(0, len(order), BATCH):
        xb, yb = xs[s:s + BATCH], ys[s:s + BATCH]
        with autocast(device, amp):
            out = model(xb)
        loss = F.cross_entropy(out.float().flatten(0, 1), yb.flatten())
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    tokens = len(order) * xs.shape[1]
    return tokens / (time.perf_counter() - start), tokens / (time.process_time() - cpu), model


@torch.no_grad()
def val_loss(model, split, device, amp):
    model.eval()
    total, n = 0.0, 0
    for s in range(0, len(split.val), 256):
        xb = split.val.x[s:s + 256].to(device)
        yb = split.val.y[s:s + 256].to(device)
        with autocast(device, amp):
            out = model(xb)
        total += float(F.cross_entropy(out.float().flatten(0, 1), yb.flatten(),
                                       reduction="sum"))
        n += yb.numel()
    return total / n


@torch.no_grad()
def generation_rate(model, device, context, tokens=64):
    model.eval()
    ids = torch.zeros(1, 1, dtype=torch.int64, device=device)
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(tokens):
            nxt = model(ids[:, -context:])[0, -1].argmax().view(1, 1)
            ids = torch.cat([ids, nxt], dim=1)
    return tokens / (time.perf_counter() - start)


@torch.no_grad()
def forward_ms(model, device, length, repeats=5):
    ids = torch.zeros(1, length, dtype=torch.int64, device=device)
    model(ids)
    start = time.perf_counter()
    for _ in range(repeats):
        model(ids)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of both, alternating which goes first")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps of each first")
    parser.add_argument("--hand-fused", action="store_true",
                        help="the hand-written loop's AdamW fused on the CPU too (the "
                             "trainer's is): compares the models and loops alone")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch's CPU threads (default: torch's own choice); 1 is "
                             "steadiest on a machine shared with other work")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    project, analysis, split = setup()
    vocab = int(project.graph.vocab_size)
    print(f"torch {torch.__version__}, device {args.device}, amp {args.amp}, "
          f"{torch.get_num_threads()} threads, character GPT on shakespeare, batch {BATCH}, "
          f"{args.steps} steps, vocab {vocab}; hand-written AdamW "
          f"{'fused' if args.hand_fused or args.device.startswith('cuda') else 'unfused'}")
    if args.warmup > 0:  # the first run in a process pays for allocations and kernel setup
        run_hand(split, vocab, args.warmup, args.device, args.amp, args.hand_fused)
        run_trainer(project, analysis, split, args.warmup, args.device, args.amp)
    sides = {"hand": lambda: run_hand(split, vocab, args.steps, args.device, args.amp,
                                      args.hand_fused),
             "trainer": lambda: run_trainer(project, analysis, split, args.steps,
                                            args.device, args.amp)}
    wall: list[float] = []
    cpu: list[float] = []
    for r in range(args.repeats):
        done = {name: sides[name]() for name in (("hand", "trainer") if r % 2 == 0
                                                  else ("trainer", "hand"))}
        (ours_rate, ours_cpu, ours), (hand_rate, hand_cpu, hand) = done["trainer"], done["hand"]
        wall.append(ours_rate / hand_rate)
        cpu.append(ours_cpu / hand_cpu)
        print(f"  round {r + 1} ({'hand-written' if r % 2 == 0 else 'trainer'} first): "
              f"trainer {ours_rate:7.0f} tokens/s, hand-written {hand_rate:7.0f} tokens/s: "
              f"{wall[-1]:.2f}x; per CPU second {ours_cpu:7.0f} vs {hand_cpu:7.0f}: "
              f"{cpu[-1]:.2f}x")
    ours_loss = val_loss(ours, split, args.device, args.amp)
    hand_loss = val_loss(hand, split, args.device, args.amp)
    print(f"  trainer:      val loss {ours_loss:.4f} (ppl {math.exp(ours_loss):.2f})")
    print(f"  hand-written: val loss {hand_loss:.4f} (ppl {math.exp(hand_loss):.2f})")
    print(f"trainer / hand-written throughput: {statistics.median(wall):.2f}x wall-clock, "
          f"{statistics.median(cpu):.2f}x CPU time (medians of {args.repeats}; "
          "target >= 1.0x)")
    print(f"val loss difference: {abs(ours_loss - hand_loss) / hand_loss * 100:.1f} % "
          "(target <= 2 %)")
    print(f"generation: {generation_rate(ours, args.device, 128):.0f} tokens/s (trainer's "
          f"model), {generation_rate(hand, args.device, 128):.0f} tokens/s (hand-written)")
    # the template's position table holds 128 positions: the same template drawn with 256
    # (its Inputs and PositionalEmbedding widened, the file otherwise as it is) and the
    # hand-written twin with 256 show how the cost grows with the context
    ours_wide = template_at(project, 256)
    wide = HandGPT(vocab, 256).to(args.device).eval()
    ours_ms = {n: forward_ms(ours_wide, args.device, n) for n in (64, 128, 256)}
    wide_ms = {n: forward_ms(wide, args.device, n) for n in (64, 128, 256)}
    print("one forward pass by context: trainer's model " + ", ".join(
        f"{n}: {ms:.1f} ms" for n, ms in ours_ms.items())
        + f" (256 / 64: {ours_ms[256] / ours_ms[64]:.1f}x); hand-written " + ", ".join(
        f"{n}: {ms:.1f} ms" for n, ms in wide_ms.items())
        + f" (256 / 64: {wide_ms[256] / wide_ms[64]:.1f}x)")


def template_at(project, context: int):
    """The template's model drawn for `context` tokens: its Inputs of 128 positions and its
    PositionalEmbedding widened, everything else as the file has it; untrained, eval mode."""
    data = project_to_dict(project)

    def widen(value) -> None:
        if isinstance(value, dict):
            if value.get("type") == "Input" and value["params"]["shape"][0] == 128:
                value["params"]["shape"][0] = context
            if value.get("type") == "PositionalEmbedding":
                value["params"]["max_len"] = context
            for item in value.values():
                widen(item)
        elif isinstance(value, list):
            for item in value:
                widen(item)

    widen(data)
    wide = loads_project(json.dumps(data))
    wide.graph.vocab_size = project.graph.vocab_size
    analysis = infer(wide.graph)
    assert analysis.ok, analysis.errors[:2]
    return compile_graph(wide.graph, analysis, seed=0).eval()


if __name__ == "__main__":
    main()
