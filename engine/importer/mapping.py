"""Which catalogue block a traced ``call_module`` becomes, with its parameters read off the
module.

The block is found by the module's class and its parameters are read by the block's own
declaration (`catalogue`), so a new block needs no edit here. Only settings a block can
express are accepted: a module that uses one the block lacks (``padding_mode="reflect"``,
an LSTM that is not batch-first) raises `Unmapped` with the reason, and the importer keeps
it as a Code node instead of silently dropping the setting. Sizes that follow from the
input (``in_channels``...) are not parameters and are not read. What this file adds is the
wiring of the few blocks whose calls are more than one tensor in, one out: recurrent layers
and attention return tuples, attention has three ports, and masks have no block setting.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import fx, nn

from ..blocks import get_block
from ..blocks.base import SampleShape, collapse
from ..params import validate_params
from .catalogue import Found, Unmapped, check_unheld, find_block, read_settings
from .values import Value


@dataclass
class Mapped:
    """A block standing for one traced node (and the nodes whose values it produces)."""

    type: str
    params: dict[str, Any]
    inputs: list[fx.Node]
    #: The input port of each entry of `inputs` (None: the block's only or variadic port).
    ports: list[str | None] = field(default_factory=list)
    #: The ``call_module`` target whose tensors carry over (None for a function).
    module: str | None = None
    #: The fx nodes whose value this block gives; empty means the node itself.
    outputs: list[fx.Node] = field(default_factory=list)
    #: The output port each of `outputs` is read from (a Split's ``out1``); empty: the
    #: block's one output.
    output_ports: list[str] = field(default_factory=list)
    #: The block's tensors by its own name, from the source module's tensor of that key
    #: (a Parameter block's ``weight`` is the model's ``cls_token``), for a function call.
    tensors: dict[str, str] = field(default_factory=dict)
    #: Nodes only this block read and that it makes unnecessary (an ``expand_as`` before a
    #: broadcasting Multiply): they leave the graph with no node of their own.
    through: list[fx.Node] = field(default_factory=list)
    note: str | None = None


@dataclass
class Alias:
    """A node that passes its input through unchanged (``nn.Identity``, ``.contiguous()``)."""

    source: fx.Node


class Context:
    """What a mapper may look at: the traced module and each node's recorded value."""

    def __init__(self, gm: fx.GraphModule, values: dict[fx.Node, Value]) -> None:
        self.gm = gm
        self.values = values

    def value(self, node: Any) -> Value | None:
        return self.values.get(node) if isinstance(node, fx.Node) else None

    def is_tensor(self, node: Any) -> bool:
        """A tensor the graph can wire: not a constant attribute, not a size."""
        value = self.value(node)
        return value is not None and value.is_tensor and (node.op != "get_attr"
                                                          or value.batched)

    def tensor(self, node: Any, what: str = "input") -> fx.Node:
        if not self.is_tensor(node):
            raise Unmapped(f"its {what} is not a batch-first tensor computed from the "
                           "model's inputs")
        return node


def window(kernel: Any, stride: Any) -> tuple[Any, Any]:
    """Pooling sizes as a project writes them: a stride equal to the window is empty."""
    kernel, stride = collapse(kernel), collapse(stride)
    return kernel, (None if stride in (None, [], kernel) else stride)


def _need(ok: bool, reason: str) -> None:
    if not ok:
        raise Unmapped(reason)


def _float32(module: nn.Module) -> None:
    for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
        if tensor.is_floating_point() and tensor.dtype != torch.float32:
            raise Unmapped(f"its {name} is {str(tensor.dtype).removeprefix('torch.')}; blocks "
                           "are float32")


def _one_input(node: fx.Node, ctx: Context) -> list[fx.Node]:
    _need(len(node.args) == 1 and not node.kwargs, "it is called with more than one argument")
    return [ctx.tensor(node.args[0])]


def _first_outputs(node: fx.Node) -> list[fx.Node]:
    """The ``out[0]`` users of a module that returns a tuple; all users must be those."""
    users = list(node.users)
    _need(bool(users) and all(u.op == "call_function" and u.target is operator.getitem
                              and u.args[1] == 0 for u in users),
          "more than its first output is used (e.g. the final hidden state)")
    return users


def _shapes(inputs: list[fx.Node], ctx: Context) -> list[SampleShape]:
    """The per-sample shapes of the inputs, as a block's `inferred` takes them."""
    shapes = []
    for node in inputs:
        value = ctx.value(node)
        shapes.append(tuple(value.shape[1:]) if value is not None else ())
    return shapes


# ---- wiring: which traced values go into which port ------------------------------------


def _plain(found: Found, params: dict[str, Any], node: fx.Node, ctx: Context) -> Mapped:
    """Tensors in as the block's ports say, one tensor out: every block without a hook."""
    block = found.block
    ports: list[str | None] = []
    if len(block.inputs) == 1 and block.inputs[0].variadic:
        _need(not node.kwargs and len(node.args) >= 2, "it is not given two or more tensors")
        inputs = [ctx.tensor(a) for a in node.args]
    elif len(block.inputs) == 1:
        inputs = _one_input(node, ctx)
    else:  # several ports, filled in order; an optional one may be left out
        _need(not node.kwargs and len(node.args) <= len(block.inputs),
              "it is called with more arguments than the block has inputs")
        inputs = [ctx.tensor(a, p.name) for a, p in zip(node.args, block.inputs)]
        left = [p.name for p in block.inputs[len(inputs):] if not p.optional]
        _need(not left, f"it is called without its {', '.join(left)}")
        ports = [p.name for p in block.inputs[:len(inputs)]]
    return Mapped(block.type_name, params, inputs, ports)


