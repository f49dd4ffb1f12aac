"""Which block a traced tensor operation becomes: reshapes, reorders, cuts, reductions,
slices and element-wise products, as real models write them (``x.view(B, T, nh, hs)``,
``torch.transpose(x, 1, 2)``, ``q, k, v = x.split(C, dim=2)``, ``x[:, 0]``, ``x * gate``).

torch counts dims with the batch, blocks without it, so every dim is converted here, and
an operation that would move, cut or reduce the batch raises `Unmapped` and stays code.
Sizes the model computes while it runs (``T = x.size(1)``) are accepted as constants only
when they came out the same on two batch sizes (`Value.steady`): the project's input shape
is fixed, so they are; the batch size itself never is.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable

import torch
from torch import fx

from ..blocks import get_block
from ..blocks.base import TensorSpec
from .mapping import Alias, Context, Mapped, Unmapped

Mapper = Callable[[fx.Node, Context], "Mapped | Alias"]
_FULL = slice(None, None, None)


def constant(value: Any, ctx: Context, what: str = "a size") -> Any:
    """`value` with every size the model computed replaced by what it came out as; a size
    that follows the batch (or a tensor) raises `Unmapped`."""
    if isinstance(value, fx.Node):
        found = ctx.value(value)
        if found is None or found.is_tensor or not found.steady:
            raise Unmapped(f"{what} is computed from the batch or a tensor while the model "
                           "runs")
        return found.value
    if isinstance(value, (list, tuple)):
        return type(value)(constant(v, ctx, what) for v in value)
    if isinstance(value, slice):
        return slice(constant(value.start, ctx, what), constant(value.stop, ctx, what),
                     constant(value.step, ctx, what))
    return value


def _rank(node: fx.Node, ctx: Context) -> int:
    value = ctx.value(node)
    assert value is not None
    return value.rank


def sample_dim(dim: Any, rank: int) -> int:
    """A torch dim (counting the batch) as a block's dim (without it), negative kept
    negative; the batch itself raises `Unmapped`."""
    if not isinstance(dim, int) or isinstance(dim, bool) or not -rank <= dim < rank:
        raise Unmapped(f"dim {dim!r} is not a dimension of the tensor")
    if dim == 0 or dim == -rank:
        raise Unmapped("it works on the batch dimension")
    return dim - 1 if dim > 0 else dim


def _sizes(node: fx.Node, names: tuple[str, ...]) -> list[Any]:
    """The sizes of ``x.view(a, b)``, ``x.view((a, b))`` or ``x.view(size=(a, b))``."""
    sizes = list(node.args[1:])
    if not sizes:
        sizes = list(next((node.kwargs[n] for n in names if n in node.kwargs), ()))
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = list(sizes[0])
    return sizes


def reshape(node: fx.Node, ctx: Context) -> Mapped:
    """``x.view(B, T, nh, hs)``, ``x.reshape(b, -1)``, ``torch.reshape(x, (n, 4, 8))`` that
    keep the batch first -> Reshape (Flatten when the result is [N, features])."""
    source = ctx.tensor(node.args[0] if node.args else node.kwargs.get("input"))
    sizes = _sizes(node, ("shape", "size"))
    out = ctx.value(node)
    if not sizes or out is None or not out.batched:
        raise Unmapped("the reshape does not keep the batch first")
    constant(sizes[1:], ctx, "a size after the batch")  # the rest must not follow the batch
    shape = list(out.shape[1:])
    if len(shape) == 1 and _rank(source, ctx) >= 2:
        return Mapped("Flatten", {"start_dim": 1, "end_dim": -1}, [source])
    if not shape:
        raise Unmapped("a reshape to one value per sample has no block")
    return Mapped("Reshape", {"shape": shape}, [source])


def _dims(node: fx.Node, ctx: Context) -> list[Any]:
    dims = list(node.args[1:]) or list(node.kwargs.get("dims", ()))
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = list(dims[0])
    return constant(dims, ctx, "a dim")


def permute(node: fx.Node, ctx: Context) -> Mapped:
    """``x.permute(0, 2, 1)`` -> Permute([1, 0]); the batch must stay first."""
    source = ctx.tensor(node.args[0])
    rank = _rank(source, ctx)
    dims = [d % rank if isinstance(d, int) and -rank <= d < rank else None
            for d in _dims(node, ctx)]
    if sorted(d for d in dims if d is not None) != list(range(rank)) or dims[0] != 0:
        raise Unmapped("the permutation moves the batch dimension")
    return Mapped("Permute", {"dims": [d - 1 for d in dims[1:]]}, [source])


def transpose(node: fx.Node, ctx: Context) -> Mapped:
    """``x.transpose(1, 2)``, ``torch.transpose(x, -2, -1)`` -> Transpose."""
    names = ("input", "dim0", "dim1")
    args = dict(zip(names, node.args))
    args.update({k: v for k, v in node.kwargs.items() if k in names})
    if len(args) != 3:
        raise Unmapped("transpose() without two dims")
    source = ctx.tensor(args["input"])
    rank = _rank(source, ctx)
    dim0, dim1 = constant([args["dim0"], args["dim1"]], ctx, "a dim")
    return Mapped("Transpose", {"dim0": sample_dim(dim0, rank),
                                "dim1": sample_dim(dim1, rank)}, [source])


def matrix_t(node: fx.Node, ctx: Context) -> Alias:
    """``x.t()`` of one value per sample ([N]) changes nothing; of [N, F] it swaps the batch
    dimension, which no block may (torch refuses ``.t()`` above two dims)."""
    source = ctx.tensor(node.args[0] if node.args else node.kwargs.get("input"))
    if _rank(source, ctx) >= 2:
        raise Unmapped(".t() of a batch of vectors swaps the batch dimension")
    return Alias(source)


# ---- cutting into pieces -----------------------------------------------------------------


def pieces(node: fx.Node, ctx: Context, type_name: str, params: dict[str, Any],
           source: fx.Node) -> Mapped:
    """A Split or Chunk whose pieces are read by ``out[i]``: each read wires one output
    port. Every user must take one piece by a constant index."""
    block = get_block(type_name)
    assert block is not None
    value = ctx.value(source)
    assert value is not None
    spec = TensorSpec(tuple(value.shape[1:]))
    ports = block.output_ports(params, [spec])
    count = len(ports)
    reads: dict[fx.Node, str] = {}
    for user in node.users:
        index = user.args[1] if user.target is operator.getitem and len(user.args) == 2 else None
        if user.op != "call_function" or not isinstance(index, int) or not -count <= index < count:
            raise Unmapped("its pieces are not each taken by a constant index")
        reads[user] = ports[index].name
    if not reads:
        raise Unmapped("none of its pieces is used")
    return Mapped(type_name, params, [source], port_outputs=reads)


def split(node: fx.Node, ctx: Context) -> Mapped:
    """``torch.split(x, 32, dim=2)``, ``q, k, v = x.split(C, 2)`` -> Split."""
    names = ("tensor", "split_size_or_sections", "dim")
    args = {"dim": 0, **dict(zip(names, node.args))}
    args.update({("split_size_or_sections" if k == "split_size" else k): v
                 for k, v in node.kwargs.items()})
    source = ctx.tensor(args.get("tensor"))
    sections = constant(args.get("split_size_or_sections"), ctx)
    if isinstance(sections, tuple):
        sections = list(sections)
    dim = sample_dim(constant(args["dim"], ctx, "a dim"), _rank(source, ctx))
    return pieces(node, ctx, "Split", {"split_size_or_sections": sections, "dim": dim}, source)


def chunk(node: fx.Node, ctx: Context) -> Mapped:
    """``x.chunk(2, dim=1)``, ``torch.chunk(x, 3, -1)`` -> Chunk."""
    names = ("input", "chunks", "dim")
    args = {"dim": 0, **dict(zip(names, node.args))}
    args.update(node.kwargs)
    source = ctx.tensor(args.get("input"))
    dim = sample_dim(constant(args["dim"], ctx, "a dim"), _rank(source, ctx))
    return pieces(node, ctx, "Chunk", {"chunks": constant(args.get("chunks"), ctx),
                                       "dim": dim}, source)


# ---- reductions and slices ---------------------------------------------------------------


def reduce(type_name: str) -> Mapper:
    """``x.sum(dim=(2, 3), keepdim=True)``, ``torch.mean(x, -1)`` -> Sum / Mean / Max."""

    def mapper(node: fx.Node, ctx: Context) -> Mapped:
        names = ("input", "dim", "keepdim")
        args = {"dim": None, "keepdim": False, **dict(zip(names, node.args))}
        args.update({k: v for k, v in node.kwargs.items() if k != "dtype"})
        if node.kwargs.get("dtype") is not None or set(args) - set(names):
            raise Unmapped("a reduction with a dtype or an out has no block")
        source = ctx.tensor(args["input"])
        rank = _rank(source, ctx)
        dim = constant(args["dim"], ctx, "a dim")
        if dim is None:
            raise Unmapped("a reduction over everything reduces the batch too")
        listed = [dim] if isinstance(dim, int) else list(dim)
        dims = [sample_dim(d, rank) for d in listed]
        return Mapped(type_name, {"dims": dims[0] if isinstance(dim, int) else dims,
                                  "keepdim": bool(args["keepdim"])}, [source])

    return mapper


def index(node: fx.Node, ctx: Context) -> Mapped:
    """``x[:, 0]``, ``x[:, a:b:c]``, ``x[..., :k]`` (one sliced dimension, the batch kept
    whole) -> Slice."""
    source, key = node.args
    source = ctx.tensor(source)
    rank = _rank(source, ctx)
    key = constant(key if isinstance(key, tuple) else (key,), ctx, "an index")
    if Ellipsis in key:
        at = key.index(Ellipsis)
        before, after = key[:at], key[at + 1:]
        if Ellipsis in after or len(before) + len(after) >= rank:
            raise Unmapped("the index does not keep the batch dimension whole")
        positions = list(enumerate(before)) + [(d - len(after), k)
                                               for d, k in enumerate(after)]
    else:
        positions = list(enumerate(key))
    cut = [(d, k) for d, k in positions if k != _FULL]
    if len(key) > rank or len(cut) != 1 or any(k is None for _, k in positions):
        raise Unmapped("only indexing one dimension after the batch has a block")
    dim, k = cut[0]
    if dim == 0:
        raise Unmapped("it indexes the batch dimension")
    block_dim = dim - 1 if dim > 0 else dim
    if isinstance(k, bool) or not isinstance(k, (int, slice)):
        raise Unmapped("indexing with a tensor or a list has no block")
    if isinstance(k, int):
        return Mapped("Slice", {"dim": block_dim, "index": k}, [source])
    if k.step is not None and k.step < 1:
        raise Unmapped("a slice with a step below 1 has no block")
    return Mapped("Slice", {"dim": block_dim, "start": k.start, "stop": k.stop,
                            "step": 1 if k.step is None else k.step}, [source])


# ---- element-wise products, differences and matrix products ------------------------------


def _number(value: Any, ctx: Context) -> float | None:
    """A constant factor (given, or steady), else None."""
    try:
        value = constant(value, ctx)
    except Unmapped:
        return None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _broadcast_source(node: fx.Node, user: fx.Node, ctx: Context) -> tuple[fx.Node, bool]:
    """An ``expand_as`` / ``expand`` feeding only `user` is read through: Multiply
    broadcasts sizes of 1 itself. Returns (what to wire, whether it was read through)."""
    if (node.op == "call_method" and node.target in ("expand_as", "expand")
            and list(node.users) == [user] and ctx.is_tensor(node.args[0])):
        inner = ctx.value(node.args[0])
        if inner is not None and inner.rank == _rank(node, ctx):
            return node.args[0], True
    return node, False


def multiply(node: fx.Node, ctx: Context) -> Mapped:
    """``a * b`` of two tensors -> Multiply (broadcasting); ``x * 0.125`` -> Scale."""
    if len(node.args) != 2 or node.kwargs:
        raise Unmapped("mul() with extra arguments")
    a, b = node.args
    if ctx.is_tensor(a) and ctx.is_tensor(b):
        (a, skip_a), (b, skip_b) = _broadcast_source(a, node, ctx), _broadcast_source(b, node, ctx)
        if _rank(a, ctx) != _rank(b, ctx):
            raise Unmapped("it multiplies tensors of different ranks")
        through = [n for n, skipped in ((node.args[0], skip_a), (node.args[1], skip_b))
                   if skipped]
        return Mapped("Multiply", {}, [a, b], consumed=through)  # type: ignore[list-item]
    tensor, factor = (a, b) if ctx.is_tensor(a) else (b, a)
    number = _number(factor, ctx)
    if not ctx.is_tensor(tensor) or number is None:
        raise Unmapped("it multiplies by a tensor that is not computed from the inputs")
    return Mapped("Scale", {"factor": number}, [tensor])


def divide(node: fx.Node, ctx: Context) -> Mapped:
    """``x / 8.0``, ``x.div(math.sqrt(d))``, ``torch.true_divide(x, 2)``: a tensor divided by
    a Python number -> Scale by its reciprocal. A divisor that is a tensor, a number divided
    by a tensor or a rounding mode has no block."""
    names = ("input", "other", "rounding_mode")
    args = {"rounding_mode": None, **dict(zip(names, node.args)), **node.kwargs}
    if set(args) - set(names) or args["rounding_mode"] is not None:
        raise Unmapped("a division with a rounding mode has no block")
    source = ctx.tensor(args.get("input"))
    divisor = _number(args.get("other"), ctx)
    if divisor is None or divisor == 0:
        raise Unmapped("it divides by a tensor (only a division by a number is a Scale)")
    mapped = Mapped("Scale", {"factor": 1.0 / divisor}, [source])
    if math.frexp(divisor)[0] not in (0.5, -0.5):  # 1/8 is exact, 1/3 is not
        mapped.note = (f"{node.name}: dividing by {divisor:g} became Scale {1.0 / divisor:.6g};"
                       " multiplying by the rounded reciprocal can differ from the division "
                       "in the last bit")
    return mapped


def subtract(node: fx.Node, ctx: Context) -> Mapped:
    """``a - b`` of two tensors -> Subtract."""
    names = ("input", "other", "alpha")
    args = {"alpha": 1, **dict(zip(names, node.args)), **node.kwargs}
    if args["alpha"] != 1 or set(args) - set(names):
        raise Unmapped("sub() with alpha has no block")
    a, b = ctx.tensor(args["input"]), ctx.tensor(args["other"], "other")
    if _rank(a, ctx) != _rank(b, ctx):
        raise Unmapped("it subtracts tensors of different ranks")
    return Mapped("Subtract", {}, [a, b], ports=["input", "other"])


def matmul(node: fx.Node, ctx: Context) -> Mapped:
    """``q @ k.transpose(-2, -1)``, ``torch.matmul(a, b)``, ``torch.bmm(a, b)`` -> MatMul."""
    bmm = node.target == "bmm" or node.target is torch.bmm
    names = ("input", "mat2") if bmm else ("input", "other")
    args = {**dict(zip(names, node.args)), **node.kwargs}
    if len(args) != 2:
        raise Unmapped("matmul() with extra arguments")
    a, b = (ctx.tensor(args[n], n) for n in names)
    if _rank(a, ctx) != _rank(b, ctx):
        raise Unmapped("it multiplies matrices of different ranks")
    return Mapped("MatMul", {}, [a, b], ports=["input", "other"])


def expand(node: fx.Node, ctx: Context) -> Alias:
    """``t.expand(B, -1, -1)`` / ``t.expand_as(x)`` that changes nothing (the tensor is
    already batch by batch: a class token) passes its input on."""
    source = ctx.tensor(node.args[0])
    if ctx.value(node).shape != ctx.value(source).shape:  # type: ignore[union-attr]
        raise Unmapped("expand() to a larger shape has no block")
    return Alias(source)


# ---- resizing and padding ----------------------------------------------------------------


def interpolate(node: fx.Node, ctx: Context) -> Mapped:
    """``F.interpolate(x, scale_factor=2, mode="bilinear")`` -> Interpolate."""
    names = ("input", "size", "scale_factor", "mode", "align_corners",
             "recompute_scale_factor", "antialias")
    args = {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
            "recompute_scale_factor": None, "antialias": False, **dict(zip(names, node.args)),
            **node.kwargs}
    if set(args) - set(names) or args["antialias"] or args["recompute_scale_factor"]:
        raise Unmapped("interpolate() with antialias or recompute_scale_factor has no block")
    source = ctx.tensor(args["input"])
    size = constant(args["size"], ctx)
    factor = constant(args["scale_factor"], ctx)
    if isinstance(factor, (list, tuple)):
        if len(set(factor)) != 1:
            raise Unmapped("a different scale_factor per dimension has no block")
        factor = factor[0]
    if isinstance(size, tuple):
        size = list(size)
    params: dict[str, Any] = {"mode": args["mode"],
                              "align_corners": bool(args["align_corners"])}
    if size is not None:
        params["size"] = size
    elif factor is not None:
        params["scale_factor"] = float(factor)
    return Mapped("Interpolate", params, [source])


_PADS = {"constant": "ZeroPad2d", "reflect": "ReflectionPad2d", "replicate": "ReplicationPad2d"}


def pad(node: fx.Node, ctx: Context) -> Mapped:
    """``F.pad(x, [l, r, t, b])`` of images with zeros, or reflect / replicate -> the pad
    block of that mode."""
    names = ("input", "pad", "mode", "value")
    args = {"mode": "constant", "value": None, **dict(zip(names, node.args)), **node.kwargs}
    source = ctx.tensor(args["input"])
    sides = constant(args["pad"], ctx, "a padding")
    if (_rank(source, ctx) != 4 or args["mode"] not in _PADS or len(sides) != 4
            or args["value"] not in (None, 0, 0.0) or min(sides) < 0):
        raise Unmapped("only padding images on four sides (with zeros, reflect or replicate) "
                       "has a block")
    return Mapped(_PADS[args["mode"]], {"padding": list(sides)}, [source])
