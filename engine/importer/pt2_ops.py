"""The tensor operations of a ``.pt2`` program that have blocks: ``aten.transpose``,
``aten.permute``, batch-first ``aten.view``, element-wise ``aten.mul`` / ``aten.sub``,
``aten.matmul``, reductions over dims, ``aten.select`` / ``aten.slice``, resizing
(``aten.upsample_*``) and padding images (``aten.pad``, ``aten.constant_pad_nd``).

As for a ``.py`` import, torch's dims count the batch and the blocks' do not: each is
converted, and an op that moves, cuts or reduces the batch has no block here.
"""

from __future__ import annotations

import re
from typing import Any

from torch import fx

from .pt2_read import arg, op_name as op_name_of, product

Found = tuple[str, dict[str, Any]]
_END = 2**62  # what torch.export writes for "to the end" of a slice


def _shape(node: fx.Node) -> tuple[Any, ...]:
    return tuple(node.meta["val"].shape)


def _sample_dim(dim: Any, rank: int) -> int | None:
    """torch's dim as a block's (without the batch), or None for the batch itself."""
    if not isinstance(dim, int) or not -rank <= dim < rank or dim % rank == 0:
        return None
    return dim - 1 if dim > 0 else dim


def _static(sizes: tuple[Any, ...]) -> list[int] | None:
    try:
        return [int(s) for s in sizes]
    except (TypeError, ValueError):
        return None


def tensor_op(node: fx.Node, name: str, inputs: list[fx.Node]) -> Found | None:
    """The block for one parameterless tensor op, or None."""
    shape, out = _shape(inputs[0]), _shape(node)
    rank = len(shape)
    if name == "transpose":
        dims = [_sample_dim(arg(node, 1, "dim0"), rank), _sample_dim(arg(node, 2, "dim1"), rank)]
        return None if None in dims else ("Transpose", {"dim0": dims[0], "dim1": dims[1]})
    if name == "permute":
        dims = [d % rank for d in arg(node, 1, "dims", [])]
        if sorted(dims) != list(range(rank)) or dims[0] != 0:
            return None
        return "Permute", {"dims": [d - 1 for d in dims[1:]]}
    if name in ("view", "reshape", "_unsafe_view"):
        rest = _static(out[1:])
        if (rest and len(out) >= 3 and str(out[0]) == str(shape[0])
                and product(rest) == product(shape[1:])):
            return "Reshape", {"shape": rest}
        return None
    if name in ("mul", "mul_"):
        if len(inputs) == 2 and len(_shape(inputs[1])) == rank:
            return "Multiply", {}
        factor = arg(node, 1, "other")
        if len(inputs) == 1 and isinstance(factor, (int, float)) and not isinstance(factor, bool):
            return "Scale", {"factor": float(factor)}
        return None
    if name == "sub" and len(inputs) == 2 and len(node.args) == 2 and not node.kwargs:
        return ("Subtract", {}) if len(_shape(inputs[1])) == rank else None
    if name in ("matmul", "bmm") and len(inputs) == 2 and len(_shape(inputs[1])) == rank >= 3:
        return "MatMul", {}
    if name in ("sum", "mean", "amax") and len(node.args) >= 2:
        listed = arg(node, 1, "dim")
        listed = [listed] if isinstance(listed, int) else list(listed or [])
        dims = [_sample_dim(d, rank) for d in listed]
        if not dims or None in dims:
            return None
        kind = {"sum": "Sum", "mean": "Mean", "amax": "Max"}[name]
        return kind, {"dims": dims[0] if len(dims) == 1 else dims,
                      "keepdim": bool(arg(node, 2, "keepdim", False))}
    if name == "select":
        dim = _sample_dim(arg(node, 1, "dim"), rank)
        return None if dim is None else ("Slice", {"dim": dim, "index": int(arg(node, 2,
                                                                                 "index"))})
    if name == "slice":
        dim = _sample_dim(arg(node, 1, "dim", 0), rank)
        start, end = arg(node, 2, "start"), arg(node, 3, "end")
        if dim is None:
            return None
        return "Slice", {"dim": dim, "start": start or None,
                         "stop": None if end is None or end >= _END else end,
                         "step": int(arg(node, 4, "step", 1))}
    if name.startswith("upsample_"):
        return _resize(node, name, shape, out)
    return _pad(node, name, rank)


_RESIZE = re.compile(r"upsample_(nearest|linear|bilinear|bicubic|trilinear)([123])d")


def _resize(node: fx.Node, name: str, shape: tuple[Any, ...], out: tuple[Any, ...]
            ) -> Found | None:
    """``aten.upsample_<mode><k>d`` (``F.interpolate``) -> Interpolate: its scale factors
    as the program holds them (the output size alone does not say which factor placed the
    samples), or the output size of an image."""
    found = _RESIZE.fullmatch(name)
    if found is None or len(shape) != int(found.group(2)) + 2:
        return None
    mode = found.group(1)
    aligned = mode != "nearest" and bool(arg(node, 2, "align_corners", False))
    factors = arg(node, 2 if mode == "nearest" else 3, "scale_factors")
    params: dict[str, Any] = {"mode": mode, "align_corners": aligned}
    if factors and len(set(factors)) == 1:
        return "Interpolate", {**params, "scale_factor": float(factors[0])}
    size = _static(out[2:])
    if factors or size is None or len(size) != 2:
        return None  # a factor per dimension, or a size of a sequence or volume
    return "Interpolate", {**params, "size": size}


#: aten's padding modes -> the block of that mode
_PADS = {"constant": "ZeroPad2d", "reflect": "ReflectionPad2d", "replicate": "ReplicationPad2d"}


def _pad(node: fx.Node, name: str, rank: int) -> Found | None:
    """``aten.pad`` / ``aten.constant_pad_nd`` (``F.pad``) of an image on its four sides,
    with zeros or reflect / replicate, and ``aten.reflection_pad2d`` / ``replication_pad2d``
    -> the pad block of that mode."""
    if name == "pad":
        mode, value = arg(node, 2, "mode", "constant"), arg(node, 3, "value")
    elif name == "constant_pad_nd":
        mode, value = "constant", arg(node, 2, "value", 0)
    elif name in ("reflection_pad2d", "replication_pad2d"):
        mode, value = ("reflect" if name.startswith("reflection") else "replicate"), None
    else:
        return None
    sides = _static(tuple(arg(node, 1, "pad", arg(node, 1, "padding", ())) or ()))
    if (rank != 4 or mode not in _PADS or sides is None or len(sides) != 4 or min(sides) < 0
            or value not in (None, 0, 0.0)):
        return None
    return _PADS[mode], {"padding": sides}


#: The ops that cut a tensor into pieces, each piece read by a ``getitem``.
PIECES = ("split", "split_with_sizes", "chunk")


def pieces_op(node: fx.Node) -> Found | None:
    """The Split or Chunk for ``aten.split`` / ``split_with_sizes`` / ``chunk``."""
    rank = len(_shape(node.args[0]))  # type: ignore[arg-type]
    dim = _sample_dim(arg(node, 2, "dim", 0), rank)
    if dim is None:
        return None
    if op_name_of(node) == "chunk":
        return "Chunk", {"chunks": int(arg(node, 1, "chunks")), "dim": dim}
    sections = arg(node, 1, "split_size")
    sections = arg(node, 1, "split_sizes") if sections is None else sections
    sections = list(sections) if isinstance(sections, (list, tuple)) else int(sections)
    return "Split", {"split_size_or_sections": sections, "dim": dim}
