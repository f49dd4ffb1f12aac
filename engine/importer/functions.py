"""Which block a traced function or method call becomes: ``F.relu``, ``torch.flatten``,
``x.view(x.size(0), -1)``, ``a + b``, ``torch.cat``, ``F.max_pool2d``, ``x[:, -1, :]``,
``x.mean(dim=1)`` and a few more.

A call matches only when every argument is a constant the block can hold (a kernel size
computed at run time cannot be a parameter) and the tensors fit the block; anything else
raises `Unmapped` and stays code.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import torch
from torch import fx
from torch.nn import functional as F

from . import tensor_ops as ops
from .mapping import Alias, Context, Mapped, Unmapped, collapse, window

Args = dict[str, Any]


def bind(node: fx.Node, names: tuple[str, ...], defaults: Args | None = None) -> Args:
    """The call's arguments by name (positional ones first), defaults filled in."""
    out = dict(defaults or {})
    if len(node.args) > len(names):
        raise Unmapped(f"{_what(node)} is called with more arguments than expected")
    out.update(zip(names, node.args))
    for key, value in node.kwargs.items():
        if key not in names and key not in out:
            raise Unmapped(f"{_what(node)} is called with {key}=")
        out[key] = value
    return out


def _what(node: fx.Node) -> str:
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return f".{name}()" if node.op == "call_method" else f"{name}()"


def _const(args: Args, *names: str) -> None:
    for name in names:
        if isinstance(args.get(name), fx.Node) or _has_node(args.get(name)):
            raise Unmapped(f"its {name} is computed while the model runs")


def _has_node(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, fx.Node) for v in value)


def _simple(type_name: str, names: tuple[str, ...], defaults: Args,
            read: Callable[[Args], Args] | None = None) -> Callable[[fx.Node, Context], Mapped]:
    def mapper(node: fx.Node, ctx: Context) -> Mapped:
        args = bind(node, ("input", *names), defaults)
        _const(args, *names)
        return Mapped(type_name, read(args) if read else {}, [ctx.tensor(args["input"])])

    return mapper


def _softmax(args: Args) -> Args:
    if args.get("dim") is None or args.get("dtype") is not None:
        raise Unmapped("softmax without dim, or with a dtype, has no block setting")
    return {"dim": args["dim"]}


def _dropout(args: Args) -> Args:
    return {"p": float(args["p"])}


def _max_pool(args: Args) -> Args:
    if args.get("return_indices"):
        raise Unmapped("return_indices=True has no block setting")
    kernel, stride = window(args["kernel_size"], args.get("stride"))
    return {"kernel_size": kernel, "stride": stride, "padding": collapse(args["padding"]),
            "dilation": collapse(args["dilation"]), "ceil_mode": bool(args["ceil_mode"])}


def _avg_pool(args: Args) -> Args:
    if args.get("divisor_override") is not None:
        raise Unmapped("divisor_override has no block setting")
    kernel, stride = window(args["kernel_size"], args.get("stride"))
    return {"kernel_size": kernel, "stride": stride, "padding": collapse(args["padding"]),
            "ceil_mode": bool(args["ceil_mode"]),
            "count_include_pad": bool(args["count_include_pad"])}


_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_POOL_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                  "return_indices": False}
_AVG = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
        "divisor_override")
_AVG_DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                 "divisor_override": None}

_relu = _simple("ReLU", ("inplace",), {"inplace": False})
_tanh = _simple("Tanh", (), {})
_sigmoid = _simple("Sigmoid", (), {})
_gelu = _simple("GELU", ("approximate",), {"approximate": "none"},
                lambda a: {"approximate": a["approximate"]})
_leaky = _simple("LeakyReLU", ("negative_slope", "inplace"),
                 {"negative_slope": 0.01, "inplace": False},
                 lambda a: {"negative_slope": float(a["negative_slope"])})
_softmax_call = _simple("Softmax", ("dim", "_stacklevel", "dtype"),
                        {"dim": None, "dtype": None}, _softmax)
_dropout_call = _simple("Dropout", ("p", "training", "inplace"),
                        {"p": 0.5, "training": True, "inplace": False}, _dropout)
