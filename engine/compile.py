"""Compile a graph into a `torch.fx.GraphModule`: real generated Python, no interpreter.

One placeholder per Input block, one ``call_module`` per block (named after the node id so
`state_dict` keys survive edits), one output; the fx graph is linted before it is wrapped.
"""

from __future__ import annotations

import builtins
import keyword
import re
from typing import Iterable

import torch
from torch import fx, nn

from .errors import CompileError
from .graph import Graph
from .shapes import Analysis, infer

_RESERVED = set(dir(fx.GraphModule)) | set(keyword.kwlist) | set(dir(builtins)) | {"self"}


def module_names(node_ids: Iterable[str]) -> dict[str, str]:
    """A legal, stable Python identifier per node id.

    Usually the id itself (``conv1``). Ids that are not identifiers, or that would shadow a
    module attribute (``eval``, ``forward``), are adjusted; clashes are settled in sorted id
    order so the same ids always get the same names.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node_id in sorted(node_ids):
        base = re.sub(r"\W", "_", node_id)
        if not base.isidentifier():
            base = "_" + base
        if not base.isidentifier():  # pragma: no cover - \W-cleaned text plus "_" is legal
            base = "node"
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
        modules[node_id] = block.build(params, [s.shape for s in info.input_specs])
    return modules


def compile_graph(graph: Graph, analysis: Analysis | None = None, *, seed: int | None = None,
                  device: str | torch.device | None = None,
                  class_name: str = "TorchloomModel") -> fx.GraphModule:
    """Turn a valid graph into a trainable module.

    Args:
        graph: the graph to compile.
        analysis: a fresh `shapes.infer(graph)`, if the caller already has one.
        seed: seeds weight initialisation (without touching the global RNG state).
        device: where the parameters live.
        class_name: the generated class's name, shown in `gm.code` and exports.

    Raises:
        CompileError: the graph has errors; they are all attached.
    """
    analysis = analysis or infer(graph)
    if not analysis.ok or analysis.output is None:
        raise CompileError(analysis.errors)
    names = module_names(n.id for n in graph.nodes)
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        modules = build_modules(graph, analysis)
    root = nn.Module()
    fx_graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    used = nx_ancestors_and_self(graph, analysis.output)
    for node_id in graph.input_ids():
        if node_id in used:
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
        args = tuple(values[e.src] for port in block.inputs for e in ports.get(port.name, []))
        values[node_id] = fx_graph.call_module(name, args)
    fx_graph.output(values[analysis.output])
    fx_graph.lint()
    gm = fx.GraphModule(root, fx_graph, class_name=class_name)
    if device is not None:
        gm.to(device)
    return gm


def nx_ancestors_and_self(graph: Graph, node_id: str) -> set[str]:
    """The nodes the output depends on; blocks wired to nothing are left out."""
    seen, stack = {node_id}, [node_id]
    while stack:
        for src in graph.predecessors(stack.pop()):
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen
