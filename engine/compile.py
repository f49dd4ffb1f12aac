"""Compile a graph into a `torch.fx.GraphModule`: real generated Python, no interpreter.

One placeholder per Input block, one ``call_module`` per block (named after the node id so
`state_dict` keys survive edits), one output; the fx graph is linted before it is wrapped.
A block with several outputs (Split) returns a tuple; a wire from its port i reads
``getitem(x, i)``, which fx writes as ``x[i]``.
"""

from __future__ import annotations

import builtins
import keyword
import math
import operator
import os
import re
import unicodedata
from typing import Iterable

import torch
from torch import fx, nn

from .errors import CompileError, GraphError
from .graph import Edge, Graph
from .shapes import Analysis, infer


def _attribute_names() -> set[str]:
    """Names a submodule cannot take: the class's attributes and the ones `__init__` sets
    (``training``, ``meta``, ``_modules``...), which `add_module` refuses or shadows."""
    return set(dir(fx.GraphModule)) | set(vars(fx.GraphModule(nn.Module(), fx.Graph())))


_RESERVED = _attribute_names() | set(keyword.kwlist) | set(dir(builtins)) | {"self"}


def module_names(node_ids: Iterable[str]) -> dict[str, str]:
    """A legal, stable Python identifier per node id.

    Usually the id itself (``conv1``). Ids that are not identifiers, or that would shadow a
    module attribute (``eval``, ``forward``), are adjusted; clashes are settled in sorted id
    order so the same ids always get the same names.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node_id in sorted(node_ids):
        # Python reads identifiers in NFKC form (a fullwidth "Ｘ" is "X" in `self.Ｘ`), so
        # the attribute is registered under the name the generated code will look up.
        base = re.sub(r"\W", "_", unicodedata.normalize("NFKC", node_id))
        if not base.isidentifier():
            base = "_" + base
        if not base.isidentifier():  # pragma: no cover - \W-cleaned text plus "_" is legal
            base = "node"
        if base.startswith("__"):  # `self.__x` in a class body is name-mangled to _Model__x
            base = "n" + base
        while base in _RESERVED:
            base += "_"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[node_id] = name
    return names


def build_modules(graph: Graph, analysis: Analysis) -> dict[str, nn.Module]:
    """Freshly initialised modules for every non-input node on the model's path."""
    modules: dict[str, nn.Module] = {}
    for node_id in analysis.order:
        node = graph.node(node_id)
        block = node.block
        info = analysis.nodes[node_id]
        if block is None or block.is_input or info.spec is None:
            continue
        params = node.build_params(graph.base_dir)
        # A unit needs dtypes too (token ids stay int64 inside it); blocks take shapes.
        inputs = (list(info.input_specs) if getattr(block, "is_unit", False)
                  else [s.shape for s in info.input_specs])
        modules[node_id] = block.build(params, inputs)
    return modules


def compile_graph(graph: Graph, analysis: Analysis | None = None, *, seed: int | None = None,
                  device: str | torch.device | None = None,
                  class_name: str = "TorchloomModel", keep_rng: bool = True) -> fx.GraphModule:
    """Turn a valid graph into a trainable module.

    Args:
        graph: the graph to compile.
        analysis: a fresh `shapes.infer(graph)`, if the caller already has one.
        seed: seeds weight initialisation (without touching the global RNG state).
        device: where the parameters live.
        class_name: the generated class's name, shown in `gm.code` and exports.
        keep_rng: restore the global RNG state after initialising. A unit's copies are
            compiled with False, inside their model's compile, so each copy draws its own
            initial weights from the model's seeded stream.

    Raises:
        CompileError: the graph has errors (they are all attached), or its weights and
            one sample would not fit in this computer's memory.
    """
    analysis = analysis or infer(graph)
    if not analysis.ok or analysis.output is None:
        raise CompileError(analysis.errors)
    too_big = beyond_memory(graph, analysis)
    if too_big is not None:
        raise CompileError([too_big])
    names = module_names(n.id for n in graph.nodes)
    with torch.random.fork_rng(devices=[], enabled=keep_rng):
        if seed is not None:
            torch.manual_seed(seed)
        modules = build_modules(graph, analysis)
    root = nn.Module()
    fx_graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    pieces: dict[tuple[str, str], fx.Node] = {}  # one getitem per output port read
    used = _used(graph, analysis)
    for node_id in input_order(graph, analysis):
        values[node_id] = fx_graph.placeholder(names[node_id])
    for node_id in analysis.order:
        if node_id not in modules or node_id not in used:
            continue
        name = names[node_id]
        root.add_module(name, modules[node_id])
        node = graph.node(node_id)
        block = node.block
        assert block is not None
        ports = graph.inputs_of(node_id)
        args = tuple(_carried(fx_graph, values, pieces, analysis, e)
                     for port in block.inputs for e in ports.get(port.name, []))
        if block.contiguous_input:
            args = tuple(fx_graph.call_method("contiguous", (a,)) for a in args)
        values[node_id] = fx_graph.call_module(name, args)
    ends = analysis.outputs or (analysis.output,)
    if len(ends) > 1:  # several heads: a tuple, in heads order
        fx_graph.output(tuple(values[end] for end in ends))
    else:
        fx_graph.output(values[analysis.output])
    fx_graph.lint()
    gm = fx.GraphModule(root, fx_graph, class_name=class_name)
    if device is not None:
        gm.to(device)
    return gm


