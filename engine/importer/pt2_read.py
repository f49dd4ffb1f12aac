"""Reading block parameters back from a ``.pt2``'s ATen ops.

An ExportedProgram has no modules left, only ATen calls tagged with the module they came
from (``nn_module_stack``). For each known module type the parameters are read off its ops'
arguments and its weights' shapes: a Conv2d's ``aten.conv2d`` carries stride, padding,
dilation and groups, its weight's shape the channels and kernel. A module whose ops are not
the ones expected (a Conv2d with ``padding_mode="reflect"`` adds an ``aten.pad``) is
refused by name rather than imported with a setting lost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import fx

from ..errors import ModelImportError
from .mapping import collapse, window


def op_name(node: fx.Node) -> str:
    """``aten.conv2d.default`` -> ``conv2d``; a Python function -> ``py.<name>``."""
    text = str(node.target)
    if text.startswith("aten."):
        return text.split(".")[1]
    return "py." + getattr(node.target, "__name__", text)


def arg(node: fx.Node, index: int, name: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


@dataclass
class Group:
    """The ops one module produced, with its weights (names relative to the module)."""

    path: str
    cls: str
    ops: list[fx.Node]
    params: dict[str, torch.Tensor]
    where: str

    def op(self, *names: str, required: bool = True) -> fx.Node | None:
        for node in self.ops:
            if op_name(node) in names:
                return node
        if required:
            raise self.fail(f"has no {' or '.join(names)} op")
        return None

    def shape(self, name: str) -> tuple[int, ...]:
        if name not in self.params:
            raise self.fail(f"has no weight '{name}'")
        return tuple(self.params[name].shape)

    def only(self, *names: str) -> None:
        """Refuse a module whose ops include anything else (a setting the block lacks)."""
        allowed = set(names) | {"sym_size", "py.getitem", "py.mul", "py.add", "py.sub",
                                "py.floordiv", "zeros", "alias", "detach", "clone",
                                "contiguous", "lift_fresh_copy"}
        for node in self.ops:
            if op_name(node) not in allowed:
                raise self.fail(f"uses aten.{op_name(node)}, which the {self.cls} block "
                                "cannot express")

    def fail(self, message: str) -> ModelImportError:
        return ModelImportError(f"module {self.path} ({self.cls}) {message}", path=self.where)


def _conv(g: Group) -> dict[str, Any]:
    g.only("conv1d", "conv2d")
    node = g.op("conv1d", "conv2d")
    weight = g.shape("weight")
    padding = arg(node, 4, "padding", 0)
    return {"out_channels": weight[0], "kernel_size": collapse(weight[2:]),
            "stride": collapse(arg(node, 3, "stride", 1)),
            "padding": padding if isinstance(padding, str) else collapse(padding),
            "dilation": collapse(arg(node, 5, "dilation", 1)),
            "groups": int(arg(node, 6, "groups", 1)), "bias": "bias" in g.params}


def _linear(g: Group) -> dict[str, Any]:
    g.only("linear")
    return {"out_features": g.shape("weight")[0], "bias": "bias" in g.params}


def _batchnorm(g: Group) -> dict[str, Any]:
    g.only("batch_norm", "_native_batch_norm_legit_no_training")
    node = g.op("batch_norm", "_native_batch_norm_legit_no_training")
    legit = op_name(node).startswith("_native")
    momentum = arg(node, 5 if legit else 6, "momentum", 0.1)
    eps = arg(node, 6 if legit else 7, "eps", 1e-5)
    return {"eps": float(eps), "momentum": float(momentum), "affine": "weight" in g.params,
            "track_running_stats": "running_mean" in g.params}


def _layernorm(g: Group) -> dict[str, Any]:
    g.only("layer_norm")
    node = g.op("layer_norm")
    if len(arg(node, 1, "normalized_shape", [])) != 1:
        raise g.fail("normalises over more than the last dimension")
    return {"eps": float(arg(node, 4, "eps", 1e-5)), "elementwise_affine": "weight" in g.params,
            "bias": "bias" in g.params or "weight" not in g.params}


def _simple(op: str, read: Callable[[fx.Node], dict[str, Any]] | None = None
            ) -> Callable[[Group], dict[str, Any]]:
    def reader(g: Group) -> dict[str, Any]:
        g.only(*op.split("|"))
        return read(g.op(*op.split("|"))) if read else {}

    return reader


def _maxpool(node: fx.Node) -> dict[str, Any]:
    kernel, stride = window(arg(node, 1, "kernel_size"), arg(node, 2, "stride", None) or None)
    return {"kernel_size": kernel, "stride": stride,
            "padding": collapse(arg(node, 3, "padding", 0)),
            "dilation": collapse(arg(node, 4, "dilation", 1)),
            "ceil_mode": bool(arg(node, 5, "ceil_mode", False))}


def _avgpool(node: fx.Node) -> dict[str, Any]:
    if arg(node, 6, "divisor_override") is not None:
        raise ModelImportError("AvgPool2d with divisor_override cannot be imported")
    kernel, stride = window(arg(node, 1, "kernel_size"), arg(node, 2, "stride", None) or None)
    return {"kernel_size": kernel, "stride": stride,
            "padding": collapse(arg(node, 3, "padding", 0)),
            "ceil_mode": bool(arg(node, 4, "ceil_mode", False)),
            "count_include_pad": bool(arg(node, 5, "count_include_pad", True))}


def _embedding(g: Group) -> dict[str, Any]:
    g.only("embedding")
    pad = arg(g.op("embedding"), 2, "padding_idx", -1)
    rows, dim = g.shape("weight")
    return {"num_embeddings": rows, "embedding_dim": dim,
            "padding_idx": None if pad is None or pad < 0 else int(pad)}


_RNN_OPS = ("lstm", "gru", "rnn_tanh", "rnn_relu")


def _recurrent(g: Group) -> dict[str, Any]:
    g.only(*_RNN_OPS)
    node = g.op(*_RNN_OPS)
    if not arg(node, 8, "batch_first", False):
        raise g.fail("is not batch_first (the block reads [N, L, features])")
    if "weight_hr_l0" in g.params:
        raise g.fail("uses proj_size, which the block cannot express")
    layers = int(arg(node, 4, "num_layers", 1))
    dropout = float(arg(node, 5, "dropout", 0.0)) if layers > 1 else 0.0
    params = {"hidden_size": g.shape("weight_hh_l0")[1], "num_layers": layers,
              "bias": bool(arg(node, 3, "has_biases", True)), "dropout": dropout,
              "bidirectional": bool(arg(node, 7, "bidirectional", False))}
    if op_name(node).startswith("rnn_"):
        params["nonlinearity"] = op_name(node).removeprefix("rnn_")
    return params


def heads(g: Group, embed: int) -> int:
    """The head count: the first reshape after the input projection splits the embedding
    into [..., head_dim]."""
    for node in g.ops:
        if op_name(node) in ("view", "reshape", "_unsafe_view"):
            sizes = arg(node, 1, "size", [])
            last = sizes[-1] if sizes else None
            if isinstance(last, int) and 0 < last <= embed and embed % last == 0:
                return embed // last
    raise g.fail("does not show its number of heads")


def _attention(g: Group) -> dict[str, Any]:
    if "in_proj_weight" not in g.params:
        raise g.fail("has separate key/value sizes, which the block cannot express")
    embed = g.shape("in_proj_weight")[1]
    if "bias_k" in g.params:
        raise g.fail("uses add_bias_kv, which the block cannot express")
    sdpa = g.op("scaled_dot_product_attention", required=False)
    # aten's signature: (query, key, value, attn_mask, dropout_p, is_causal)
    dropout = float(arg(sdpa, 4, "dropout_p", 0.0) or 0.0) if sdpa is not None else 0.0
    return {"num_heads": heads(g, embed), "dropout": dropout,
            "bias": "in_proj_bias" in g.params,
            "causal": _causal(g, [op_name(n) for n in g.ops])}


def _encoder_layer(g: Group) -> dict[str, Any]:
    embed = g.shape("self_attn.in_proj_weight")[1]
    names = [op_name(n) for n in g.ops]
    drop = g.op("dropout", required=False)
    first_norm = names.index("layer_norm") if "layer_norm" in names else len(names)
    first_linear = names.index("linear") if "linear" in names else len(names)
    norm = g.op("layer_norm")
    return {"nhead": heads(g, embed), "dim_feedforward": g.shape("linear1.weight")[0],
            "dropout": float(arg(drop, 1, "p", 0.0)) if drop is not None else 0.0,
            "activation": "gelu" if "gelu" in names else "relu",
            "layer_norm_eps": float(arg(norm, 4, "eps", 1e-5)),
            "norm_first": first_norm < first_linear, "bias": "linear1.bias" in g.params,
            "causal": _causal(g, names)}


def _causal(g: Group, names: list[str]) -> bool:
    """A causal mask built in the graph (engine.layers' masks with token ids), or torch's
    fused kernel told so (MaskedEncoderLayer's own attention passes `is_causal`)."""
    sdpa = g.op("scaled_dot_product_attention", required=False)
    return "triu" in names or (sdpa is not None and bool(arg(sdpa, 5, "is_causal", False)))


def _sequence_pool(g: Group) -> dict[str, Any]:
    names = {op_name(n) for n in g.ops}
    if "ne" in names:  # token ids wired in: engine.layers.SequencePool leaves padding out
        mode = "max" if "masked_fill" in names else "mean" if "sum" in names else "last"
        return {"mode": mode}
    g.only("select", "slice", "mean", "amax")
    mode = "mean" if "mean" in names else "max" if "amax" in names else "last"
    return {"mode": mode}


def _concat(g: Group) -> dict[str, Any]:
    g.only("cat")
    dim = int(arg(g.op("cat"), 1, "dim", 0))
    return {"dim": dim - 1 if dim > 0 else dim}


def upsample_params(node: fx.Node) -> dict[str, Any] | None:
    """An aten.upsample_* node as Upsample's parameters (None: no block setting for it)."""
    name = op_name(node).removeprefix("upsample_")
    mode = name.removesuffix("2d")
    if mode not in ("nearest", "bilinear", "bicubic") or not name.endswith("2d"):
        return None
    if mode != "nearest" and arg(node, 2, "align_corners", False):
        return None  # align_corners=True has no block setting
    shape, out = tuple(node.args[0].meta["val"].shape), tuple(node.meta["val"].shape)
    factors = {out[2] / shape[2], out[3] / shape[3]}
    if len(factors) == 1:
        return {"size": None, "scale_factor": float(factors.pop()), "mode": mode}
    return {"size": [int(out[2]), int(out[3])], "scale_factor": None, "mode": mode}


def unflatten_params(node: fx.Node) -> dict[str, Any]:
    """aten.unflatten (or a view that splits the features) as Unflatten's parameters."""
    if op_name(node) == "unflatten":
        rank = len(node.args[0].meta["val"].shape)
        return {"dim": int(arg(node, 1, "dim", 1)) % rank,
                "unflattened_size": [int(v) for v in arg(node, 2, "sizes")]}
    return {"dim": 1, "unflattened_size": [int(v) for v in node.meta["val"].shape[1:]]}


def _upsample(g: Group) -> dict[str, Any]:
    ops = "upsample_nearest2d|upsample_bilinear2d|upsample_bicubic2d"
    g.only(*ops.split("|"))
    params = upsample_params(g.op(*ops.split("|")))  # type: ignore[arg-type]
    if params is None:
        raise g.fail("its mode or align_corners has no block setting")
    return params


#: class name -> (block type, reader)
READERS: dict[str, tuple[str, Callable[[Group], dict[str, Any]]]] = {
    "Conv1d": ("Conv1d", _conv), "Conv2d": ("Conv2d", _conv), "Linear": ("Linear", _linear),
    "BatchNorm1d": ("BatchNorm1d", _batchnorm), "BatchNorm2d": ("BatchNorm2d", _batchnorm),
    "LayerNorm": ("LayerNorm", _layernorm), "ReLU": ("ReLU", _simple("relu|relu_")),
    "Tanh": ("Tanh", _simple("tanh")), "Sigmoid": ("Sigmoid", _simple("sigmoid")),
    "GELU": ("GELU", _simple("gelu", lambda n: {"approximate": n.kwargs.get(
        "approximate", arg(n, 1, "approximate", "none"))})),
    "LeakyReLU": ("LeakyReLU", _simple("leaky_relu", lambda n: {
        "negative_slope": float(arg(n, 1, "negative_slope", 0.01))})),
    "Softmax": ("Softmax", _simple("softmax|_softmax", lambda n: {"dim": int(arg(n, 1, "dim"))})),
    "Dropout": ("Dropout", _simple("dropout", lambda n: {"p": float(arg(n, 1, "p", 0.5))})),
    "Flatten": ("Flatten", _simple("flatten|view|reshape", lambda n: {
        "start_dim": int(arg(n, 1, "start_dim", 1)) if op_name(n) == "flatten" else 1,
        "end_dim": int(arg(n, 2, "end_dim", -1)) if op_name(n) == "flatten" else -1})),
    "Unflatten": ("Unflatten", _simple("unflatten|view|reshape", unflatten_params)),
    "Upsample": ("Upsample", _upsample),
    "MaxPool1d": ("MaxPool1d", _simple("max_pool1d", _maxpool)),
    "MaxPool2d": ("MaxPool2d", _simple("max_pool2d", _maxpool)),
    "AvgPool2d": ("AvgPool2d", _simple("avg_pool2d", _avgpool)),
    "AdaptiveAvgPool2d": ("AdaptiveAvgPool2d", _simple("adaptive_avg_pool2d", lambda n: {
        "output_size": collapse(arg(n, 1, "output_size"))})),
    "Embedding": ("Embedding", _embedding),
    "LSTM": ("LSTM", _recurrent), "LSTMSequence": ("LSTM", _recurrent),
    "GRU": ("GRU", _recurrent), "GRUSequence": ("GRU", _recurrent),
    "RNN": ("RNN", _recurrent), "RNNSequence": ("RNN", _recurrent),
    "MultiheadAttention": ("MultiheadAttention", _attention),
    "SequenceAttention": ("MultiheadAttention", _attention),
    "TransformerEncoderLayer": ("TransformerEncoderLayer", _encoder_layer),
    "MaskedEncoderLayer": ("TransformerEncoderLayer", _encoder_layer),
    "PositionalEmbedding": ("PositionalEmbedding",
                            lambda g: {"max_len": g.shape("weight")[0]}),
    "SequencePool": ("SequencePool", _sequence_pool),
    "Add": ("Add", _simple("add")), "Concat": ("Concat", _concat),
}


def product(shape: Any) -> int:
    return math.prod(int(s) for s in shape)
