"""Edits as data: plan a change as a list of `Op`s, apply each and get its inverse back.

Every edit the GUI makes (add, delete, wire, a parameter, a move, paste, a fix, a layout) is
planned here as primitive operations on the `Graph`. `apply` performs one and returns the
operation that undoes it, so the GUI's undo command is a thin wrapper: redo applies the
ops in order and keeps the inverses, undo applies those in reverse. All of it is plain
Python and testable without Qt.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .block_training import NODE_TRAINING, check_node_training
from .errors import Fix, GraphError
from .blocks import is_single
from .graph import Edge, Graph, Node, block_for
from .layout import Measure, auto_layout
from .project import edge_to_dict, node_to_dict

FRAGMENT_FORMAT = "torchloom-fragment"


@dataclass(frozen=True)
class Op:
    """One primitive edit. `kind` is one of: add_node, remove_node, restore_node, connect,
    disconnect, set_param, unset_param, set_training (a node's `trainable` or `lr_scale`,
    `name` the key), move, rename (`node_id` becomes `name`; planned by
    `engine.rename.plan_rename`) and unrename (its undo)."""

    kind: str
    node: Node | None = None
    edge: Edge | None = None
    node_id: str | None = None
    name: str | None = None
    value: Any = None
    index: int | None = None
    edges: tuple[tuple[int, Edge], ...] = field(default=())


def apply(graph: Graph, op: Op) -> Op:
    """Perform `op` and return its inverse."""
    if op.kind == "add_node":
        assert op.node is not None
        graph.insert_node(op.node)
        return Op("remove_node", node_id=op.node.id)
    if op.kind == "remove_node":
        index = graph.node_index(op.node_id)  # type: ignore[arg-type]
        node, edges = graph.remove_node(op.node_id)  # type: ignore[arg-type]
        return Op("restore_node", node=node, edges=tuple(edges), index=index)
    if op.kind == "restore_node":
        assert op.node is not None
        graph.restore_node(op.node, op.edges, op.index)
        return Op("remove_node", node_id=op.node.id)
    if op.kind == "connect":
        assert op.edge is not None
        graph.insert_edge(op.edge, op.index)
        return Op("disconnect", edge=op.edge)
    if op.kind == "disconnect":
        assert op.edge is not None
        index = graph.disconnect(op.edge)
        return Op("connect", edge=op.edge, index=index)
    if op.kind in ("set_param", "unset_param"):
        node = graph.node(op.node_id)  # type: ignore[arg-type]
        had, old = op.name in node.params, node.params.get(op.name)  # type: ignore[operator]
        if op.kind == "set_param":
            graph.set_param(op.node_id, op.name, op.value)  # type: ignore[arg-type]
        else:
            graph.unset_param(op.node_id, op.name)  # type: ignore[arg-type]
        if had:
            return Op("set_param", node_id=op.node_id, name=op.name, value=copy.deepcopy(old))
        return Op("unset_param", node_id=op.node_id, name=op.name)
    if op.kind == "set_training":
        old = graph.set_training(op.node_id, op.name, op.value)  # type: ignore[arg-type]
        return Op("set_training", node_id=op.node_id, name=op.name, value=old)
    if op.kind in ("rename", "unrename"):
        old, new = op.node_id, op.name
        assert old is not None and new is not None
        graph.rename_node(old, new)
        if graph.units is not None:  # a unit's ports and promoted targets name inner nodes
            graph.units.rename_inner(graph, old, new)
        if op.kind == "rename":  # the log the project file keeps (see engine.rename)
            graph.renamed.append((old, new))
            return Op("unrename", node_id=new, name=old)
        if graph.renamed and graph.renamed[-1] == (new, old):
            graph.renamed.pop()
        return Op("rename", node_id=new, name=old)
    if op.kind == "move":
        node = graph.node(op.node_id)  # type: ignore[arg-type]
        old = node.pos
        graph.move(op.node_id, op.value)  # type: ignore[arg-type]
        return Op("move", node_id=op.node_id, value=old)
    raise ValueError(f"unknown edit {op.kind!r}")


def apply_all(graph: Graph, ops: Iterable[Op]) -> list[Op]:
    """Apply ops in order; returns the inverses in the order they must be applied to undo.
    If one fails, the ones already applied are undone before the error propagates."""
    inverses: list[Op] = []
    try:
        for op in ops:
            inverses.append(apply(graph, op))
    except Exception:
        for inverse in reversed(inverses):
            apply(graph, inverse)
        raise
    return list(reversed(inverses))


# ---- planning ----------------------------------------------------------------------------


def plan_add(graph: Graph, type_name: str, pos: tuple[float, float] | None = None,
             params: dict[str, Any] | None = None, node_id: str | None = None) -> list[Op]:
    """Add a block; its type and parameters are checked now, so a refused add costs nothing."""
    probe = Graph()
    probe.units = graph.units  # so a unit:<Name> node can be added
    node = probe.add_node(type_name, params, node_id or graph.new_id(type_name), pos)
    if node.id in graph:
        raise GraphError(f"there is already a node '{node.id}'", node=node.id)
    return [Op("add_node", node=Node(node.id, node.type, dict(node.params), node.pos))]


def plan_add_after(graph: Graph, type_name: str, after: str,
                   pos: tuple[float, float] | None = None, params: dict[str, Any] | None = None,
                   node_id: str | None = None) -> list[Op]:
    """Add a block fed by `after`: the new block's first input takes `after`'s output, in
    one edit (Tab or a palette double-click with one block selected, so a chain can be
    typed). A block without inputs (an Input) is only added."""
    graph.node(after)  # a missing node raises the engine's error before anything is planned
    ops = plan_add(graph, type_name, pos, params, node_id)
    node = ops[0].node
    assert node is not None
    block = block_for(node.type, graph.units)
    if block is None or not block.inputs:
        return ops
    port = None if len(block.inputs) == 1 else block.inputs[0].name
    edge = Edge(after, node.id, port, from_port=free_output(graph, after))
    return ops + [Op("connect", edge=edge)]


def free_output(graph: Graph, node_id: str) -> str | None:
    """The output a new wire from `node_id` takes when no port was picked: None for a
    block's one output; for a block with several, the first not wired yet (else the first).
    Its ports are read from its parameters, so a Split by size not yet wired offers out0."""
    node = graph.node(node_id)
    block = node.block
    if block is None:
        return None
    ports = block.output_ports(node.resolved_params())
    if is_single(ports):
        return None
    wired = {e.from_port for e in graph.out_edges(node_id)}
    return next((p.name for p in ports if p.name not in wired), ports[0].name)


def plan_connect(graph: Graph, src: str, dst: str, port: str | None = None,
                 from_port: str | None = None) -> list[Op]:
    """Wire src's output `from_port` into dst (the first free input when `port` is None);
    raises the engine's typed error when the wire is refused (a loop, a taken input)."""
    resolved = graph.check_connect(src, dst, port)
    block = graph.node(dst).block
    single = block is not None and len(block.inputs) == 1
    if from_port is None:
        from_port = free_output(graph, src)
    return [Op("connect", edge=Edge(src, dst, None if single else resolved,
                                    from_port=from_port))]


