"""Activations of any node and attention weights per head, captured with forward hooks.

A capture puts the model in eval mode, runs one forward pass under `torch.no_grad()` with a
hook on each requested node's module, then removes every hook and restores the mode it
found: nothing stays on the training path. Attention modules train without returning their
weights (so torch keeps its fused kernels); only here, on the probe batch, are the weights
computed again from the module's own projections by asking torch's attention for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn

from ..errors import ProbeError
from ..layers import AttentionMasks
from ..train.inputs import call


@dataclass
class NodeProbe:
    """What one node produced on the probe samples (on the CPU).

    `activation` is the node's output [K, ...]; `attention` is [K, heads, L, S] for
    attention nodes (each row sums to 1; NaN where the query may not look: a causal
    layer's later positions, padding), else None.
    """

    node_id: str
    activation: torch.Tensor
    attention: torch.Tensor | None = None


@dataclass
class ProbeResult:
    """One capture: the per-node results, the model's output, and when it was taken."""

    nodes: dict[str, NodeProbe]
    output: torch.Tensor
    step: int | None = None
    epoch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


ATTENTION_MODULES = (nn.MultiheadAttention, nn.TransformerEncoderLayer)


def attention_nodes(model: nn.Module, names: dict[str, str]) -> list[str]:
    """The node ids whose module has attention weights to show."""
    return [node for node, name in names.items()
            if isinstance(_submodule(model, name), ATTENTION_MODULES)]


def attention_layers(model: nn.Module, names: dict[str, str]) -> dict[str, str]:
    """Every attention layer of the model, also those inside units: a label -> its module
    path, for `capture` (whose `names` may hold such paths). A node that is an attention
    block keeps its id; a layer inside a unit reads ``decoder 2/4 · layer`` (the unit node,
    which copy of how many, the node inside), so a GPT drawn as a repeated decoder unit
    shows each of its layers. An attention inside another one (a layer's ``self_attn``) is
    that layer's, not a second entry."""
    out: dict[str, str] = {}
    for node, name in names.items():
        module = _submodule(model, name)
        if module is None:
            continue
        if isinstance(module, ATTENTION_MODULES):
            out[node] = name
            continue
        taken: list[str] = []
        for path, inner in module.named_modules():
            if not path or not isinstance(inner, ATTENTION_MODULES) or \
                    any(path.startswith(t + ".") for t in taken):
                continue
            taken.append(path)
            out[_inner_label(node, module, path)] = f"{name}.{path}"
    return out


def _inner_label(node: str, module: nn.Module, path: str) -> str:
    parts = path.split(".")
    if len(parts) >= 2 and parts[0].isdigit() and isinstance(module, nn.Sequential):
        return f"{node} {int(parts[0]) + 1}/{len(module)} · {'.'.join(parts[1:])}"
    return f"{node} · {path}"


def _submodule(model: nn.Module, name: str) -> nn.Module | None:
    try:
        module = model.get_submodule(name)
    except AttributeError:
        return None
    return module if isinstance(module, nn.Module) else None


def _attention_weights(module: nn.Module, args: tuple[torch.Tensor, ...]) -> torch.Tensor | None:
    """Per-head weights [N, heads, L, S] for the inputs a module was just called with.

    Where the query may not look (a causal layer's later positions, padding) the weight is
    NaN, not 0: a view shows it as masked instead of as something the model learned.
    """
    causal = bool(getattr(module, "causal", False))
    if isinstance(module, nn.MultiheadAttention):
        seqs, tokens = AttentionMasks.split_token_ids(args)
        query = seqs[0]
        key = seqs[1] if len(seqs) > 1 else query
        value = seqs[2] if len(seqs) > 2 else key
        mask = AttentionMasks.hidden(query.shape[1], key.shape[1], query.device, causal, tokens)
        attend = module
    elif isinstance(module, nn.TransformerEncoderLayer):
        x = args[0]
        tokens = args[1] if len(args) > 1 else None
        mask = AttentionMasks.hidden(x.shape[1], x.shape[1], x.device, causal, tokens)
        query = key = value = module.norm1(x) if module.norm_first else x
        attend = module.self_attn
    else:
        return None
    _, weights = nn.MultiheadAttention.forward(
        attend, query, key, value, need_weights=True, average_attn_weights=False,
        attn_mask=AttentionMasks.for_torch(mask, attend.num_heads))
    if mask is None:
        return weights
    hidden = mask if mask.dim() == 3 else mask[None]
    return weights.masked_fill(hidden[:, None], float("nan"))


def capture(model: nn.Module, x: torch.Tensor | tuple[torch.Tensor, ...], names: dict[str, str],
            nodes: Iterable[str] | None = None, attention: bool = True,
            max_bytes: int = 256 * 2**20) -> ProbeResult:
    """Run `model` once on `x` (already normalised, on the model's device) and keep what
    the requested nodes produced.

    Args:
        model: the compiled graph (a GraphModule whose submodules are named by `names`).
        x: the probe batch (a tuple for a model with several Inputs).
        names: node id -> module name (`compile.module_names`), or a dotted path to a
            module inside one (`attention_layers`).
        nodes: which node ids to keep (default all with a module).
        attention: also compute per-head weights for attention nodes.
        max_bytes: a node whose activation would pass this is skipped, so a probe of a huge
            model cannot exhaust memory; it is listed in ``result.extra["skipped"]``.

    Raises:
        ProbeError: a requested node has no module in `model`.
    """
    if nodes is None:  # every node with a layer; Inputs and unwired blocks have none
        nodes = [n for n, name in names.items() if _submodule(model, name) is not None]
    modules: dict[str, nn.Module] = {}
    for node_id in nodes:
        name = names.get(node_id)
        if name is None:
            raise ProbeError("there is no such node", node=node_id)
        module = _submodule(model, name)
        if module is None:
            raise ProbeError("has no layer to probe (an Input, or a block not wired to the "
                             "output)", node=node_id)
        modules[node_id] = module
    found: dict[str, NodeProbe] = {}
    skipped: list[str] = []

    def hook_for(node_id: str):  # type: ignore[no-untyped-def]
        def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            if not isinstance(out, torch.Tensor):
                return
            if out.numel() * out.element_size() > max_bytes:
                skipped.append(node_id)
                return
            weights = _attention_weights(module, args) if attention else None
            found[node_id] = NodeProbe(
                node_id, out.detach().float().contiguous().cpu(),
                None if weights is None else weights.detach().float().cpu())
        return hook

    was_training = model.training
    handles = [module.register_forward_hook(hook_for(node_id))
               for node_id, module in modules.items()]
    try:
        model.eval()
        with torch.no_grad():
            output = model(*x) if isinstance(x, tuple) else call(model, x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    out = output if isinstance(output, torch.Tensor) else output[0]
    return ProbeResult(found, out.detach().float().cpu(), extra={"skipped": skipped})
