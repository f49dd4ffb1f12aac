"""Per-layer weight and gradient statistics recorded while a model trains.

Vanishing and exploding gradients, dying ReLUs and weights that drift off to huge values
are seen only over time, so the run loop records them on a cadence (every `stats_every`
steps and at each epoch's end, never on every step) into ``stats.jsonl`` in the run
folder: one JSON object per capture. The gradients are the ones the last backward pass
left on the parameters, so a capture costs no extra backward, and the dead-ReLU share is
read from the captured step's own forward pass (hooks on only that step), so a capture runs
no extra forward either and a run with captures trains exactly like one without.

One capture (a public format, docs/project-format.md#run-folders)::

    {"step": 40, "epoch": 1, "nodes": {"fc1": {
        "params": 6400,
        "weight": {"mean", "std", "min", "max", "counts", "edges", "nonfinite"},
        "grad": {"norm", "mean", "std", "min", "max", "counts", "edges", "nonfinite"},
        "nonfinite": 0}, "relu1": {"dead_relu": 0.12}}}

A node's tensors (weight and bias) are described together, so `counts` sums to the node's
parameter count when every value is finite. The file is bounded: past `MAX_STATS_BYTES`
every other capture is dropped and the cadence doubles, so a long run keeps a view of its
whole course in a file of bounded size.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..fileio import atomic_write_text
from ..probe.tensor_stats import tensor_stats
from .runfiles import STATS_FILE

if TYPE_CHECKING:
    from .loop import RunLoop

#: stats.jsonl is thinned (every other capture dropped, the cadence doubled) past this.
MAX_STATS_BYTES = 16 * 2**20


def _described(values: torch.Tensor) -> dict[str, Any]:
    stats = tensor_stats(values)
    return {"mean": stats.mean, "std": stats.std, "min": stats.min, "max": stats.max,
            "counts": stats.counts, "edges": stats.edges, "nonfinite": stats.nonfinite}


def _key(module_name: str, node_id: str) -> str:
    """The node id, or ``<graph>.<node id>`` for a module inside a pair (a GAN's two graphs
    may hold the same id)."""
    graph = module_name.rsplit(".", 1)[0] if "." in module_name else ""
    return f"{graph}.{node_id}" if graph else node_id


def capture_layers(model: nn.Module, node_ids: dict[str, str],
                   dead_relu: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Per node: its weights, the gradients the last backward left on them and the
    non-finite values among both; a ReLU gets its share of dead units from `dead_relu` (see
    `ReluWatch`). `node_ids` maps module names to node ids, as the run loop holds them."""
    dead_relu = dead_relu or {}
    nodes: dict[str, dict[str, Any]] = {}
    for name, module in model.named_modules():  # the compiler's order: input to output
        if name not in node_ids:
            continue
        key = _key(name, node_ids[name])
        if key in dead_relu:
            nodes[key] = {"dead_relu": dead_relu[key]}
        params = [p for p in module.parameters()]
        if not params:
            continue
        with torch.no_grad():
            flat = torch.cat([p.detach().reshape(-1) for p in params])
            entry: dict[str, Any] = {"params": int(flat.numel()), "weight": _described(flat)}
            grads = [p.grad for p in params if p.grad is not None]
            if grads:
                g = torch.cat([gr.detach().reshape(-1) for gr in grads])
                described = _described(g)
                finite = g[torch.isfinite(g)].double()
                described["norm"] = float(finite.norm()) if finite.numel() else 0.0
                if not math.isfinite(described["norm"]):  # finite values whose squares are not
                    described["norm"] = float(torch.finfo(torch.float64).max)
                entry["grad"] = described
            else:
                entry["grad"] = None
        entry["nonfinite"] = entry["weight"]["nonfinite"] + (
            entry["grad"]["nonfinite"] if entry["grad"] else 0)
        nodes[key] = {**nodes.get(key, {}), **entry}
    return nodes