def plan_delete(graph: Graph, node_ids: Iterable[str], edges: Iterable[Edge] = ()) -> list[Op]:
    ids = [n for n in dict.fromkeys(node_ids) if n in graph]
    ops = [Op("disconnect", edge=e) for e in edges
           if e.src not in ids and e.dst not in ids and e in graph.edges]
    return ops + [Op("remove_node", node_id=n) for n in ids]


def plan_set_param(graph: Graph, node_id: str, name: str, value: Any) -> list[Op]:
    """Set (or, with None for a non-optional parameter, reset) one parameter; checked now."""
    node = graph.node(node_id)
    block = node.block
    decl = block.params.get(name) if block else None
    if value is None and decl is not None and not decl.optional:
        return [Op("unset_param", node_id=node_id, name=name)]
    probe = Graph()
    probe.units = graph.units  # a unit node's parameters come from its unit
    probe.insert_node(Node(node_id, node.type, {}))
    probe.set_param(node_id, name, value)  # raises ParamError with the reason
    return [Op("set_param", node_id=node_id, name=name, value=copy.deepcopy(value))]


def plan_set_training(graph: Graph, node_id: str, key: str, value: Any) -> list[Op]:
    """Freeze or unfreeze a block, or set its learning-rate scale; checked now, so a refused
    value costs nothing (`ParamError` naming the setting)."""
    probe = Graph()
    node = graph.node(node_id)
    probe.insert_node(Node(node_id, node.type, {}))
    probe.set_training(node_id, key, value)
    return [Op("set_training", node_id=node_id, name=key, value=value)]


def plan_moves(positions: dict[str, tuple[float, float]]) -> list[Op]:
    return [Op("move", node_id=n, value=(float(p[0]), float(p[1]))) for n, p in positions.items()]


def plan_layout(graph: Graph, measure: Measure | None = None) -> list[Op]:
    return plan_moves(auto_layout(graph, measure))


def _between(a: Node, b: Node) -> tuple[float, float] | None:
    if a.pos is None or b.pos is None:
        return a.pos or b.pos
    return ((a.pos[0] + b.pos[0]) / 2, (a.pos[1] + b.pos[1]) / 2 + 60)