_max_pool2d = _simple("MaxPool2d", _POOL, _POOL_DEFAULTS, _max_pool)
_max_pool1d = _simple("MaxPool1d", _POOL, _POOL_DEFAULTS, _max_pool)
_avg_pool2d = _simple("AvgPool2d", _AVG, _AVG_DEFAULTS, _avg_pool)
_silu = _simple("SiLU", ("inplace",), {"inplace": False})
_mish = _simple("Mish", ("inplace",), {"inplace": False})
_selu = _simple("SELU", ("inplace",), {"inplace": False})
_hardswish = _simple("Hardswish", ("inplace",), {"inplace": False})
_hardsigmoid = _simple("Hardsigmoid", ("inplace",), {"inplace": False})
_relu6 = _simple("ReLU6", ("inplace",), {"inplace": False})
_elu = _simple("ELU", ("alpha", "inplace"), {"alpha": 1.0, "inplace": False},
               lambda a: {"alpha": float(a["alpha"])})
_softplus = _simple("Softplus", ("beta", "threshold"), {"beta": 1.0, "threshold": 20.0},
                    lambda a: {"beta": float(a["beta"]), "threshold": float(a["threshold"])})
_log_softmax = _simple("LogSoftmax", ("dim", "_stacklevel", "dtype"),
                       {"dim": None, "dtype": None}, _softmax)
_adaptive = _simple("AdaptiveAvgPool2d", ("output_size",), {},
                    lambda a: {"output_size": collapse(a["output_size"])})


def _flatten(node: fx.Node, ctx: Context) -> Mapped:
    args = bind(node, ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1})
    _const(args, "start_dim", "end_dim")
    source = ctx.tensor(args["input"])
    rank = ctx.value(source).rank
    start = args["start_dim"] + rank if args["start_dim"] < 0 else args["start_dim"]
    if start < 1:
        raise Unmapped("it flattens the batch dimension too")
    return Mapped("Flatten", {"start_dim": start, "end_dim": args["end_dim"]}, [source])


def _is_batch_size(value: Any, source: fx.Node) -> bool:
    """``x.size(0)``, ``x.shape[0]`` or ``len(x)`` of the tensor being reshaped."""
    if not isinstance(value, fx.Node):
        return False
    if value.op == "call_method" and value.target == "size":
        return value.args[:1] == (source,) and (value.args[1:] == (0,)
                                                or value.kwargs.get("dim") == 0)
    if value.op == "call_function" and value.target is operator.getitem:
        base = value.args[0]
        return (value.args[1] == 0 and isinstance(base, fx.Node) and base.args[:1] == (source,)
                and base.op in ("call_function", "call_method")
                and (base.target is getattr and base.args[1] == "shape"
                     or base.target == "size" and len(base.args) == 1))
    return value.op == "call_function" and value.target is len and value.args == (source,)


def _view_flat(node: fx.Node, ctx: Context) -> Mapped:
    """``x.view(x.size(0), -1)``, ``x.reshape(N, -1)``, ``x.view(-1, 320)`` -> Flatten."""
    source = ctx.tensor(node.args[0])
    sizes = list(node.args[1:]) or list(node.kwargs.get("shape", node.kwargs.get("size", ())))
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = list(sizes[0])
    shape = ctx.value(source).shape
    features = math.prod(shape[1:])
    if len(sizes) != 2 or len(shape) < 2:
        raise Unmapped("a reshape other than to [N, features] has no block")
    first, second = sizes
    batch_ok = first == -1 or _is_batch_size(first, source)
    features_ok = second == -1 and first != -1 or second == features
    if not (batch_ok and features_ok):
        raise Unmapped("a reshape other than to [N, features] has no block")
    return Mapped("Flatten", {"start_dim": 1, "end_dim": -1}, [source])


def _reshape(node: fx.Node, ctx: Context) -> Mapped:
    """The [N, features] forms as before, any other batch-first reshape as Reshape."""
    try:
        return _view_flat(node, ctx)
    except Unmapped:
        return ops.reshape(node, ctx)


def _getitem(node: fx.Node, ctx: Context) -> Mapped:
    """The last step of a sequence stays a SequencePool, as it always imported; any other
    one-dimension index or slice is a Slice."""
    try:
        return _last_step(node, ctx)
    except Unmapped:
        if not ctx.is_tensor(node.args[0]):
            raise
        return ops.index(node, ctx)