class ReluWatch:
    """Which units of each ReLU fire during one training step: forward hooks put on just
    before the step that is captured and taken off right after it, so no other step pays,
    and nothing runs that the training would not run anyway (no extra forward pass, no
    random numbers drawn, a person's own hooks on the model see nothing new)."""

    def __init__(self, model: nn.Module, node_ids: dict[str, str]) -> None:
        self.alive: dict[str, torch.Tensor] = {}
        self.handles = [module.register_forward_hook(self._hook(_key(name, node_ids[name])))
                        for name, module in model.named_modules()
                        if name in node_ids and isinstance(module, nn.ReLU)]

    def _hook(self, key: str):  # type: ignore[no-untyped-def]
        def hook(_module: nn.Module, _args: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            if not isinstance(out, torch.Tensor) or out.dim() == 0:
                return
            fired = (out.detach() > 0).reshape(out.shape[0], -1).any(dim=0)
            seen = self.alive.get(key)
            self.alive[key] = fired if seen is None or seen.shape != fired.shape \
                else seen | fired
        return hook

    def remove(self) -> dict[str, float]:
        """Take the hooks off; each ReLU's share of units zero for every sample seen."""
        for handle in self.handles:
            handle.remove()
        self.handles = []
        return {key: 1.0 - float(fired.double().mean()) for key, fired in self.alive.items()
                if fired.numel()}


class StatsRecorder:
    """Captures every `every` steps and at each epoch's end, into `path` (None: in memory
    only, for a run without a folder) and to the callbacks' `on_stats`."""

    def __init__(self, every: int, path: Path | None = None,
                 max_bytes: int = MAX_STATS_BYTES) -> None:
        self.every = every
        self.path = path
        self.max_bytes = max_bytes
        self._watch: ReluWatch | None = None
        self._size = 0

    def start(self, loop: "RunLoop") -> None:
        """Before the first step: where to write. A resumed run keeps the captures up to its
        step and drops any after it (written after the checkpoint it resumes from)."""
        if loop.run_dir is not None:
            self.path = loop.run_dir / STATS_FILE
        if self.path is None:
            return
        kept = [c for c in read_captures(self.path) if c["step"] <= loop.step] \
            if self.path.exists() else []
        self.every = max(self.every, max((int(c.get("every", 0)) for c in kept), default=0))
        text = "".join(json.dumps(c) + "\n" for c in kept)
        atomic_write_text(self.path, text)
        self._size = len(text.encode())

    def arm(self, loop: "RunLoop", step: int, epoch_end: bool, span: int = 1) -> bool:
        """Before step `step`, the last batch of an optimizer step over `span` batches
        (gradient accumulation): whether it is captured; if so the ReLUs are watched
        during it."""
        if not self.due(step, epoch_end, span):
            return False
        self.disarm()
        self._watch = ReluWatch(loop.model, loop.node_ids)
        return True

    def disarm(self) -> dict[str, float]:
        """Take any hooks off the model (also after a failed step)."""
        watch, self._watch = self._watch, None
        return watch.remove() if watch is not None else {}

    def due(self, step: int, epoch_end: bool, span: int = 1) -> bool:
        """Whether steps (step - span, step] hold a multiple of `every`, or the epoch ends."""
        return epoch_end or step // self.every > (step - span) // self.every

    def record(self, loop: "RunLoop") -> dict[str, Any]:
        """One capture, appended to the file."""
        dead = self.disarm()
        capture = {"step": loop.step, "epoch": loop.epoch + 1, "every": self.every,
                   "nodes": capture_layers(loop.model, loop.node_ids, dead)}
        if self.path is not None:
            line = json.dumps(capture) + "\n"
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
            self._size += len(line.encode())
            if self._size > self.max_bytes:
                self._thin()
        return capture

    def _thin(self) -> None:
        """Keep every other capture (the newest always) and double the cadence."""
        assert self.path is not None
        captures = read_captures(self.path)
        kept = captures[::-1][::2][::-1]
        self.every *= 2
        text = "".join(json.dumps(c) + "\n" for c in kept)
        atomic_write_text(self.path, text)
        self._size = len(text.encode())


def read_captures(path: Path) -> list[dict[str, Any]]:
    """The captures of a stats.jsonl, oldest first. A last line cut short (a run killed
    while writing it) is left out; so is any line that is not a capture."""
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("step"), int) \
                    and isinstance(value.get("nodes"), dict):
                out.append(value)
    return out
