"""Numbers about the inside of a model: weight and gradient histograms per node, dead ReLU
units, activation summaries and the most active units of one sample.

These answer the questions a person asks when training goes wrong: are the weights
exploding, do the gradients vanish before they reach the first layers, has half of this
ReLU died? Everything is read without side effects: no ``.grad`` is left on a parameter,
no hook on a module, and the train/eval mode is the one found.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProbeError
from ..train.inputs import call, count
from .saliency import gradient_pass

if TYPE_CHECKING:
    from ..graph import Graph

from .tensor_stats import BINS, TensorStats, tensor_stats  # noqa: F401 - re-exported


def _modules(model: nn.Module, names: dict[str, str]) -> dict[str, nn.Module]:
    """node id -> module, for the nodes that have one in `model`, in the model's order (the
    compiler adds layers in graph order, so lists read from input to output)."""
    node_of = {name: node_id for node_id, name in names.items()}
    return {node_of[name]: module for name, module in model.named_children() if name in node_of}


def weight_stats(model: nn.Module, names: dict[str, str]) -> dict[str, list[TensorStats]]:
    """One `TensorStats` per parameter tensor ("weight", "bias", "in_proj_weight", ...) of
    every node that has parameters; nodes without any are left out."""
    out: dict[str, list[TensorStats]] = {}
    for node_id, module in _modules(model, names).items():
        stats = [tensor_stats(p, name) for name, p in module.named_parameters()]
        if stats:
            out[node_id] = stats
    return out


def _loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """The classify and regress tasks' losses, by name (a second copy of theirs: this probe
    API predates tasks and no view calls it yet; it should ask the task for its loss)."""
    if loss == "mse":
        return F.mse_loss(out.float(), y.float().reshape(len(y), -1))
    if loss == "cross_entropy":
        return F.cross_entropy(out.float(), y.long())
    raise ProbeError(f"unknown loss {loss!r}: use 'cross_entropy' or 'mse'")


def gradient_stats(model: nn.Module, names: dict[str, str], x: torch.Tensor, y: torch.Tensor,
                   loss: str = "cross_entropy") -> dict[str, list[TensorStats]]:
    """Gradients of the loss on one batch, per node and parameter tensor.

    `x` is what the model takes (normalised); it and `y` are moved to the model's device.
    The pass runs in eval mode, so dropout draws no random numbers and batch norm's running
    statistics are not updated: looking must not change the model. Gradients come from
    `torch.autograd.grad`, so no ``.grad`` is written (any already there stays as it was).
    Frozen parameters are left out; a parameter the loss does not reach gets zeros.
    """
    modules = _modules(model, names)
    owned = [(node_id, name, p) for node_id, module in modules.items()
             for name, p in module.named_parameters() if p.requires_grad]
    if not owned:
        return {}
    device = owned[0][2].device
    with gradient_pass(model):
        out = call(model, x.to(device))
        out = out[0] if isinstance(out, tuple) else out
        value = _loss(out, y.to(device), loss)
        grads = torch.autograd.grad(value, [p for _, _, p in owned], allow_unused=True)
    result: dict[str, list[TensorStats]] = {}
    for (node_id, name, p), grad in zip(owned, grads):
        grad = torch.zeros_like(p) if grad is None else grad
        result.setdefault(node_id, []).append(tensor_stats(grad, name))
    return result


def relu_nodes(model: nn.Module, names: dict[str, str], graph: "Graph | None" = None) -> list[str]:
    """Nodes whose layer is a ReLU (an ``nn.ReLU`` module, or a node of type "ReLU")."""
    out = []
    for node_id, module in _modules(model, names).items():
        typed = graph is not None and node_id in graph and graph.node(node_id).type == "ReLU"
        if isinstance(module, nn.ReLU) or typed:
            out.append(node_id)
    return out


def dead_relu_fraction(model: nn.Module, names: dict[str, str], graph: "Graph | None",
                       x: torch.Tensor, batch_size: int = 256) -> dict[str, float]:
    """For each ReLU node, the fraction of its units that are zero for *every* sample in `x`.

    A unit is one position of the output without the batch (a feature, or one channel at
    one pixel). A dead unit passes no gradient, so it can never learn to come back; a high
    fraction after training means a learning rate that was too high or a bad start.
    `x` is what the model takes (normalised); it is run in chunks of `batch_size`.
    """
    modules = _modules(model, names)
    relus = relu_nodes(model, names, graph)
    alive: dict[str, torch.Tensor] = {}

    def hook_for(node_id: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            fired = (out.detach() > 0).reshape(out.shape[0], -1).any(dim=0)
            alive[node_id] = fired if node_id not in alive else alive[node_id] | fired
        return hook

    device = next((p.device for p in model.parameters()),
                  x.device if isinstance(x, torch.Tensor) else torch.device("cpu"))
    handles = [modules[node_id].register_forward_hook(hook_for(node_id)) for node_id in relus]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            for start in range(0, count(x), batch_size):
                call(model, x[start:start + batch_size].to(device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {node_id: 1.0 - float(alive[node_id].double().mean())
            for node_id in relus if node_id in alive and alive[node_id].numel()}


def activation_stats(activation: torch.Tensor, name: str = "activation") -> TensorStats:
    """Summary and histogram of a captured activation (all samples together)."""
    return tensor_stats(activation, name)


def top_units(activation: torch.Tensor, sample: int, k: int = 10) -> list[tuple[int, float]]:
    """The `k` most active units of one sample, largest first, as (unit index, value).

    A unit is a feature of a dense output [K, F], a channel of a feature map [K, C, H, W]
    (its mean over the map) and an embedding dimension of a sequence [K, L, E] (its mean
    over the positions); other outputs count every value as a unit.

    Raises:
        ProbeError: `sample` is not one of the K samples.
    """
    if activation.dim() == 0 or not 0 <= sample < activation.shape[0]:
        count = activation.shape[0] if activation.dim() else 0
        raise ProbeError(f"sample {sample} is not among the {count} probed")
    row = activation[sample].detach().float().cpu()
    if row.dim() == 3:
        units = row.mean(dim=(1, 2))
    elif row.dim() == 2:
        units = row.mean(dim=0)
    else:
        units = row.reshape(-1)
    units = torch.where(torch.isnan(units), torch.full_like(units, -math.inf), units)
    order = torch.sort(units, descending=True, stable=True).indices[:max(k, 0)]
    return [(int(i), float(units[i])) for i in order]