def _add(node: fx.Node, ctx: Context) -> Mapped:
    args = bind(node, ("input", "other", "alpha"), {"alpha": 1})
    if args["alpha"] != 1:
        raise Unmapped("add with alpha has no block")
    a, b = args["input"], args["other"]
    if not (ctx.is_tensor(a) and ctx.is_tensor(b)):
        raise Unmapped("it adds a constant or a parameter, not two batch-first tensors")
    if ctx.value(a).shape != ctx.value(b).shape:
        raise Unmapped("it adds tensors of different shapes (broadcasting has no block)")
    return Mapped("Add", {}, [a, b])


def _cat(node: fx.Node, ctx: Context) -> Mapped:
    args = bind(node, ("tensors", "dim"), {"dim": 0})
    if "axis" in node.kwargs:
        args["dim"] = node.kwargs["axis"]
    _const(args, "dim")
    tensors = args["tensors"]
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2:
        raise Unmapped("it does not join two or more tensors")
    inputs = [ctx.tensor(t) for t in tensors]
    dim = args["dim"]
    if dim == 0 or dim == -ctx.value(inputs[0]).rank:
        raise Unmapped("it joins along the batch dimension")
    return Mapped("Concat", {"dim": dim - 1 if dim > 0 else dim}, inputs)


def _last_step(node: fx.Node, ctx: Context) -> Mapped:
    """``x[:, -1, :]`` or ``x[:, -1]`` of a [N, L, H] sequence -> SequencePool(last)."""
    source, index = node.args
    if not ctx.is_tensor(source):
        raise Unmapped("")  # taking an item of a tuple: part of whatever made the tuple
    full = slice(None, None, None)
    if (isinstance(index, tuple) and index[:2] == (full, -1)
            and all(i == full for i in index[2:]) and len(index) <= 3
            and ctx.is_tensor(source) and ctx.value(source).rank == 3):
        return Mapped("SequencePool", {"mode": "last"}, [source])
    raise Unmapped("indexing other than [:, -1] of a sequence has no block")