def plan_fix(graph: Graph, fix: Fix) -> list[Op]:
    """The edits that carry out an engine-suggested repair (see `errors.Fix`)."""
    target = graph.node(fix.node)
    if fix.action == "set_param":
        return plan_set_param(graph, fix.node, fix.param or "", fix.value)
    if fix.action == "insert":
        feeding = graph.inputs_of(fix.node).get(fix.port or "", [])
        if not feeding:
            raise GraphError(f"nothing feeds {fix.node}'s input to insert before",
                             node=fix.node)
        edge = feeding[0]
        index = graph.edges.index(edge)
        src = graph.node(edge.src)
        new_id = graph.new_id(fix.block or "")
        ops = [Op("disconnect", edge=edge)]
        ops += plan_add(graph, fix.block or "", _between(src, target), node_id=new_id)
        ops.append(Op("connect", edge=Edge(edge.src, new_id, from_port=edge.from_port),
                      index=index))
        ops.append(Op("connect", edge=Edge(new_id, fix.node, edge.port), index=index + 1))
        return ops
    if fix.action == "append":
        new_id = graph.new_id(fix.block or "")
        pos = (target.pos[0] + 200, target.pos[1]) if target.pos else None
        ops = plan_add(graph, fix.block or "", pos, node_id=new_id)
        for edge in graph.out_edges(fix.node):
            index = graph.edges.index(edge)
            ops += [Op("disconnect", edge=edge),
                    Op("connect", edge=Edge(new_id, edge.dst, edge.port), index=index)]
        ops.append(Op("connect", edge=Edge(fix.node, new_id)))
        return ops
    if fix.action == "remove":
        feeding = graph.in_edges(fix.node)
        ops = []
        if len(feeding) == 1:
            src, src_port = feeding[0].src, feeding[0].from_port
            for edge in graph.out_edges(fix.node):
                index = graph.edges.index(edge)
                ops += [Op("disconnect", edge=edge),
                        Op("connect", edge=Edge(src, edge.dst, edge.port, from_port=src_port),
                           index=index)]
        return ops + [Op("remove_node", node_id=fix.node)]
    if fix.action == "rewire":
        return _plan_rewire(graph, fix)
    raise GraphError(f"unknown fix '{fix.action}'", node=fix.node)


def _plan_rewire(graph: Graph, fix: Fix) -> list[Op]:
    """The wire `fix` names, in its place among the edges, carrying `fix.value` instead."""
    for index, edge in enumerate(graph.edges):
        if (edge.dst == fix.node and edge.src == fix.source and edge.from_port == fix.from_port
                and graph.port_of(edge) == fix.port):
            moved = Edge(edge.src, edge.dst, edge.port, dict(edge.extra), from_port=fix.value)
            return [Op("disconnect", edge=edge), Op("connect", edge=moved, index=index)]
    raise GraphError(f"the wire from {fix.source} into {fix.node} that the fix names is gone",
                     node=fix.node)


# ---- copy and paste ----------------------------------------------------------------------


def copy_fragment(graph: Graph, node_ids: Iterable[str]) -> dict[str, Any]:
    """The selected nodes and the edges between them, in project-file form."""
    ids = [n for n in dict.fromkeys(node_ids) if n in graph]
    chosen = set(ids)
    return {"format": FRAGMENT_FORMAT,
            "nodes": [node_to_dict(graph.node(n)) for n in ids],
            "edges": [edge_to_dict(e) for e in graph.edges if e.src in chosen and e.dst in chosen]}


def _fresh_id(graph: Graph, base: str, taken: set[str]) -> str:
    stem = re.sub(r"_\d+$", "", base) or "node"
    if base not in graph and base not in taken:
        return base
    n = 2
    while f"{stem}_{n}" in graph or f"{stem}_{n}" in taken:
        n += 1
    return f"{stem}_{n}"


def plan_paste(graph: Graph, fragment: Any, offset: tuple[float, float] = (40.0, 40.0)
               ) -> tuple[list[Op], dict[str, str]]:
    """Ops that add a copied fragment with new ids, shifted by `offset`, keeping the edges
    inside it. Returns the ops and the old-id -> new-id mapping. Malformed clipboard content
    raises `GraphError`."""
    if not isinstance(fragment, dict) or fragment.get("format") != FRAGMENT_FORMAT:
        raise GraphError("the clipboard holds no Torchloom blocks")
    mapping: dict[str, str] = {}
    ops: list[Op] = []
    taken: set[str] = set()
    try:
        for raw in fragment["nodes"]:
            old = str(raw["id"])
            new = _fresh_id(graph, old, taken)
            taken.add(new)
            mapping[old] = new
            pos = raw.get("pos")
            if pos is not None:
                pos = (float(pos[0]) + offset[0], float(pos[1]) + offset[1])
            if block_for(str(raw["type"]), graph.units) is None:
                raise GraphError(f"unknown block type '{raw['type']}' in the clipboard")
            training = {k: check_node_training(k, raw[k]) for k in NODE_TRAINING if k in raw}
            ops.append(Op("add_node", node=Node(new, str(raw["type"]),
                                                dict(raw.get("params", {})), pos,
                                                **training)))
        for raw in fragment["edges"]:
            if not isinstance(raw.get("from_port"), (str, type(None))):
                raise TypeError("from_port is not a port name")
            ops.append(Op("connect", edge=Edge(mapping[raw["from"]], mapping[raw["to"]],
                                               raw.get("to_port"),
                                               from_port=raw.get("from_port"))))
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # ParamValueError too
        raise GraphError(f"the clipboard content is damaged ({exc})") from None
    return ops, mapping