def _recurrent(found: Found, params: dict[str, Any], node: fx.Node, ctx: Context) -> Mapped:
    _need(len(node.args) == 1 and not node.kwargs, "it is given an initial hidden state")
    inputs = [ctx.tensor(node.args[0])]
    note = None
    if params.get("dropout") and params.get("num_layers") == 1:
        # torch ignores it (with a warning); so does the block
        note = f"{node.target}: dropout={params['dropout']} does nothing with one layer"
        params["dropout"] = 0.0
    outputs = _first_outputs(node) if found.wrapped else []
    return Mapped(found.block.type_name, params, inputs, outputs=outputs, note=note)


_ATTN_OPTIONS = ("attn_mask", "key_padding_mask")


def _attention(found: Found, params: dict[str, Any], node: fx.Node, ctx: Context) -> Mapped:
    names = ("query", "key", "value")
    given = dict(zip(names, node.args))
    for key, value in node.kwargs.items():
        if key in names:
            given[key] = value
        elif key in _ATTN_OPTIONS or key == "is_causal":
            _need(value in (None, False), f"it is called with {key}")
        elif key not in ("need_weights", "average_attn_weights"):
            raise Unmapped(f"it is called with {key}")
    _need(len(node.args) <= 3, "it is called with a mask")
    query = ctx.tensor(given.get("query"), "query")
    key = given.get("key", query)
    value = given.get("value", key)
    inputs: list[fx.Node] = [query]
    ports: list[str | None] = ["query"]
    if key is not query or value is not query:
        inputs.append(ctx.tensor(key, "key"))
        ports.append("key")
        if value is not key:
            inputs.append(ctx.tensor(value, "value"))
            ports.append("value")
    outputs = _first_outputs(node) if found.wrapped else []
    return Mapped(found.block.type_name, params, inputs, ports, outputs=outputs)


def _encoder_layer(found: Found, params: dict[str, Any], node: fx.Node, ctx: Context
                   ) -> Mapped:
    for key, value in node.kwargs.items():
        _need(value in (None, False), f"it is called with {key}")
    if found.wrapped:  # torch's own layer: a second tensor is a mask, no block setting
        _need(len(node.args) == 1, "it is called with a mask")
    return _plain(found, params, node, ctx)  # Torchloom's: the token ids go to its port


def _pieces(found: Found, params: dict[str, Any], node: fx.Node, ctx: Context) -> Mapped:
    """A Split or Chunk module: each ``out[i]`` after it reads one output port."""
    from .tensor_ops import pieces  # tensor_ops builds on this module

    return pieces(node, ctx, found.block.type_name, params, _one_input(node, ctx)[0])


#: Wires one call of a block's module, given the parameters read off it.
Hook = Callable[[Found, dict[str, Any], fx.Node, Context], Mapped]

#: The blocks whose calls `_plain` cannot wire, by type name.
HOOKS: dict[str, Hook] = {
    "LSTM": _recurrent, "GRU": _recurrent, "RNN": _recurrent,
    "MultiheadAttention": _attention, "TransformerEncoderLayer": _encoder_layer,
    "Split": _pieces, "Chunk": _pieces,
}


def is_mapped_module(m: nn.Module) -> bool:
    """Whether tracing should keep `m` whole (a leaf) because a block stands for it."""
    return type(m) is nn.Identity or find_block(m) is not None


def map_module(node: fx.Node, ctx: Context) -> Mapped | Alias:
    module = ctx.gm.get_submodule(str(node.target))
    if type(module) is nn.Identity:
        return Alias(ctx.tensor(node.args[0]))
    found = find_block(module)
    if found is None:
        raise Unmapped(f"no block for {type(module).__name__}")
    # the module's own settings first: they are what the person can change
    params = read_settings(found.block, module)
    mapped = HOOKS.get(found.block.type_name, _plain)(found, params, node, ctx)
    check_unheld(found.block, module, _shapes(mapped.inputs, ctx))
    _float32(module)
    mapped.module = str(node.target)
    return mapped


def check_mapped(mapped: Mapped, node: fx.Node, ctx: Context) -> None:
    """The block must accept the parameters and the inputs (rank and dtype) it will get."""
    block = get_block(mapped.type)
    assert block is not None, mapped.type
    _, problems = validate_params(block.params, mapped.params)
    _need(not problems, problems[0][1] if problems else "")
    ports = mapped.ports or [None] * len(mapped.inputs)
    for source, port_name in zip(mapped.inputs, ports):
        port = block.port(port_name) if port_name else block.inputs[0]
        value = ctx.value(source)
        assert port is not None and value is not None
        if port.ranks is not None:
            _need(value.rank in port.ranks,
                  f"its input {list(value.shape)} does not fit {mapped.type} "
                  f"({port.layout or 'other ranks'})")
        if port.dtype == "int":
            _need(value.dtype == torch.int64, "its input is not int64 token ids")
        elif port.dtype == "float":
            _need(value.dtype == torch.float32, f"its input is {value.dtype}, not float32")
    for out in mapped.outputs or [node]:
        value = ctx.value(out)
        _need(value is not None and value.is_tensor and value.batched,
              "it does not return one tensor with the batch first")


__all__ = ["Alias", "Context", "Mapped", "Unmapped", "check_mapped", "collapse",
           "is_mapped_module", "map_module", "window"]