def _reduce(mode: str) -> Callable[[fx.Node, Context], Mapped]:
    def mapper(node: fx.Node, ctx: Context) -> Mapped:
        args = bind(node, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
        if node.kwargs.get("dtype") is not None:
            raise Unmapped("a reduction with a dtype has no block")
        source = ctx.tensor(args["input"])
        dim = args["dim"]
        dim = dim[0] if isinstance(dim, (list, tuple)) and len(dim) == 1 else dim
        if ctx.value(source).rank != 3 or dim not in (1, -2) or args["keepdim"]:
            return ops.reduce(mode.capitalize())(node, ctx)
        return Mapped("SequencePool", {"mode": mode}, [source])

    return mapper


def _max_values(node: fx.Node, ctx: Context) -> Mapped:
    """``x.max(dim=1)[0]`` (values, not indices) of a sequence -> SequencePool(max)."""
    args = bind(node, ("input", "dim", "keepdim"), {"dim": None, "keepdim": False})
    source = ctx.tensor(args["input"])
    users = list(node.users)
    if not users or not all(u.target is operator.getitem and u.args[1] in (0, "values")
                            for u in users):
        raise Unmapped("a max whose indices are used has no block")
    if ctx.value(source).rank != 3 or args["dim"] not in (1, -2) or args["keepdim"]:
        if not isinstance(args["dim"], int):
            raise Unmapped("a max over everything reduces the batch too")
        dims = ops.sample_dim(args["dim"], ctx.value(source).rank)
        return Mapped("Max", {"dims": dims, "keepdim": bool(args["keepdim"])}, [source],
                      outputs=users)
    return Mapped("SequencePool", {"mode": "max"}, [source], outputs=users)


def _contiguous(node: fx.Node, ctx: Context) -> Alias:
    """A wire, unless a ``.view`` after it stays code: that view needs its input contiguous
    (after a transpose it is not), so the call stays in the view's Code node."""
    if node.kwargs or len(node.args) != 1:
        raise Unmapped("contiguous() with a memory format")
    for user in node.users:
        if user.op == "call_method" and user.target == "view":
            try:
                _reshape(user, ctx)
            except Unmapped:
                raise Unmapped("the .view() after it needs a contiguous tensor") from None
    return Alias(ctx.tensor(node.args[0]))


FUNCTIONS: dict[Any, Callable[[fx.Node, Context], Mapped | Alias]] = {
    F.relu: _relu, torch.relu: _relu, F.relu_: _relu, torch.relu_: _relu,
    torch.tanh: _tanh, F.tanh: _tanh, torch.sigmoid: _sigmoid, F.sigmoid: _sigmoid,
    F.gelu: _gelu, F.leaky_relu: _leaky, F.softmax: _softmax_call, torch.softmax: _softmax_call,
    F.silu: _silu, F.mish: _mish, F.selu: _selu, torch.selu: _selu, F.elu: _elu,
    F.hardswish: _hardswish, F.hardsigmoid: _hardsigmoid, F.relu6: _relu6,
    F.softplus: _softplus, F.log_softmax: _log_softmax, torch.log_softmax: _log_softmax,
    F.dropout: _dropout_call, F.max_pool2d: _max_pool2d, torch.max_pool2d: _max_pool2d,
    F.max_pool1d: _max_pool1d, torch.max_pool1d: _max_pool1d, F.avg_pool2d: _avg_pool2d,
    F.adaptive_avg_pool2d: _adaptive, torch.flatten: _flatten, torch.reshape: _reshape,
    operator.add: _add, operator.iadd: _add, torch.add: _add,
    operator.mul: ops.multiply, operator.imul: ops.multiply, torch.mul: ops.multiply,
    operator.sub: ops.subtract, operator.isub: ops.subtract, torch.sub: ops.subtract,
    operator.truediv: ops.divide, operator.itruediv: ops.divide, torch.div: ops.divide,
    torch.true_divide: ops.divide,
    operator.matmul: ops.matmul, torch.matmul: ops.matmul, torch.bmm: ops.matmul,
    torch.permute: ops.permute, torch.transpose: ops.transpose, torch.t: ops.matrix_t,
    torch.split: ops.split, torch.chunk: ops.chunk, torch.sum: ops.reduce("Sum"),
    F.interpolate: ops.interpolate, F.pad: ops.pad,
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    operator.getitem: _getitem, torch.mean: _reduce("mean"), torch.amax: _reduce("max"),
    torch.max: _max_values,
}

METHODS: dict[str, Callable[[fx.Node, Context], Mapped | Alias]] = {
    "relu": _relu, "relu_": _relu, "tanh": _tanh, "sigmoid": _sigmoid,
    "softmax": _softmax_call, "log_softmax": _log_softmax, "flatten": _flatten,
    "view": _reshape, "reshape": _reshape, "add": _add, "mul": ops.multiply,
    "sub": ops.subtract, "div": ops.divide, "div_": ops.divide, "true_divide": ops.divide,
    "matmul": ops.matmul, "bmm": ops.matmul, "permute": ops.permute,
    "transpose": ops.transpose, "t": ops.matrix_t, "split": ops.split, "chunk": ops.chunk,
    "sum": ops.reduce("Sum"), "mean": _reduce("mean"), "amax": _reduce("max"),
    "max": _max_values, "expand": ops.expand, "expand_as": ops.expand,
    "contiguous": _contiguous,
}


def map_function(node: fx.Node, ctx: Context) -> Mapped | Alias:
    """The block for a ``call_function`` or ``call_method`` node, or `Unmapped`."""
    table = METHODS if node.op == "call_method" else FUNCTIONS
    try:
        mapper = table.get(node.target)
    except TypeError:  # an unhashable target
        mapper = None
    if mapper is None:
        raise Unmapped(f"no block for {_what(node)}")
    mapped = mapper(node, ctx)
    if isinstance(mapped, Mapped) and mapped.type == "Dropout" and node.kwargs.get(
            "training", node.args[2] if len(node.args) > 2 else True) is True:
        mapped.note = (f"{node.name}: F.dropout without training=self.training drops values "
                       "when evaluating too; the Dropout block drops only while training")
    return mapped
