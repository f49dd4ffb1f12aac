"""Hypothesis strategies: random graphs from the block catalogue, and damaged project files.

Graphs are drawn in the JSON shape a project file holds (``{"nodes": [...], "edges":
[...]}``), so one drawing feeds both the loader's path (`graph_from_dict`) and the edit API.
Two kinds mix. *Plausible* graphs follow each port's declared rank and dtype, so many of them
compile and run (the consistency check needs those), with the odd bad parameter or wire.
*Random* graphs take any type, any parameter value and any wire. Parameter values come from
each declaration's schema (kind, min, max, choices): small valid ones, the edges of the
range, and values outside it or of the wrong type.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from torchloom.engine.blocks import Block, registry

#: Every block but Code, which runs a person's file and needs a trust step first.
BLOCKS: dict[str, Block] = {n: b for n, b in sorted(registry().items()) if n != "Code"}
BODY_TYPES = [n for n, b in BLOCKS.items() if not b.is_input]
ALL_PORTS = sorted({p.name for b in BLOCKS.values() for p in b.inputs})
UNKNOWN_TYPES = ["Conv4d", "", "Linear ", "x" * 300, "Code2", "relu"]

#: Upper bounds for "small" values, so a plausible graph runs a real forward in milliseconds.
SMALL = {"out_channels": 16, "out_features": 32, "hidden_size": 16, "embedding_dim": 16,
         "dim_feedforward": 32, "num_layers": 2, "num_embeddings": 64, "max_len": 64,
         "num_heads": 4, "nhead": 4, "groups": 2, "start_dim": 3}
#: Blocks that keep the shape with any parameters, for the side of a residual branch.
KEEPS_SHAPE = ["ReLU", "GELU", "Tanh", "Sigmoid", "LeakyReLU", "Softmax", "Dropout",
               "LayerNorm", "BatchNorm1d", "BatchNorm2d", "PositionalEmbedding",
               "TransformerEncoderLayer", "MultiheadAttention"]
#: Merges draw their inputs in `_merge`, not as a one-input step.
MERGES = ["Add", "Concat"]

#: Ids that have broken (or could break) a step: Python keywords and builtins, attribute
#: names of `nn.Module`/`fx.GraphModule`, names that only differ after cleaning or Unicode
#: normalisation, control and bidirectional characters, an unpaired surrogate.
WEIRD_IDS = ["training", "meta", "_modules", "_parameters", "shape_env", "forward", "eval",
             "self", "class", "None", "input", "1abc", "a-b", "a_b", "a.b", " ", "_", "__init__",
             "__x", "torch", "fx", "getattr", "graph", "code", "_code", "T" * 200, "\U0001f9e0",
             "\u05d0\u05d1\u200f", "\u202eabc", "a\x00b", "a\nb", "\u00e9", "e\u0301",
             "\uff38", "X", "\ufb01", "fi", "\u00df", "\u0130", "\ud800", "x\udc00", "0"]


# ---- parameter values --------------------------------------------------------------------


def _one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws. The rare value sits mid-list: Hypothesis favours the
    ends of a range, and `integers(0, n - 1) == 0` comes up far more often than 1 in n."""
    return draw(st.sampled_from([False] * (n // 2) + [True] + [False] * (n - 1 - n // 2)))



def _small_valid(name: str, schema: dict[str, Any], decl: Any) -> st.SearchStrategy[Any]:
    kind = schema["kind"]
    if kind == "int":
        if schema["min"] is not None and schema["min"] < 0:  # a dimension: -1 is the last
            return st.integers(max(schema["min"], -3), min(schema["max"] or 3, 3))
        lo = schema["min"] if schema["min"] is not None else -4
        cap = SMALL.get(name, 8)
        hi = cap if schema["max"] is None else min(schema["max"], max(cap, lo))
        return st.integers(lo, max(lo, hi))
    if kind == "float":
        lo = schema["min"] if schema["min"] is not None else -2.0
        hi = schema["max"] if schema["max"] is not None else lo + 2.0
        return st.floats(lo, hi, exclude_min=decl.min_open, exclude_max=decl.max_open,
                         allow_nan=False)
    if kind == "bool":
        return st.booleans()
    if kind == "choice":
        return st.sampled_from(schema["choices"])
    if kind == "ints":
        lo, n = schema["min"], schema["n"]
        one = st.integers(lo, lo + 3)
        options = [one, st.lists(one, min_size=n, max_size=n)]
        if schema["words"]:
            options.append(st.sampled_from(schema["words"]))
        return st.one_of(options)
    if kind == "shape":
        return input_shapes()
    if kind == "dims":
        low = -3 if schema["negative"] else 0
        many = st.lists(st.integers(low, 3), min_size=1, max_size=4, unique=True)
        return st.one_of(st.integers(low, 3), many) if schema["single"] else many
    if kind == "reshape_shape":
        return st.lists(st.sampled_from([-1, 1, 2, 3, 4, 6, 8]), min_size=1, max_size=4
                        ).filter(lambda v: v.count(-1) <= 1)
    return st.just(schema["default"])  # pragma: no cover - text/json belong to Code only


def _edge_valid(schema: dict[str, Any]) -> list[Any]:
    """Valid but extreme: the ends of the range, and huge values where there is no end."""
    kind = schema["kind"]
    if kind == "int":
        lo = schema["min"] if schema["min"] is not None else -(10**6)
        return [lo, schema["max"] if schema["max"] is not None else 10**30]
    if kind == "float":
        return [v for v in (schema["min"], schema["max"], 1e308, 5e-324) if v is not None]
    if kind == "ints":
        top = schema["max"] if schema["max"] is not None else 10**6
        return [schema["min"], top, [top] * schema["n"], 2**63 - 1]
    if kind == "shape":
        return [[1 << 24], [1 << 24] * 5, [64] * 5, [1] * 5]
    return [schema["default"]]


def _invalid(schema: dict[str, Any]) -> list[Any]:
    """Out of range or of the wrong type, as a hand-edited file or a script might give."""
    kind, lo, hi = schema["kind"], schema.get("min"), schema.get("max")
    common: list[Any] = [None, "3", [1], {}, True, 10**400, math.nan]
    if kind == "int":
        return common + [v for v in (lo and lo - 1, hi and hi + 1) if v] + [
            1.5, float(lo or 0), 2**63, -(10**30)]
    if kind == "float":
        return common + [math.inf, -math.inf, -1e308, "0.1", [0.1],
                         (lo - 1) if lo is not None else -1.0,
                         (hi + 1) if hi is not None else math.inf]
    if kind == "bool":
        return common + [0, 1, "true"]
    if kind == "choice":
        first = schema["choices"][0]
        return common + ["bogus", "", 1, first.upper(), f" {first}"]
    if kind == "ints":
        n, lo = schema["n"], schema["min"]
        over = [schema["max"] + 1] if schema["max"] is not None else []
        return common + over + [lo - 1, [lo] * (n + 1), [lo] * (n - 1), ["a"] * n, "same",
                                "full", 1.5, [True] * n, [lo - 1] * n, [[1]] * n, -(10**30)]
    if kind == "shape":
        return common + [[], [0], [-1], [1] * 6, [1 << 25], "28", [1.5], [[1]], [2**63],
                         [10**400]]
    return common


# Hypothesis favours the ends of a list, so the common choice sits at both ends.
_MODES = ["omit"] * 4 + ["small"] * 9 + ["edge"] + ["omit"] * 4
_WILD_MODES = ["omit"] * 2 + ["small"] * 2 + ["edge"] * 2 + ["bad"] * 3 + ["small", "omit"]
_UNKNOWN_PARAMS = [("kernal_size", 3), ("", 1), ("\U0001f642", None), ("x" * 300, 1),
                   ("in_channels", 3), ("\ud800", 2)]


@st.composite
def block_params(draw: st.DrawFn, type_name: str, wild: bool = False) -> dict[str, Any]:
    """Parameters for one node: mostly omitted or small and valid, sometimes extreme or
    wrong; `wild` makes the wrong ones more frequent."""
    block = BLOCKS.get(type_name)
    out: dict[str, Any] = {}
    for name, decl in (block.params.items() if block else ()):
        schema = decl.schema()
        mode = draw(st.sampled_from(_WILD_MODES if wild else _MODES))
        if mode == "small":
            out[name] = draw(_small_valid(name, schema, decl))
        elif mode == "edge":
            out[name] = draw(st.sampled_from(_edge_valid(schema)))
        elif mode == "bad":
            out[name] = draw(st.sampled_from(_invalid(schema)))
    if wild and _one_in(draw, 10):
        key, value = draw(st.sampled_from(_UNKNOWN_PARAMS))
        out[key] = value
    return out


@st.composite
def one_bad_param(draw: st.DrawFn, type_name: str) -> tuple[str, Any]:
    """A parameter name and a value that is out of range, of the wrong type, or unknown."""
    block = BLOCKS[type_name]
    if not block.params or _one_in(draw, 5):
        return draw(st.sampled_from(_UNKNOWN_PARAMS))
    name = draw(st.sampled_from(sorted(block.params)))
    return name, draw(st.sampled_from(_invalid(block.params[name].schema())))


def input_shapes() -> st.SearchStrategy[list[int]]:
    """A sample shape of 1 to 4 dimensions: mostly small, sometimes up to 64 per side."""
    size = st.one_of(st.integers(1, 8), st.integers(1, 16), st.integers(1, 64))
    return st.lists(size, min_size=1, max_size=4)


# ---- graphs --------------------------------------------------------------------------------


def _fits(block: Block, rank: int, dtype: str) -> bool:
    """Whether a tensor of this sample rank and dtype fits the block's first port."""
    port = block.inputs[0]
    if (port.dtype == "float" and dtype == "int64") or (port.dtype == "int" and dtype != "int64"):
        return False
    return port.ranks is None or rank + 1 in port.ranks


def _out_rank(type_name: str, params: dict[str, Any], rank: int, dtype: str) -> tuple[int, str]:
    """Roughly the sample rank and dtype a block gives; wrong guesses only make shape errors."""
    if type_name == "Embedding":
        return rank + 1, "float32"
    if type_name == "SequencePool":
        return rank - 1, dtype
    if type_name == "Flatten":
        start, end = params.get("start_dim", 1), params.get("end_dim", -1)
        if isinstance(start, int) and isinstance(end, int) and -8 <= end <= 8 and start < 9:
            end = end + rank + 1 if end < 0 else end
            return max(1, rank - max(0, end - start)), dtype
    return rank, dtype


class _Builder:
    def __init__(self, draw: st.DrawFn, weird_ids: bool) -> None:
        self.draw = draw
        self.weird = weird_ids
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def new_id(self, type_name: str) -> str:
        taken = {n["id"] for n in self.nodes}
        if self.weird and _one_in(self.draw, 10):
            candidate = self.draw(st.sampled_from(WEIRD_IDS))
            if candidate not in taken:
                return candidate
        base = type_name.lower()[:12] or "node"
        n = len(self.nodes)
        while f"{base}{n}" in taken:
            n += 1
        return f"{base}{n}"

    def node(self, type_name: str, params: dict[str, Any]) -> str:
        node_id = self.new_id(type_name)
        self.nodes.append({"id": node_id, "type": type_name, "params": params})
        return node_id

    def wire(self, src: str, dst: str, port: str | None = None) -> None:
        edge = {"from": src, "to": dst}
        if port is not None:
            edge["to_port"] = port
        self.edges.append(edge)


def _input(b: _Builder, wild: bool) -> tuple[str, int, str]:
    dtype = b.draw(st.sampled_from(["float32"] * 3 + ["int64"]))
    shape = b.draw(input_shapes())
    params: dict[str, Any] = {"shape": shape, "dtype": dtype}
    if wild or _one_in(b.draw, 20):
        params = b.draw(block_params("Input", wild=True))
    return b.node("Input", params), len(shape), dtype


def _unary(b: _Builder, tensor: tuple[str, int, str], keep_shape: bool = False
           ) -> tuple[str, int, str]:
    src, rank, dtype = tensor
    types = KEEPS_SHAPE if keep_shape else [n for n in BODY_TYPES if n not in MERGES]
    fitting = [n for n in types if _fits(BLOCKS[n], rank, dtype)] or BODY_TYPES
    type_name = b.draw(st.sampled_from(fitting))
    params = b.draw(block_params(type_name))
    node_id = b.node(type_name, params)
    b.wire(src, node_id)
    return (node_id, *_out_rank(type_name, params, rank, dtype))


def _merge(b: _Builder, left: tuple[str, int, str], right: tuple[str, int, str]
           ) -> tuple[str, int, str]:
    options = ["Add", "Concat"]
    if left[1] == right[1] == 2 and left[2] == right[2] == "float32":
        options.append("MultiheadAttention")
    type_name = b.draw(st.sampled_from(options))
    node_id = b.node(type_name, b.draw(block_params(type_name)))
    if type_name == "MultiheadAttention":
        b.wire(left[0], node_id, "query")
        b.wire(right[0], node_id, b.draw(st.sampled_from(["key", "value", None])))
    else:
        b.wire(left[0], node_id)
        b.wire(right[0], node_id)
    return (node_id, *left[1:])


@st.composite
def plausible_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """A chain with residual branches that mostly fits each port, plus a few bad wires."""
    b = _Builder(draw, weird_ids=True)
    current = _input(b, wild=False)
    spare = _input(b, wild=False) if _one_in(draw, 5) else None
    for _ in range(draw(st.integers(1, 7))):
        action = draw(st.sampled_from(["unary"] * 5 + ["branch"] * 2 + ["spare"]))
        if action == "spare" and spare is not None:
            current, spare = _merge(b, current, spare), None
        elif action == "branch":
            keep = draw(st.booleans())
            side = _unary(b, current, keep)
            if draw(st.booleans()):
                side = _unary(b, side, keep)
            current = _merge(b, current, side)
        else:
            current = _unary(b, current)
    if _one_in(draw, 5):
        node = draw(st.sampled_from(b.nodes))
        key, value = draw(one_bad_param(node["type"]))
        node["params"][key] = value
    for _ in range(draw(st.sampled_from([0] * 8 + [1, 2]))):
        _mutate(b, draw)
    return {"nodes": b.nodes, "edges": b.edges}


def _mutate(b: _Builder, draw: st.DrawFn) -> None:
    """One wiring mistake: an extra output, a loop, a self loop, a dropped wire, a wrong port
    name, a wire into an Input, a wire twice, or a wire to a node that does not exist."""
    ids = [n["id"] for n in b.nodes]
    kind = draw(st.sampled_from(["extra", "cycle", "self", "drop", "port", "into_input",
                                 "twice", "missing"]))
    pick = st.sampled_from(ids)
    if kind == "extra":
        b.wire(draw(pick), b.node("ReLU", {}))
    elif kind == "cycle" and len(ids) > 1:
        b.wire(ids[-1], draw(st.sampled_from(ids[1:])))
    elif kind == "self":
        node = draw(pick)
        b.wire(node, node)
    elif kind == "drop" and b.edges:
        b.edges.pop(draw(st.integers(0, len(b.edges) - 1)))
    elif kind == "port" and b.edges:
        edge = b.edges[draw(st.integers(0, len(b.edges) - 1))]
        edge["to_port"] = draw(st.one_of(st.sampled_from(ALL_PORTS + ["", "IN", "\ud800"]),
                                         st.text(max_size=8)))
    elif kind == "into_input":
        b.wire(draw(pick), ids[0])
    elif kind == "twice" and b.edges:
        b.edges.append(dict(draw(st.sampled_from(b.edges))))
    elif kind == "missing":
        b.wire(draw(pick), "no_such_node")


@st.composite
def random_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """Any types (unknown ones too), any parameters, any wires between them."""
    b = _Builder(draw, weird_ids=True)
    types = st.one_of(st.sampled_from(BODY_TYPES + ["Input"] * 3),
                      st.sampled_from(UNKNOWN_TYPES))
    for _ in range(draw(st.integers(0, 8))):
        type_name = draw(types)
        if type_name == "Input" and draw(st.booleans()):
            _input(b, wild=False)
        else:
            b.node(type_name, draw(block_params(type_name, wild=True)))
    if b.nodes:
        index = st.integers(0, len(b.nodes) - 1)
        for _ in range(draw(st.integers(0, 10))):
            src, dst = b.nodes[draw(index)], b.nodes[draw(index)]
            block = BLOCKS.get(dst["type"])
            own = [p.name for p in block.inputs] if block else []
            port = draw(st.one_of(st.none(), st.sampled_from(own or ["in"]),
                                  st.sampled_from(ALL_PORTS), st.text(max_size=6)))
            b.wire(src["id"], dst["id"], port)
    return {"nodes": b.nodes, "edges": b.edges}


@st.composite
def graph_specs(draw: st.DrawFn) -> dict[str, Any]:
    """About three plausible graphs to one random one."""
    if draw(st.sampled_from(["plausible"] * 3 + ["random"] + ["plausible"] * 3)) == "random":
        return draw(random_graphs())
    return draw(plausible_graphs())
