"""Which catalogue block a traced ``call_module`` becomes, with its parameters read off the
module.

Only settings a block can express are accepted: a module that uses one the block lacks
(``padding_mode="reflect"``, an LSTM that is not batch-first) raises `Unmapped` with the
reason, and the importer keeps it as a Code node instead of silently dropping the setting.
Sizes that follow from the input (``in_channels``...) are not parameters and are not read.
Torchloom's own layer classes (as a python export carries them) are recognised by name.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import fx, nn

from ..blocks import get_block
from ..params import validate_params
from .values import Value


class Unmapped(Exception):
    """This node has no block; the message says why, for the import report."""


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
        return value is not None and value.is_tensor and node.op != "get_attr"

    def tensor(self, node: Any, what: str = "input") -> fx.Node:
        if not self.is_tensor(node):
            raise Unmapped(f"its {what} is not a batch-first tensor computed from the "
                           "model's inputs")
        return node


def collapse(value: Any) -> Any:
    """(3, 3) -> 3, as a project writes it; unequal sizes stay a list."""
    if isinstance(value, (tuple, list)):
        items = [int(v) for v in value]
        return items[0] if len(set(items)) == 1 else items
    return value


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


# ---- per module type -------------------------------------------------------------------


def _conv(m: nn.Module, node: fx.Node, ctx: Context) -> Mapped:
    _need(m.padding_mode == "zeros", f"padding_mode={m.padding_mode!r} has no block setting")
    padding = m.padding if isinstance(m.padding, str) else collapse(m.padding)
    params = {"out_channels": m.out_channels, "kernel_size": collapse(m.kernel_size),
              "stride": collapse(m.stride), "padding": padding,
              "dilation": collapse(m.dilation), "groups": m.groups, "bias": m.bias is not None}
    return Mapped(type(m).__name__, params, _one_input(node, ctx))


def _linear(m: nn.Linear, node: fx.Node, ctx: Context) -> Mapped:
    return Mapped("Linear", {"out_features": m.out_features, "bias": m.bias is not None},
                  _one_input(node, ctx))


def _batchnorm(m: nn.Module, node: fx.Node, ctx: Context) -> Mapped:
    _need(m.momentum is not None, "momentum=None (a cumulative average) has no block setting")
    params = {"eps": m.eps, "momentum": m.momentum, "affine": m.affine,
              "track_running_stats": m.track_running_stats}
    return Mapped(type(m).__name__, params, _one_input(node, ctx))


def _layernorm(m: nn.LayerNorm, node: fx.Node, ctx: Context) -> Mapped:
    _need(len(m.normalized_shape) == 1, "it normalises over more than the last dimension")
    params = {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
              "bias": m.bias is not None if m.elementwise_affine else True}
    return Mapped("LayerNorm", params, _one_input(node, ctx))


def _plain(type_name: str, read: Callable[[Any], dict[str, Any]] | None = None
           ) -> Callable[[nn.Module, fx.Node, Context], Mapped]:
    def mapper(m: nn.Module, node: fx.Node, ctx: Context) -> Mapped:
        return Mapped(type_name, read(m) if read else {}, _one_input(node, ctx))

    return mapper


def _softmax(m: nn.Softmax) -> dict[str, Any]:
    _need(m.dim is not None, "Softmax without dim has no block setting")
    return {"dim": m.dim}


def _flatten(m: nn.Flatten) -> dict[str, Any]:
    _need(m.start_dim >= 1, "it flattens the batch dimension")
    return {"start_dim": m.start_dim, "end_dim": m.end_dim}


def _unflatten(m: nn.Unflatten) -> dict[str, Any]:
    _need(isinstance(m.dim, int) and m.dim >= 1, "it unflattens the batch dimension")
    return {"dim": m.dim, "unflattened_size": [int(s) for s in m.unflattened_size]}


def _upsample(m: nn.Upsample) -> dict[str, Any]:
    _need(not m.align_corners and not getattr(m, "recompute_scale_factor", None),
          "align_corners / recompute_scale_factor have no block setting")
    factor = m.scale_factor
    if isinstance(factor, tuple):
        _need(len(set(factor)) == 1, "a scale_factor per dimension has no block setting")
        factor = factor[0]
    size = m.size
    if size is not None:
        size = collapse(size)
    return {"size": size, "scale_factor": None if factor is None else float(factor),
            "mode": m.mode}


def window(kernel: Any, stride: Any) -> tuple[Any, Any]:
    """Pooling sizes as a project writes them: a stride equal to the window is empty."""
    kernel, stride = collapse(kernel), collapse(stride)
    return kernel, (None if stride in (None, [], kernel) else stride)


def _maxpool(m: nn.Module) -> dict[str, Any]:
    _need(not m.return_indices, "return_indices=True has no block setting")
    kernel, stride = window(m.kernel_size, m.stride)
    return {"kernel_size": kernel, "stride": stride, "padding": collapse(m.padding),
            "dilation": collapse(m.dilation), "ceil_mode": m.ceil_mode}


def _avgpool(m: nn.AvgPool2d) -> dict[str, Any]:
    _need(m.divisor_override is None, "divisor_override has no block setting")
    kernel, stride = window(m.kernel_size, m.stride)
    return {"kernel_size": kernel, "stride": stride, "padding": collapse(m.padding),
            "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}


def _adaptive(m: nn.AdaptiveAvgPool2d) -> dict[str, Any]:
    size = m.output_size
    _need(size is not None and None not in (size if isinstance(size, tuple) else (size,)),
          "an output_size with None has no block setting")
    return {"output_size": collapse(size)}


def _embedding(m: nn.Embedding) -> dict[str, Any]:
    _need(m.max_norm is None and not m.scale_grad_by_freq and not m.sparse,
          "max_norm, scale_grad_by_freq and sparse have no block settings")
    return {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
            "padding_idx": m.padding_idx}


def _recurrent(m: nn.RNNBase, node: fx.Node, ctx: Context) -> Mapped:
    kind = "LSTM" if isinstance(m, nn.LSTM) else "GRU" if isinstance(m, nn.GRU) else "RNN"
    _need(m.batch_first, "it is not batch_first (the block reads [N, L, features])")
    _need(getattr(m, "proj_size", 0) == 0, "proj_size has no block setting")
    _need(len(node.args) == 1 and not node.kwargs, "it is given an initial hidden state")
    note = None
    dropout = m.dropout
    if dropout and m.num_layers == 1:  # torch ignores it (with a warning); so does the block
        dropout, note = 0.0, f"{node.target}: dropout={m.dropout} does nothing with one layer"
    params = {"hidden_size": m.hidden_size, "num_layers": m.num_layers, "bias": m.bias,
              "dropout": float(dropout), "bidirectional": m.bidirectional}
    if kind == "RNN":
        params["nonlinearity"] = m.nonlinearity
    sequence_only = type(m).__name__.endswith("Sequence")
    outputs = [] if sequence_only else _first_outputs(node)
    return Mapped(kind, params, [ctx.tensor(node.args[0])], outputs=outputs, note=note)


_ATTN_OPTIONS = ("attn_mask", "key_padding_mask")


def _attention(m: nn.MultiheadAttention, node: fx.Node, ctx: Context) -> Mapped:
    _need(m.batch_first, "it is not batch_first (the block reads [N, L, E])")
    _need(m.bias_k is None and not m.add_zero_attn, "add_bias_kv and add_zero_attn have no "
                                                   "block settings")
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
    inputs, ports = [query], ["query"]
    if key is not query or value is not query:
        inputs.append(ctx.tensor(key, "key"))
        ports.append("key")
        if value is not key:
            inputs.append(ctx.tensor(value, "value"))
            ports.append("value")
    params = {"num_heads": m.num_heads, "dropout": float(m.dropout),
              "bias": m.in_proj_bias is not None}
    outputs = [] if type(m).__name__ == "SequenceAttention" else _first_outputs(node)
    return Mapped("MultiheadAttention", params, inputs, ports, outputs=outputs)


def _encoder_layer(m: nn.TransformerEncoderLayer, node: fx.Node, ctx: Context) -> Mapped:
    _need(m.self_attn.batch_first, "it is not batch_first (the block reads [N, L, E])")
    activation = {1: "relu", 2: "gelu"}.get(m.activation_relu_or_gelu)
    _need(activation is not None, "its activation is neither relu nor gelu")
    for key, value in node.kwargs.items():
        _need(value in (None, False), f"it is called with {key}")
    _need(len(node.args) == 1, "it is called with a mask")
    params = {"nhead": m.self_attn.num_heads, "dim_feedforward": m.linear1.out_features,
              "dropout": float(m.dropout.p), "activation": activation,
              "layer_norm_eps": m.norm1.eps, "norm_first": m.norm_first,
              "bias": m.linear1.bias is not None}
    return Mapped("TransformerEncoderLayer", params, [ctx.tensor(node.args[0])])


def _positional(m: nn.Module, node: fx.Node, ctx: Context) -> Mapped:
    return Mapped("PositionalEmbedding", {"max_len": int(m.weight.shape[0])},
                  _one_input(node, ctx))


def _merge(type_name: str) -> Callable[[nn.Module, fx.Node, Context], Mapped]:
    def mapper(m: nn.Module, node: fx.Node, ctx: Context) -> Mapped:
        _need(not node.kwargs and len(node.args) >= 2, "it is not given two or more tensors")
        params = {"dim": int(m.dim)} if type_name == "Concat" else {}
        return Mapped(type_name, params, [ctx.tensor(a) for a in node.args])

    return mapper


MODULES: dict[type, Callable[[Any, fx.Node, Context], Mapped]] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Linear: _linear,
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm, nn.LayerNorm: _layernorm,
    nn.ReLU: _plain("ReLU"), nn.Tanh: _plain("Tanh"), nn.Sigmoid: _plain("Sigmoid"),
    nn.GELU: _plain("GELU", lambda m: {"approximate": m.approximate}),
    nn.LeakyReLU: _plain("LeakyReLU", lambda m: {"negative_slope": m.negative_slope}),
    nn.Softmax: _plain("Softmax", _softmax), nn.Dropout: _plain("Dropout", lambda m: {"p": m.p}),
    nn.Flatten: _plain("Flatten", _flatten), nn.Unflatten: _plain("Unflatten", _unflatten),
    nn.Upsample: _plain("Upsample", _upsample),
    nn.MaxPool1d: _plain("MaxPool1d", _maxpool), nn.MaxPool2d: _plain("MaxPool2d", _maxpool),
    nn.AvgPool2d: _plain("AvgPool2d", _avgpool),
    nn.AdaptiveAvgPool2d: _plain("AdaptiveAvgPool2d", _adaptive),
    nn.Embedding: _plain("Embedding", _embedding),
    nn.LSTM: _recurrent, nn.GRU: _recurrent, nn.RNN: _recurrent,
    nn.MultiheadAttention: _attention, nn.TransformerEncoderLayer: _encoder_layer,
}

#: Torchloom's layer classes (engine/layers.py), as an export copies them: by class name,
#: with the base class or attribute each must have.
LAYERS: dict[str, tuple[Callable[[nn.Module], bool], Callable[[Any, fx.Node, Context], Mapped]]] = {
    # (`_parameters`, not `m.weight`: while tracing, attribute access makes graph nodes)
    "PositionalEmbedding": (lambda m: m._parameters.get("weight") is not None
                            and m._parameters["weight"].dim() == 2, _positional),
    "LSTMSequence": (lambda m: isinstance(m, nn.LSTM), _recurrent),
    "GRUSequence": (lambda m: isinstance(m, nn.GRU), _recurrent),
    "RNNSequence": (lambda m: isinstance(m, nn.RNN), _recurrent),
    "SequencePool": (lambda m: getattr(m, "mode", None) in ("last", "mean", "max"),
                     _plain("SequencePool", lambda m: {"mode": m.mode})),
    "SequenceAttention": (lambda m: isinstance(m, nn.MultiheadAttention), _attention),
    "Add": (lambda m: not list(m.parameters()), _merge("Add")),
    "Concat": (lambda m: isinstance(getattr(m, "dim", None), int), _merge("Concat")),
}


def _module_mapper(m: nn.Module) -> Callable[[Any, fx.Node, Context], Mapped] | None:
    mapper = MODULES.get(type(m))
    if mapper is None and type(m).__name__ in LAYERS:
        accepts, candidate = LAYERS[type(m).__name__]
        mapper = candidate if accepts(m) else None
    return mapper


def is_mapped_module(m: nn.Module) -> bool:
    """Whether tracing should keep `m` whole (a leaf) because a block stands for it."""
    return _module_mapper(m) is not None or type(m) is nn.Identity


def map_module(node: fx.Node, ctx: Context) -> Mapped | Alias:
    module = ctx.gm.get_submodule(str(node.target))
    if type(module) is nn.Identity:
        return Alias(ctx.tensor(node.args[0]))
    mapper = _module_mapper(module)
    if mapper is None:
        raise Unmapped(f"no block for {type(module).__name__}")
    mapped = mapper(module, node, ctx)
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