def input_order(graph: Graph, analysis: Analysis) -> list[str]:
    """The Input nodes the output depends on, in the order the compiled module's forward
    takes them (one placeholder each): the data of a model with several Inputs is held and
    passed in this order."""
    if analysis.output is None:
        return []
    if analysis.ok:  # no loose output: every Input wired to something reaches one
        return [i for i in analysis.inputs if graph.out_edges(i)]
    used = _used(graph, analysis)
    return [node_id for node_id in graph.input_ids() if node_id in used]


def _used(graph: Graph, analysis: Analysis) -> set[str]:
    """The nodes some output (every head's, for several) depends on."""
    used: set[str] = set()
    for end in analysis.outputs or (analysis.output,):
        used |= nx_ancestors_and_self(graph, end)  # type: ignore[arg-type]
    return used


def _carried(fx_graph: fx.Graph, values: dict[str, fx.Node],
             pieces: dict[tuple[str, str], fx.Node], analysis: Analysis, edge: Edge) -> fx.Node:
    """The fx value an edge carries: its source's output, or the one tensor of the tuple
    that its `from_port` names (the shape pass has checked the port exists)."""
    info = analysis.nodes[edge.src]
    if not info.multi_output:
        return values[edge.src]
    port = str(edge.from_port)
    key = (edge.src, port)
    if key not in pieces:
        index = list(info.outputs).index(port)
        pieces[key] = fx_graph.call_function(operator.getitem, (values[edge.src], index))
    return pieces[key]


def beyond_memory(graph: Graph, analysis: Analysis) -> GraphError | None:
    """An error on the biggest block when the weights plus one sample's outputs (float32)
    exceed the physical memory.

    Shapes are measured on meta tensors, so a graph with a trillion weights (or an
    AdaptiveAvgPool2d to 10**9 x 10**9) is valid on the canvas; building or running it would
    fail in torch's allocator with a message naming no block (or get the app killed), so it
    is refused here, where the block can be named.
    """
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX: nothing to compare with
        return None
    sizes = {node_id: 4 * (info.num_params + (math.prod(info.spec.shape) if info.spec else 0))
             for node_id, info in analysis.nodes.items()}
    total = sum(sizes.values())
    if total <= memory:
        return None
    biggest = max(sizes, key=lambda node_id: sizes[node_id])
    return GraphError(
        f"the model needs {total / 2**30:,.0f} GiB for its weights and one sample "
        f"({sizes[biggest] / 2**30:,.0f} GiB here) but this computer has "
        f"{memory / 2**30:,.0f} GiB of memory: make this block smaller", node=biggest,
        block_type=graph.node(biggest).type)


def nx_ancestors_and_self(graph: Graph, node_id: str) -> set[str]:
    """The nodes the output depends on; blocks wired to nothing are left out."""
    seen, stack = {node_id}, [node_id]
    while stack:
        for src in graph.predecessors(stack.pop()):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen
