"""What each node costs (parameters, FLOPs, activation memory, measured time) and whether a
batch size fits on a device.

The cost view answers "which layer makes this slow or big?" before or after training, so
everything here works from the graph alone: no weights are needed, and nothing is measured
unless asked (timing builds each layer afresh on the device and runs it alone).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from ..compile import nx_ancestors_and_self
from ..errors import ProbeError, TrainingError
from ..graph import Graph
from ..shapes import Analysis
from ..summary import node_flops


@dataclass
class NodeCost:
    """One node at a given batch size: parameters, FLOPs (forward), output bytes, and the
    measured forward + backward time in milliseconds (None when not measured, or when the
    node cannot run alone, e.g. BatchNorm on a batch of one in training mode)."""

    node_id: str
    params: int
    flops: int
    activation_bytes: int
    time_ms: float | None = None


def dtype_size(dtype: str) -> int:
    """Bytes per element of a dtype named like TensorSpec's ("float32", "int64")."""
    value = getattr(torch, dtype, None)
    return value.itemsize if isinstance(value, torch.dtype) else 4


def _costed(graph: Graph, analysis: Analysis) -> list[str]:
    """Nodes with a layer (not inputs) whose shapes are known, in graph order."""
    out = []
    for node_id in analysis.order:
        block = graph.node(node_id).block
        if block is not None and not block.is_input and analysis.nodes[node_id].spec is not None:
            out.append(node_id)
    return out


def resolve_device(device: str) -> torch.device:
    """The training's device rules ("auto" is the GPU when there is one), with a device that
    is not there as a `ProbeError`."""
    from ..train.config import resolve_device as training_device

    try:
        return training_device(device)
    except TrainingError as exc:
        raise ProbeError(f"cannot time on {device}: {exc.message}") from None


def _sync(device: torch.device) -> None:
    if device.type == "cuda" and torch.cuda.is_available():
        torch.cuda.synchronize(device)


def time_node(graph: Graph, analysis: Analysis, node_id: str, batch_size: int,
              device: torch.device, repeats: int = 5) -> float | None:
    """Median milliseconds of forward + backward of the node alone, freshly built on
    `device` with random inputs of its input shapes (token ids: within an Embedding's
    vocabulary, else zeros). Forward only when nothing needs a gradient. None when the
    node cannot run alone at this batch size, or runs out of memory."""
    node = graph.node(node_id)
    block = node.block
    info = analysis.nodes[node_id]
    assert block is not None
    try:
        params = node.build_params(graph.base_dir)
        with torch.device(device):
            module = block.build(params, [s.shape for s in info.input_specs])
        module.to(device).train()  # training is what is being estimated
        inputs = []
        for spec in info.input_specs:
            shape = (batch_size, *spec.shape)
            if spec.is_int:
                high = module.num_embeddings if isinstance(module, nn.Embedding) else 0
                inputs.append(torch.randint(0, high, shape, device=device) if high
                              else torch.zeros(shape, dtype=torch.int64, device=device))
            else:
                inputs.append(torch.randn(shape, device=device, requires_grad=True))
        backward = any(t.requires_grad for t in inputs) or any(
            p.requires_grad for p in module.parameters())

        def step() -> None:
            with torch.enable_grad():
                out = module(*inputs)
                out = out[0] if isinstance(out, tuple) else out
                if backward and out.requires_grad:
                    out.float().sum().backward()
            module.zero_grad(set_to_none=True)
            for t in inputs:
                t.grad = None

        step()  # warm-up: first-call allocations and kernel selection
        times = []
        for _ in range(max(1, repeats)):
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            times.append((time.perf_counter() - start) * 1000.0)
        return float(statistics.median(times))
    except torch.OutOfMemoryError:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return None
    except Exception:  # noqa: BLE001 - a node that cannot run alone just has no time
        return None


