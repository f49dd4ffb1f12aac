"""Group a selection into a unit, and ungroup a unit node back into its blocks.

Both are plain functions over a project's graph that edit it through the `Graph` API (so
the canvas sees the usual events) and return a result whose `undo()` restores the graph
exactly; the GUI wraps them in undo commands. Ids: group gives the unit node a fresh id
(``resblock_1`` for a unit ``ResBlock``) and keeps the selected ids inside the unit;
ungroup keeps each inner id where the outer graph does not use it, else writes
``<unit node id>_<inner id>``; copies of a repeated unit are always
``<unit node id>_<copy>_<inner id>``, copies counted from 0 like their weights
(``block1.0.conv1.weight`` becomes node ``block1_0_conv1``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..block_training import MAX_LR_SCALE
from ..graph import Edge, Graph, Node
from .errors import UnitError
from .model import NAME_RE, REPEAT, UnitDef, UnitPort, Units, unit_name, unit_type
from .ports import check_one_port_each, fed_spec

if TYPE_CHECKING:
    from ..project import Project
    from ..shapes import Analysis


@dataclass
class GroupResult:
    """What `group` did; `undo()` puts the selection back and drops the new unit."""

    graph: Graph
    units: Units
    unit: UnitDef
    node_id: str
    _removed: list[tuple[Node, list[tuple[int, Edge]], int]] = field(default_factory=list)

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)
        for node, edges, index in reversed(self._removed):
            self.graph.restore_node(node, edges, index)
        if self.units.get(self.unit.name) is self.unit:
            self.units.remove(self.unit.name)


@dataclass
class UngroupResult:
    """What `ungroup` did: the ids of the restored blocks; `undo()` brings the unit node back."""

    graph: Graph
    units: Units
    node_ids: list[str]
    _unit_node: tuple[Node, list[tuple[int, Edge]], int]
    _dropped: UnitDef | None = None

    def undo(self) -> None:
        for node_id in reversed(self.node_ids):
            self.graph.remove_node(node_id)
        node, edges, index = self._unit_node
        if self._dropped is not None:
            self.units.add(self._dropped)
        self.graph.restore_node(node, edges, index)


def _graph(project: "Project", graph: Graph | None) -> Graph:
    return graph if graph is not None else project.graph


def _outside_between(graph: Graph, selected: set[str]) -> list[str]:
    """Outside nodes fed by the selection that also feed it: grouping would make a loop."""
    down: set[str] = set()
    stack = [e.dst for n in selected for e in graph.out_edges(n) if e.dst not in selected]
    while stack:
        node_id = stack.pop()
        if node_id not in down:
            down.add(node_id)
            stack += [e.dst for e in graph.out_edges(node_id) if e.dst not in selected]
    return [n for n in down if any(e.dst in selected for e in graph.out_edges(n))]


@dataclass
class GroupPlan:
    """How a selection would become a unit (see `plan_group`)."""

    selected: list[str]
    sources: list[str]  # outside nodes feeding the selection, one unit input each, in order
    output: str  # the selected node whose output leaves the unit
    port_names: list[str]


def plan_group(graph: Graph, node_ids: Iterable[str]) -> GroupPlan:
    """Check a selection can be grouped and say how; raises `UnitError` saying why not.

    A unit has one output, so exactly one selected node may feed blocks outside the
    selection (or, for a selection that holds the model's end, be that end).
    """
    ids = list(dict.fromkeys(node_ids))
    if not ids:
        raise UnitError("select the blocks to group first")
    for node_id in ids:
        graph.node(node_id)
    selected = set(ids)
    order = [n.id for n in graph.nodes if n.id in selected]
    for node_id in order:
        block = graph.node(node_id).block
        if block is not None and block.is_input:
            raise UnitError("an Input cannot go into a unit: leave the Input out of the "
                            "selection", node=node_id, block_type="Input")
    between = _outside_between(graph, selected)
    if between:
        raise UnitError(f"{', '.join(sorted(between))} sits between selected blocks: select it "
                        "too, or fewer blocks", node=sorted(between)[0],
                        nodes=tuple(sorted(between)))
    sources = list(dict.fromkeys(e.src for e in graph.edges
                                 if e.dst in selected and e.src not in selected))
    if not sources:
        raise UnitError("nothing outside feeds the selection: a unit needs at least one input",
                        node=order[0], block_type=graph.node(order[0]).type)
    leaving = list(dict.fromkeys(e.src for e in graph.edges
                                 if e.src in selected and e.dst not in selected))
    check_one_port_each(graph, selected)
    ends = [n for n in order if not graph.out_edges(n)]
    outs = list(dict.fromkeys(leaving + ends))
    if len(outs) != 1:
        raise UnitError(f"a unit has one output, but {', '.join(outs) or 'no block'} "
                        f"{'feed' if len(outs) > 1 else 'feeds'} blocks outside the selection "
                        "(or end the model): select so that one block's output leaves it",
                        node=outs[0] if outs else order[0], nodes=tuple(outs))
    names = ["in"] if len(sources) == 1 else [f"in{i + 1}" for i in range(len(sources))]
    return GroupPlan(order, sources, outs[0], names)


def group(project: "Project", node_ids: Iterable[str], name: str | None = None,
          graph: Graph | None = None, analysis: "Analysis | None" = None) -> GroupResult:
    """Replace the selected blocks by one ``unit:<name>`` node and add the unit definition.

    The unit's inputs are the distinct outside nodes feeding the selection (ports ``in``,
    or ``in1``, ``in2``... in edge order); its output is the one selected node whose output
    leaves. Positions are kept inside the unit; the unit node sits at their centre.
    `analysis` (a fresh `shapes.infer`) lets the inner Input nodes show the real shapes.
    """
    g = _graph(project, graph)
    units = project.units
    plan = plan_group(g, node_ids)
    name = name if name is not None else units.free_name("Unit")
    if not NAME_RE.match(name):
        raise UnitError(f"'{name[:60]}' cannot name a unit: use a letter or _ then letters, "
                        "digits or _ (it becomes a Python class name)")
    if name in units:
        raise UnitError(f"there is already a unit named {name}: choose another name "
                        f"(e.g. {units.free_name(name)})")
    selected = set(plan.selected)
    inner = Graph()
    entry: dict[str, str] = {}
    for src, port in zip(plan.sources, plan.port_names):
        entry_id = port
        while entry_id in selected or entry_id in entry.values():
            entry_id += "_"
        entry[src] = entry_id
        spec = fed_spec(g, analysis, src, selected)
        params = ({"shape": list(spec.shape), "dtype": spec.dtype}
                  if spec is not None and spec.dtype in ("float32", "int64")
                  and 1 <= len(spec.shape) <= 5 else {"shape": [1]})
        pos = g.node(src).pos
        inner.insert_node(Node(entry_id, "Input", params, pos))
    for node_id in plan.selected:
        node = g.node(node_id)
        inner.insert_node(Node(node.id, node.type, copy.deepcopy(node.params), node.pos,
                               copy.deepcopy(node.extra), trainable=node.trainable,
                               lr_scale=node.lr_scale))
    # The final outer edge list: edges into the selection collapse into one per source.
    final: list[Edge] = []
    fed: set[str] = set()
    multi = len(plan.sources) > 1
    port_of = dict(zip(plan.sources, plan.port_names))
    unit_id = g.new_id(name)
    for edge in g.edges:
        if edge.dst in selected:
            src = entry.get(edge.src, edge.src)
            inside = edge.src in selected  # from the entry Input's one output otherwise
            inner.insert_edge(Edge(src, edge.dst, edge.port, dict(edge.extra),
                                   edge.from_port if inside else None))
            if edge.src not in selected and edge.src not in fed:
                fed.add(edge.src)
                final.append(Edge(edge.src, unit_id, port_of[edge.src] if multi else None,
                                  from_port=edge.from_port))
        elif edge.src in selected:
            final.append(Edge(unit_id, edge.dst, edge.port, dict(edge.extra)))
        else:
            final.append(edge)
    defn = UnitDef(name, inner, [UnitPort(p, entry[s]) for s, p in zip(plan.sources,
                                                                          plan.port_names)],
                   [UnitPort("out", plan.output)])
    units.add(defn)
    index = g.node_index(plan.selected[0])
    result = GroupResult(g, units, defn, unit_id)
    for node_id in plan.selected:
        at = g.node_index(node_id)
        node, edges = g.remove_node(node_id)
        result._removed.append((node, edges, at))
    g.insert_node(Node(unit_id, unit_type(name), {}, _centre(inner.nodes, plan.selected)),
                  index)
    for i, edge in enumerate(final):
        if edge.src == unit_id or edge.dst == unit_id:
            g.insert_edge(edge, i)
    return result


def _centre(nodes: list[Node], ids: Iterable[str]) -> tuple[float, float] | None:
    wanted = set(ids)
    points = [n.pos for n in nodes if n.id in wanted and n.pos is not None]
    if not points:
        return None
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def ungroup(project: "Project", node_id: str, graph: Graph | None = None,
            drop_unused: bool = True, keep_ids: bool = True) -> UngroupResult:
    """Put a unit node's blocks back in its place (every copy of a repeated unit, chained).

    Promoted values are written into the inner parameters. With `drop_unused`, the unit's
    definition is removed when no other node (in any graph or unit) uses it, so group then
    ungroup gives back the same project. `keep_ids` False always prefixes inner ids with
    the unit node's id, so they read like the weights' module paths (``layer2_conv1``).
    """
    g = _graph(project, graph)
    units = project.units
    node = g.node(node_id)
    name = unit_name(node.type)
    defn = units.get(name) if name is not None else None
    if defn is None:
        raise UnitError("only a unit node can be ungrouped" if name is None
                        else f"the unit {name} is not defined in this project",
                        node=node_id, block_type=node.type)
    block = node.block
    assert block is not None
    values = node.resolved_params()
    repeat = int(values.get(REPEAT, 1))
    if repeat > 1 and len(defn.inputs) != 1:
        raise UnitError("a repeated unit needs one input", node=node_id, block_type=node.type)
    inner = defn.graph
    entries = {p.node: p.name for p in defn.inputs}
    into = g.inputs_of(node_id)
    feeds = {p.name: [(e.src, e.from_port) for e in into.get(p.name, [])] for p in defn.inputs}
    shift = _shift(node.pos, _centre(inner.nodes, [n.id for n in inner.nodes
                                                   if n.id not in entries]))
    taken = set(g._nodes) - {node_id}  # noqa: SLF001 - ids in use outside the unit
    new_nodes: list[Node] = []
    new_edges: list[Edge] = []
    prev_out: str | None = None
    for k in range(repeat):
        prefix = f"{node_id}_" if repeat == 1 else f"{node_id}_{k}_"
        ids: dict[str, str] = {}
        for n in inner.nodes:
            if n.id in entries:
                continue
            new = n.id if (repeat == 1 and keep_ids and n.id not in taken) else prefix + n.id
            while new in taken:
                new += "_"
            taken.add(new)
            ids[n.id] = new
            params = copy.deepcopy(n.params)
            for pname, promoted in defn.params.items():
                for t in promoted.targets:
                    if t.node == n.id and pname in values:
                        params[t.param] = copy.deepcopy(values[pname])
            pos = None if n.pos is None else (n.pos[0] + shift[0] + 40.0 * k,
                                              n.pos[1] + shift[1] + 40.0 * k)
            # a frozen unit's blocks come out frozen, a scaled one's at its scale times theirs
            new_nodes.append(Node(new, n.type, params, pos, copy.deepcopy(n.extra),
                                  trainable=n.trainable and node.trainable,
                                  lr_scale=min(n.lr_scale * node.lr_scale, MAX_LR_SCALE)))
        for e in inner.edges:
            if e.src in entries:
                srcs = [(prev_out, None)] if prev_out is not None else feeds[entries[e.src]]
                new_edges += [Edge(s, ids[e.dst], e.port, dict(e.extra), p)
                              for s, p in srcs if s]
            else:
                new_edges.append(Edge(ids[e.src], ids[e.dst], e.port, dict(e.extra),
                                      e.from_port))
        prev_out = ids[defn.outputs[0].node]
    assert prev_out is not None
    final: list[Edge] = []
    first_in = into_first(g, node_id)
    for edge in g.edges:
        if edge.dst == node_id:
            if edge is first_in:  # the unit's inner wiring takes the place of its inputs
                final += new_edges
        elif edge.src == node_id:
            final.append(Edge(prev_out, edge.dst, edge.port, dict(edge.extra)))
        else:
            final.append(edge)
    if first_in is None:
        final = new_edges + final
    index = g.node_index(node_id)
    removed_node, removed_edges = g.remove_node(node_id)
    dropped = None
    if drop_unused and not _used(project, name, g):
        dropped = units.remove(name)
    for i, n in enumerate(new_nodes):
        g.insert_node(n, index + i)
    added = {n.id for n in new_nodes}
    for i, edge in enumerate(final):
        if edge.src in added or edge.dst in added:
            g.insert_edge(edge, i)
    return UngroupResult(g, units, [n.id for n in new_nodes], (removed_node, removed_edges,
                                                              index), dropped)


def flatten_units(project: "Project", graph: Graph | None = None) -> int:
    """Ungroup every unit node, nested ones too, with ids like module paths
    (``layer1_0_conv1``); returns how many unit nodes were ungrouped."""
    g = _graph(project, graph)
    count = 0
    while True:
        found = [n.id for n in g.nodes if unit_name(n.type) in project.units]
        if not found:
            return count
        for node_id in found:
            ungroup(project, node_id, g, keep_ids=False)
            count += 1


def into_first(graph: Graph, node_id: str) -> Edge | None:
    edges = graph.in_edges(node_id)
    return edges[0] if edges else None


def _shift(pos: tuple[float, float] | None, centre: tuple[float, float] | None
           ) -> tuple[float, float]:
    if pos is None or centre is None:
        return (0.0, 0.0)
    return (pos[0] - centre[0], pos[1] - centre[1])


def _used(project: "Project", name: str, skip: Graph) -> bool:
    """Whether any node other than the one being ungrouped still uses the unit."""
    graphs = [g for g in (project.graph, project.generator, project.discriminator)
              if g is not None]
    graphs += [d.graph for d in project.units.defs.values()]
    wanted = unit_type(name)
    return any(n.type == wanted for g in graphs for n in g.nodes)


@dataclass
class PortInfo:
    name: str
    inner_node: str
    spec: Any = None  # TensorSpec or None when unknown

    def show(self) -> str:
        return self.spec.show() if self.spec is not None else "?"


@dataclass
class UnitNodeInfo:
    """What the GUI shows for a unit node: its ports with shapes, size and copies."""

    unit: str
    repeat: int
    inputs: list[PortInfo]
    output: PortInfo
    num_params: int
    inner_nodes: int


def unit_node_info(project: "Project", node_id: str, analysis: "Analysis | None" = None,
                   graph: Graph | None = None) -> UnitNodeInfo:
    """A unit node's ports (shapes from `analysis`, a `shapes.infer` of the outer graph),
    parameter count (all copies) and inner block count."""
    g = _graph(project, graph)
    node = g.node(node_id)
    name = unit_name(node.type)
    defn = project.units.get(name) if name else None
    if defn is None:
        raise UnitError("not a unit node of this project", node=node_id, block_type=node.type)
    info = analysis.nodes.get(node_id) if analysis is not None else None
    specs = list(info.input_specs) if info is not None else []
    inputs = [PortInfo(p.name, p.node, specs[i] if i < len(specs) else None)
              for i, p in enumerate(defn.inputs)]
    out = PortInfo(defn.outputs[0].name, defn.outputs[0].node,
                   info.spec if info is not None else None)
    repeat = int(node.resolved_params().get(REPEAT, 1))
    return UnitNodeInfo(name, repeat, inputs, out, info.num_params if info else 0,
                        len(defn.graph) - len(defn.inputs))


def promote(project: "Project", unit: str, pname: str, targets: list[tuple[str, str]],
            default: Any = None, doc: str = "") -> None:
    """Add a unit-level parameter feeding inner parameters (``channels`` ->
    ``conv1.out_channels``); its default is the first target's current value if not given."""
    from .model import PromotedParam, Target

    defn = project.units.get(unit)
    if defn is None:
        raise UnitError(f"there is no unit {unit}")
    if not pname.isidentifier() or pname in (REPEAT, "_base_dir") or pname in defn.params:
        raise UnitError(f"'{pname[:40]}' cannot name a new parameter of {unit}")
    if not targets:
        raise UnitError("choose at least one inner parameter to feed")
    for node_id, param in targets:
        block = defn.graph.node(node_id).block
        if block is None or param not in block.params:
            raise UnitError(f"{node_id} has no parameter '{param}'", node=node_id)
    if default is None:
        first = defn.graph.node(targets[0][0])
        default = first.resolved_params()[targets[0][1]]
        decl = first.block.params[targets[0][1]]  # type: ignore[union-attr]
        default = decl.to_json(default)
    defn.params[pname] = PromotedParam(default, [Target(n, p) for n, p in targets], doc)
