"""Which catalogue block a traced ``call_module`` becomes, with its parameters read off the
module.

The block is found by the module's class and its parameters are read by the block's own
declaration (`catalogue`), so a new block needs no edit here. Only settings a block can
express are accepted: a module that uses one the block lacks (``padding_mode="reflect"``,
an LSTM that is not batch-first) raises `Unmapped` with the reason, and the importer keeps
it as a Code node instead of silently dropping the setting. Sizes that follow from the
input (``in_channels``...) are not parameters and are not read. What this file adds is the
wiring of the few blocks whose calls are more than one tensor in, one out: recurrent layers
and attention return tuples, attention has three ports, and masks have no block setting; a
block with several output ports (Split, Chunk, a recurrent block's "both") has each read
of its tuple wired from the port it names (`port_outputs`).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import fx, nn

from ..blocks import TensorSpec, get_block, is_single
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
    #: The block's tensors by its own name, from the source module's tensor of that key
    #: (a Parameter block's ``weight`` is the model's ``cls_token``), for a function call.
    tensors: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    #: A block with several outputs: the fx nodes that read one of them (``pieces[1]``),
    #: each with its output port; a wire from one names that port.
    port_outputs: dict[fx.Node, str] = field(default_factory=dict)
    #: Nodes between the call and those (an LSTM's ``(h, c)`` tuple), absorbed unwired;
    #: or nodes only this block read and made unnecessary (an ``expand_as`` before a
    #: broadcasting Multiply).
    consumed: list[fx.Node] = field(default_factory=list)

    @property
    def given(self) -> list[fx.Node]:
        """Every fx node whose value one of the block's outputs is."""
        return [*self.outputs, *self.port_outputs]


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
    if not found.wrapped:  # Torchloom's layer returns what its `output` says
        return Mapped(found.block.type_name, params, inputs, note=note)
    sequence, hidden, consumed = _recurrent_reads(node, params,
                                                  found.block.type_name == "LSTM")
    _need(bool(sequence or hidden), "none of its outputs is used")
    mapped = Mapped(found.block.type_name, params, inputs, note=note, consumed=consumed)
    if sequence and hidden:
        params["output"] = "both"
        mapped.port_outputs = {**dict.fromkeys(sequence, "sequence"),
                               **dict.fromkeys(hidden, "hidden")}
    elif hidden:
        params["output"] = "hidden"
        mapped.outputs = hidden
    else:
        mapped.outputs = sequence
    return mapped


def _getitems(node: fx.Node) -> dict[fx.Node, Any]:
    """``node[i]`` reads of a tuple or tensor, by index; any other use is not wired."""
    reads = {}
    for user in node.users:
        _need(user.op == "call_function" and user.target is operator.getitem
              and isinstance(user.args[1], int),
              "its output is used in a way no block setting expresses")
        reads[user] = user.args[1]
    return reads


def _recurrent_reads(node: fx.Node, params: dict[str, Any], lstm: bool
                     ) -> tuple[list[fx.Node], list[fx.Node], list[fx.Node]]:
    """Which reads of torch's ``(output, h_n)`` (an LSTM's ``(output, (h_n, c_n))``) are
    the sequence and which the final hidden state as the block gives it (``h_n[-1]``, the
    last layer), and the tuples between; `Unmapped` for any other read (the cell state, one
    direction of a bidirectional layer, an earlier layer's state)."""
    sequence: list[fx.Node] = []
    hidden: list[fx.Node] = []
    consumed: list[fx.Node] = []
    last = params.get("num_layers", 1) - 1
    for read, index in _getitems(node).items():
        if index == 0:
            sequence.append(read)
            continue
        _need(index in (1, -1), "more than its output and final state is read")
        consumed.append(read)
        states = _getitems(read) if lstm else {read: 0}  # an LSTM's state is (h_n, c_n)
        for state, which in states.items():
            if state is not read:
                consumed.append(state)
            if not state.users:
                continue  # ``out, (h, c) = ...`` unpacks c even where it is not used
            _need(which in (0, -2), "its cell state is used, which the block does not give")
            _need(not params.get("bidirectional"), "its final state is read one direction "
                  "at a time, while the block gives both directions side by side")
            hidden += _last_layer_reads(state, last)
    return sequence, hidden, consumed


def _last_layer_reads(state: fx.Node, last: int) -> list[fx.Node]:
    """The reads of ``h_n`` ([layers, N, H]) that take the last layer: ``h_n[-1]``, or
    ``h_n.squeeze(0)`` of a single layer."""
    reads = []
    for user in state.users:
        if (last == 0 and user.op == "call_method" and user.target == "squeeze"
                and tuple(user.args[1:]) in ((0,), ()) and not user.kwargs):
            reads.append(user)
            continue
        _need(user.op == "call_function" and user.target is operator.getitem
              and user.args[1] in (-1, last), "an earlier layer's final state is read, or "
              "the final state is used in a way no block setting expresses")
        reads.append(user)
    return reads


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


#: Wires one call of a block's module, given the parameters read off it.
Hook = Callable[[Found, dict[str, Any], fx.Node, Context], Mapped]

#: The blocks whose calls `_plain` cannot wire, by type name.
HOOKS: dict[str, Hook] = {
    "LSTM": _recurrent, "GRU": _recurrent, "RNN": _recurrent,
    "MultiheadAttention": _attention, "TransformerEncoderLayer": _encoder_layer,
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
    if not mapped.given:
        _port_reads(mapped, node, ctx)
    check_unheld(found.block, module, _shapes(mapped.inputs, ctx))
    _float32(module)
    mapped.module = str(node.target)
    return mapped


def _port_reads(mapped: Mapped, node: fx.Node, ctx: Context) -> None:
    """A block with several outputs for these settings (a Split's pieces): each
    ``pieces[i]`` read is wired from port i. Every use must be such a read."""
    block = get_block(mapped.type)
    assert block is not None, mapped.type
    params, problems = validate_params(block.params, mapped.params)
    if problems:
        return  # `check_mapped` words it
    specs = []
    for source in mapped.inputs:
        value = ctx.value(source)
        assert value is not None and value.dtype is not None
        specs.append(TensorSpec(value.shape[1:], str(value.dtype).removeprefix("torch.")))
    ports = block.output_ports(params, specs)
    if is_single(ports):
        return
    for read, index in _getitems(node).items():
        _need(-len(ports) <= index < len(ports), f"it reads piece {index} of {len(ports)}")
        mapped.port_outputs[read] = ports[index].name


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
    for out in mapped.given or [node]:
        value = ctx.value(out)
        _need(value is not None and value.is_tensor and value.batched,
              "it does not return one tensor with the batch first")


__all__ = ["Alias", "Context", "Mapped", "Unmapped", "check_mapped", "collapse",
           "is_mapped_module", "map_module", "window"]