def node_costs(graph: Graph, analysis: Analysis, batch_size: int = 1,
               measure: str | None = None, repeats: int = 5) -> dict[str, NodeCost]:
    """Cost of every node with a layer at `batch_size`.

    FLOPs are `summary.node_flops` (matrix products, convolutions, attention; batch of one)
    times the batch; activation bytes are the output's size at the batch. With `measure`
    (a device: "cpu", "cuda", "cuda:1", "auto") each node is also timed alone.

    Raises:
        ProbeError: `measure` names a device that is not there.
    """
    device = resolve_device(measure) if measure is not None else None
    flops = node_flops(graph, analysis)
    out: dict[str, NodeCost] = {}
    for node_id in _costed(graph, analysis):
        info = analysis.nodes[node_id]
        assert info.spec is not None
        per_sample = 1
        for size in info.spec.shape:
            per_sample *= size
        time_ms = (time_node(graph, analysis, node_id, batch_size, device, repeats)
                   if device is not None else None)
        out[node_id] = NodeCost(node_id, info.num_params, flops.get(node_id, 0) * batch_size,
                                per_sample * batch_size * dtype_size(info.spec.dtype), time_ms)
    return out


@dataclass
class MemoryEstimate:
    """Bytes that training at `batch_size` needs on the device, by what holds them."""

    params: int
    gradients: int
    optimizer: int
    activations: int
    batch_size: int

    @property
    def total(self) -> int:
        return self.params + self.gradients + self.optimizer + self.activations


def memory_estimate(graph: Graph, analysis: Analysis, batch_size: int, optimizer: str = "adam",
                    amp: str | None = None, momentum: float = 0.9) -> MemoryEstimate:
    """A rough estimate of training memory: good to tell 50 MB from 50 GB, not to the byte.

    - parameters: 4 bytes each (float32); gradients: 4 bytes per trainable parameter;
    - optimizer state: Adam/AdamW keep two float32 moments (8 bytes per trainable
      parameter), SGD with momentum one (4 bytes), plain SGD none;
    - activations: every node's output at the batch, counted twice (the output itself and
      what backward saves for it); half that under amp "bf16"/"fp16".

    Left out: the dataset (the run loop keeps in-memory data on the device as well), the
    framework's own workspace (cuDNN, the CUDA context, a few hundred MB on a GPU) and
    fragmentation of the allocator. Only nodes that feed the output count, as only those
    are compiled.
    """
    used = (nx_ancestors_and_self(graph, analysis.output) if analysis.output is not None
            else set(analysis.nodes))
    params = trainable = activations = 0
    for node_id in _costed(graph, analysis):
        if node_id not in used:
            continue
        info = analysis.nodes[node_id]
        assert info.spec is not None
        params += info.num_params
        trainable += info.trainable_params
        per_sample = 1
        for size in info.spec.shape:
            per_sample *= size
        activations += per_sample * batch_size * dtype_size(info.spec.dtype) * 2
    if amp in ("bf16", "fp16"):
        activations //= 2
    name = optimizer.lower()
    if name in ("adam", "adamw"):
        state = 8 * trainable
    elif name == "sgd" and momentum:
        state = 4 * trainable
    else:
        state = 0
    return MemoryEstimate(4 * params, 4 * trainable, state, activations, batch_size)


def format_bytes(n: int) -> str:
    """35_200_000 -> '35 MB' (powers of 1000; one decimal below 10)."""
    value, unit = float(n), "bytes"
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            break
        value /= 1000
    if unit == "bytes":
        return f"{int(value)} bytes"
    return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


def fits_on(estimate: MemoryEstimate, device: str,
            memory: tuple[int, int] | None = None) -> tuple[bool | None, str]:
    """Whether training fits on `device`, with one sentence for a person.

    It fits when the estimate plus a 20% margin is below the device's free memory. The CPU's
    memory is not checked (None). `memory` gives (free, total) bytes instead of asking the
    device, for tests and for a GUI that already knows them.
    """
    needs = (f"Batch {estimate.batch_size} needs about {format_bytes(estimate.total)} "
             "to train")
    try:
        target = torch.device("cuda" if device == "auto" and torch.cuda.is_available()
                              else "cpu" if device == "auto" else device)
    except RuntimeError:
        return None, f"{needs}; {device} is not a device torchloom knows."
    if target.type != "cuda":
        return None, f"{needs}; memory on the {target.type.upper()} is not checked."
    index = target.index
    if memory is None:
        if not torch.cuda.is_available():
            return None, f"{needs}; there is no CUDA device here to check it against."
        index = torch.cuda.current_device() if index is None else index
        memory = torch.cuda.mem_get_info(index)
    free, _total = memory
    name = f"cuda:{0 if index is None else index}"
    if estimate.total * 1.2 < free:
        return True, f"{needs}; {name} has {format_bytes(free)} free."
    return False, (f"{needs}; {name} has only {format_bytes(free)} free: lower the batch size "
                   "or use a smaller model.")
