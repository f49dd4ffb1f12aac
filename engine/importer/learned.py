"""A model's own learned tensors (``nn.Parameter`` attributes such as ViT's class token and
position embedding) as Parameter blocks, so ``x + self.pos_embed`` is an Add of two wires.

Only a tensor shaped ``[1, ...]`` qualifies (one copy broadcast over the batch, which is
what a Parameter block gives, repeated per sample), read only by operations that treat the
repeated copy as the broadcast one: an add, a product, a difference, or an ``expand`` to
the batch. Anything else reads it as the constant it is, inside a Code node.
"""

from __future__ import annotations

import operator
from dataclasses import replace

import torch
from torch import fx, nn

from .mapping import Mapped
from .values import Value

_FUNCTIONS = (operator.add, operator.iadd, torch.add, operator.mul, operator.imul, torch.mul,
              operator.sub, torch.sub)
_METHODS = ("add", "mul", "sub", "expand", "expand_as")


def _reads_broadcast(user: fx.Node, kinds: dict[fx.Node, str]) -> bool:
    if kinds.get(user) != "value":
        return False  # (a class token is concatenated after its expand, never before)
    return (user.op == "call_function" and user.target in _FUNCTIONS
            or user.op == "call_method" and user.target in _METHODS)


def learned_parameters(gm: fx.GraphModule, values: dict[fx.Node, Value],
                       kinds: dict[fx.Node, str]) -> dict[fx.Node, Mapped]:
    """The ``get_attr`` nodes that become Parameter blocks, by node. `values` and `kinds`
    are updated in place: each becomes a batch-first wire."""
    inputs = [n for n in gm.graph.nodes if n.op == "placeholder"
              and values.get(n) is not None and values[n].batched]
    if not inputs:
        return {}
    batch = values[inputs[0]].shape[0]
    out: dict[fx.Node, Mapped] = {}
    for node in gm.graph.nodes:
        if node.op != "get_attr" or not node.users:
            continue
        tensor = _attribute(gm, str(node.target))
        if (not isinstance(tensor, nn.Parameter) or tensor.dtype != torch.float32
                or tensor.dim() < 2 or tensor.shape[0] != 1
                or not all(_reads_broadcast(u, kinds) for u in node.users)):
            continue
        shape = list(tensor.shape[1:])
        out[node] = Mapped("Parameter", {"shape": shape, "init": "normal"}, [inputs[0]],
                           tensors={"weight": str(node.target)})
        values[node] = replace(values.get(node) or Value(True), is_tensor=True,
                               shape=(batch, *shape), dtype=torch.float32, batched=True)
        kinds[node] = "value"
    return out


def _attribute(root: nn.Module, target: str) -> object:
    value: object = root
    for part in target.split("."):
        value = getattr(value, part, None)
    return value
