"""The model graph: nodes with stable ids, edges into named input ports, and an edit API.

Every edit validates what it can at once (unknown type, bad parameter, a wire that would
make a loop) and raises a typed error; every accepted edit emits a plain-Python event the
canvas subscribes to. Problems that only the whole graph reveals (a dangling input, two
outputs) are reported by `problems()`, because a graph is allowed to be unfinished while
the person is still building it. networkx keeps order, cycles and reachability.
"""

from __future__ import annotations

import copy
import dataclasses
import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import networkx as nx

from .blocks import Block, get_block, suggest_type
from .errors import (CycleError, DuplicateNodeError, GraphError, InputAlreadyConnected,
                     MissingNodeError, ParamError, PortError, UnknownBlockError)
from .events import EmitterGroup, EventEmitter
from .params import VOCAB, ParamValueError, validate_params


@dataclass
class Node:
    """One block on the canvas. `params` holds what the person set (JSON values); defaults
    fill the rest when the block is built. `extra` keeps keys this version does not know."""

    id: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The project's unit definitions (`engine.units.Units`), which a ``unit:<Name>`` node
    #: reads its block from; set by the graph the node is in. Not saved, not compared.
    units: Any = field(default=None, repr=False, compare=False)
    #: The vocabulary size of the project's text data, which a ``"vocab"`` parameter value
    #: stands for; set by the graph the node is in once the data is known. Not saved.
    vocab_size: int | None = field(default=None, repr=False, compare=False)
    #: False freezes the block while training (`engine.block_training`); saved only then.
    trainable: bool = True
    #: The block's learning rate is the run's times this; saved only when it is not 1.
    lr_scale: float = 1.0

    @property
    def block(self) -> Block | None:
        return block_for(self.type, self.units)

    def build_params(self, base_dir: Path | None = None) -> dict[str, Any]:
        """The parameters `check` and `build` take: validated, defaults filled in, and
        resolved against the project folder (see `Block.resolve`)."""
        block = self.block
        assert block is not None
        params = block.resolve(validate_params(block.params, self.params)[0], base_dir)
        if self.vocab_size is not None and VOCAB in params.values():
            params = {k: self.vocab_size if v == VOCAB else v for k, v in params.items()}
        return params

    def resolved_params(self) -> dict[str, Any]:
        """All parameters, defaults filled in; invalid values fall back to the default."""
        block = self.block
        if block is None:
            return dict(self.params)
        return validate_params(block.params, self.params)[0]


@dataclass(frozen=True)
class Edge:
    """A wire from `src`'s output `from_port` into `dst`'s input `port`.

    `port` is None when the file left `to_port` out; `Graph.port_of` resolves it.
    `from_port` is None for the one output of most blocks (``"out"``); a block with several
    outputs (Split, Chunk) has one port per output, and every wire from it names one. It
    comes last so that the positional ``Edge(src, dst, port, extra)`` keeps its meaning.
    """

    src: str
    dst: str
    port: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    from_port: str | None = None


class GraphEvents(EmitterGroup):
    node_added: EventEmitter
    node_removed: EventEmitter
    #: before a rename's removal and re-addition (`old`, `new`: the ids), so a view that
    #: follows a node (the inspector) follows it to its new id
    node_renamed: EventEmitter
    node_changed: EventEmitter
    node_moved: EventEmitter
    edge_added: EventEmitter
    edge_removed: EventEmitter

    def __init__(self) -> None:
        super().__init__("node_added", "node_removed", "node_renamed", "node_changed",
                         "node_moved", "edge_added", "edge_removed")


def _id_prefix(type_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", type_name.lower()) or "node"


class Graph:
    """A directed graph of blocks. Edge order matters: Add and Concat take inputs in it."""

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []
        self._nx = nx.MultiDiGraph()
        self._by_end: tuple[dict[str, list[Edge]], dict[str, list[Edge]]] | None = None
        #: `topological_order`'s answer until the next change of nodes or wiring: the shape
        #: pass and the problem check both ask, per edit, and must not sort twice.
        self._order: list[str] | None = None
        self.events = GraphEvents()
        #: The project's folder, where Code blocks find their Python files (not saved).
        self.base_dir: Path | None = None
        self._units: Any = None
        self._vocab_size: int | None = None
        #: The renames made in this graph, oldest first, as (old id, new id): the project
        #: file keeps them (``"renamed"``), so runs trained before a rename find their
        #: weights under the new ids (`engine.rename`).
        self.renamed: list[tuple[str, str]] = []
        #: The output nodes the project gives a head (``"heads"``, `engine.heads`), in the
        #: order the compiled model returns them; () for a model with one output. Set by
        #: the project (not saved with the graph).
        self.heads: tuple[str, ...] = ()

    @property
    def units(self) -> Any:
        """The unit definitions ``unit:<Name>`` nodes read (`engine.units.Units`), or None."""
        return self._units

    @units.setter
    def units(self, units: Any) -> None:
        self._units = units
        for node in self._nodes.values():
            node.units = units

    @property
    def vocab_size(self) -> int | None:
        """What a ``"vocab"`` parameter value becomes: the text data's vocabulary size, or
        None while it is not known (`engine.text.vocab` sets it)."""
        return self._vocab_size

    @vocab_size.setter
    def vocab_size(self, size: int | None) -> None:
        self._vocab_size = size
        for node in self._nodes.values():
            node.vocab_size = size

    # ---- reading -----------------------------------------------------------------------

    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    def node_ids(self) -> list[str]:
        """Every node's id, in the graph's order (without building the list of nodes)."""
        return list(self._nodes)

    @property
    def edges(self) -> list[Edge]:
        return list(self._edges)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self._nodes.values()))

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except (KeyError, TypeError):
            raise MissingNodeError(f"there is no node '{node_id}'") from None

    def in_edges(self, node_id: str) -> list[Edge]:
        return list(self._index()[0].get(node_id, ()))

    def out_edges(self, node_id: str) -> list[Edge]:
        return list(self._index()[1].get(node_id, ()))

    def _index(self) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
        """Edges by target and by source, in edge order; rebuilt after wiring changes."""
        if self._by_end is None:
            into: dict[str, list[Edge]] = {}
            out: dict[str, list[Edge]] = {}
            for edge in self._edges:
                into.setdefault(edge.dst, []).append(edge)
                out.setdefault(edge.src, []).append(edge)
            self._by_end = (into, out)
        return self._by_end

    def port_of(self, edge: Edge) -> str | None:
        """The input port an edge feeds: its own `port`, else the one `inputs_of` gives it."""
        if edge.port is not None:
            return edge.port
        for name, edges in self.inputs_of(edge.dst).items():
            if any(e is edge for e in edges):
                return None if name == "?" else name
        return None  # pragma: no cover - every edge into dst is listed

    def inputs_of(self, node_id: str) -> dict[str, list[Edge]]:
        """Edges into each input port, in edge order.

        An edge that names no port takes the first port not named by another edge, so a
        single wire into attention is its query. Unknown port names get their own key, and
        portless edges that find no free port are listed under ``"?"``.
        """
        node = self.node(node_id)
        block = node.block
        ports: dict[str, list[Edge]] = {p.name: [] for p in block.inputs} if block else {}
        incoming = self.in_edges(node_id)
        taken = {e.port for e in incoming if e.port is not None}
        for edge in incoming:
            name = edge.port
            if name is None:
                free = [p for p in (block.inputs if block else ())
                        if p.variadic or p.name not in taken]
                name = free[0].name if free else "?"
                taken.add(name)
            ports.setdefault(name, []).append(edge)
        return ports

    def is_wired(self, node_id: str) -> bool:
        """Whether any wire goes into or out of the node."""
        into, out = self._index()
        return node_id in into or node_id in out

    def predecessors(self, node_id: str) -> list[str]:
        return list(dict.fromkeys(e.src for e in self.in_edges(node_id)))

    def topological_order(self) -> list[str]:
        """Nodes in an order where every edge points forward; nodes on loops, and nodes
        downstream of them, are left out. Ties follow the order nodes were added (Kahn's
        algorithm with a heap), so the order is stable across runs. Sorted once per change
        of nodes or wiring."""
        if self._order is None:
            self._order = self._sorted()
        return list(self._order)

    def _sorted(self) -> list[str]:
        into, out = self._index()  # read in place: no copy of each node's edge list
        position = {node_id: i for i, node_id in enumerate(self._nodes)}
        waiting = {node_id: len(into.get(node_id, ())) for node_id in self._nodes}
        ready = [position[n] for n, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        ids = list(self._nodes)
        order = []
        while ready:
            node_id = ids[heapq.heappop(ready)]
            order.append(node_id)
            for edge in out.get(node_id, ()):
                waiting[edge.dst] -= 1
                if waiting[edge.dst] == 0:
                    heapq.heappush(ready, position[edge.dst])
        return order

    def cycles(self) -> list[list[str]]:
        """Each loop as a list of node ids in wiring order (one representative per loop)."""
        if self._order is None:
            self._order = self._sorted()
        if len(self._order) == len(self._nodes):
            return []  # everything sorted: no loop (a loop's nodes never become ready)
        found = [[e.src] for e in self._edges if e.src == e.dst]
        for comp in nx.strongly_connected_components(self._nx):
            if len(comp) > 1:
                found.append([u for u, _v, *_ in nx.find_cycle(self._nx.subgraph(comp))])
        return found

    def would_create_cycle(self, src: str, dst: str) -> bool:
        if src == dst:
            return True
        return dst in self._nx and src in self._nx and nx.has_path(self._nx, dst, src)

    def new_id(self, type_name: str) -> str:
        """A fresh readable id such as ``conv2d_3``."""
        prefix = _id_prefix(type_name)
        n = 1
        while f"{prefix}_{n}" in self._nodes:
            n += 1
        return f"{prefix}_{n}"

    # ---- checks the GUI asks before it edits --------------------------------------------

    def check_connect(self, src: str, dst: str, port: str | None = None) -> str:
        """Raise the typed error that `connect` would raise; return the resolved port."""
        self.node(src)
        target = self.node(dst)
        block = target.block
        if block is None:
            raise UnknownBlockError(f"unknown block type '{target.type}'", node=dst,
                                    block_type=target.type)
        if self.would_create_cycle(src, dst):
            raise CycleError(f"wiring {src} into {dst} would make a loop: {dst} already feeds "
                             f"{src}", node=dst, block_type=target.type, nodes=(src, dst))
        if not block.inputs:
            raise PortError(f"{target.type} has no inputs: it is where data enters the model",
                            node=dst, block_type=target.type)
        wired = self.inputs_of(dst)
        if port is None:
            free = [p.name for p in block.inputs if p.variadic or not wired.get(p.name)]
            if not free:
                raise InputAlreadyConnected("every input is already wired: disconnect one first",
                                            node=dst, block_type=target.type)
            port = free[0]
        decl = block.port(port)
        if decl is None:
            raise PortError(f"has no input port '{port}' (its ports: "
                            f"{', '.join(block.port_names)})", node=dst, block_type=target.type,
                            port=port)
        if not decl.variadic and wired.get(port):
            raise InputAlreadyConnected(f"input '{port}' is already wired: disconnect it first",
                                        node=dst, block_type=target.type, port=port)
        return port

    def can_connect(self, src: str, dst: str, port: str | None = None) -> str | None:
        """None if the wire is allowed, else the sentence saying why not."""
        try:
            self.check_connect(src, dst, port)
        except GraphError as exc:
            return exc.message
        return None

    # ---- editing -----------------------------------------------------------------------

    def add_node(self, type_name: str, params: dict[str, Any] | None = None,
                 node_id: str | None = None, pos: tuple[float, float] | None = None) -> Node:
        """Add a block; unknown types and invalid parameters are refused."""
        block = block_for(type_name, self._units)
        if block is None:
            raise UnknownBlockError(unknown_type_message(type_name), node=node_id,
                                    block_type=type_name)
        params = dict(params or {})
        _, problems = validate_params(block.params, params)
        if problems:
            name, message = problems[0]
            raise ParamError(message, node=node_id, block_type=type_name, param=name)
        node = Node(node_id or self.new_id(type_name), type_name, params,
                    tuple(pos) if pos is not None else None)  # type: ignore[arg-type]
        return self.insert_node(node)

    def node_index(self, node_id: str) -> int:
        """Where the node stands in the graph's order (file order, palette of inputs)."""
        return list(self._nodes).index(node_id)

    def insert_node(self, node: Node, index: int | None = None) -> Node:
        """Add a node as it is, without checking type or parameters.

        The project loader uses this so an unfinished or damaged graph still opens and its
        problems show on the nodes. Ids must be unique non-empty strings.
        """
        if not isinstance(node.id, str) or not node.id:
            raise GraphError(f"node ids must be non-empty strings, got {node.id!r}")
        if node.id in self._nodes:
            raise DuplicateNodeError(f"there is already a node '{node.id}'", node=node.id,
                                     block_type=node.type)
        if index is None or index >= len(self._nodes):
            self._nodes[node.id] = node
        else:
            items = list(self._nodes.items())
            items.insert(max(index, 0), (node.id, node))
            self._nodes = dict(items)
        node.units = self._units
        node.vocab_size = self._vocab_size
        self._order = None
        self._nx.add_node(node.id)
        self.events.node_added.emit(node=node)
        return node

    def remove_node(self, node_id: str) -> tuple[Node, list[tuple[int, Edge]]]:
        """Remove a node and its edges. Returns what `restore_node` needs to undo it."""
        node = self.node(node_id)
        removed = [(i, e) for i, e in enumerate(self._edges) if node_id in (e.src, e.dst)]
        for index, _edge in reversed(removed):
            self._remove_edge_at(index)
        del self._nodes[node_id]
        self._order = None
        self._nx.remove_node(node_id)
        self.events.node_removed.emit(node=node)
        return node, removed

    def restore_node(self, node: Node, edges: Iterable[tuple[int, Edge]],
                     index: int | None = None) -> None:
        """Undo `remove_node`: the node comes back, at `index` in the node order, with its
        edges at their old positions."""
        self.insert_node(node, index)
        for index, edge in sorted(edges, key=lambda item: item[0]):
            self.insert_edge(edge, index)

    def rename_node(self, old: str, new: str) -> Node:
        """Give node `old` the id `new`: its edges follow and it keeps its place in the node
        order (and each edge its place in the edge order). Emits ``node_renamed``, then the
        removal and the re-addition, which views redraw from. Checks only that `new` is a
        free non-empty string; `engine.rename.check_new_id` decides what a person may type.
        """
        node = self.node(old)
        if not isinstance(new, str) or not new:
            raise GraphError(f"node ids must be non-empty strings, got {new!r}")
        if new in self._nodes:
            raise DuplicateNodeError(f"there is already a node '{new}'", node=new,
                                     block_type=self._nodes[new].type)
        self.events.node_renamed.emit(node=node, old=old, new=new)
        index = self.node_index(old)
        _, edges = self.remove_node(old)
        renamed = Node(new, node.type, dict(node.params), node.pos, dict(node.extra),
                       trainable=node.trainable, lr_scale=node.lr_scale)

        def follow(edge: Edge) -> Edge:
            return dataclasses.replace(edge, src=new if edge.src == old else edge.src,
                                       dst=new if edge.dst == old else edge.dst,
                                       extra=dict(edge.extra))

        self.restore_node(renamed, [(i, follow(e)) for i, e in edges], index)
        return renamed

    def connect(self, src: str, dst: str, port: str | None = None,
                index: int | None = None, from_port: str | None = None) -> Edge:
        """Wire `src` (its output `from_port`, None for the one output) into `dst`. `port`
        may be omitted to take the first free input. Whether `src` has that output depends
        on its input's shape (a Split's pieces), so `shapes.infer` reports a wrong one."""
        resolved = self.check_connect(src, dst, port)
        block = self._nodes[dst].block
        single = block is not None and len(block.inputs) == 1
        edge = Edge(src, dst, None if single else resolved, from_port=from_port)
        return self.insert_edge(edge, index)

    def insert_edge(self, edge: Edge, index: int | None = None) -> Edge:
        """Add an edge without the `connect` checks (loader, undo). Both ends must exist."""
        for end in (edge.src, edge.dst):
            if end not in self._nodes:
                raise MissingNodeError(f"an edge names node '{end}', which does not exist")
        index = len(self._edges) if index is None else max(0, min(index, len(self._edges)))
        last = index == len(self._edges)
        self._edges.insert(index, edge)
        self._order = None
        if last and self._by_end is not None:  # still in edge order: no rebuild per wire
            self._by_end[0].setdefault(edge.dst, []).append(edge)
            self._by_end[1].setdefault(edge.src, []).append(edge)
        else:
            self._by_end = None
        self._nx.add_edge(edge.src, edge.dst)
        self.events.edge_added.emit(edge=edge, index=index)
        return edge

    def disconnect(self, edge: Edge) -> int:
        """Remove one edge; returns its position so undo can put it back in order."""
        for i, existing in enumerate(self._edges):
            if existing is edge:
                return self._remove_edge_at(i)
        for i, existing in enumerate(self._edges):
            if existing == edge:
                return self._remove_edge_at(i)
        raise MissingNodeError(f"there is no edge {edge.src} -> {edge.dst}")

    def _remove_edge_at(self, index: int) -> int:
        edge = self._edges.pop(index)
        self._order = None
        if self._by_end is not None:  # the index loses just this edge: no rebuild per wire
            for table, end in ((self._by_end[0], edge.dst), (self._by_end[1], edge.src)):
                listed = table[end]
                del listed[next(i for i, e in enumerate(listed) if e is edge)]
                if not listed:
                    del table[end]  # "wired to nothing" reads a missing key
        self._nx.remove_edge(edge.src, edge.dst)
        self.events.edge_removed.emit(edge=edge, index=index)
        return index

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Set one parameter after checking it; returns the old raw value (None if unset)."""
        node = self.node(node_id)
        block = node.block
        if block is None:
            raise UnknownBlockError(unknown_type_message(node.type), node=node_id,
                                    block_type=node.type)
        _, problems = validate_params(block.params, {name: value})
        if problems:
            raise ParamError(problems[0][1], node=node_id, block_type=node.type, param=name)
        old = node.params.get(name)
        node.params[name] = copy.deepcopy(value)
        self.events.node_changed.emit(node=node, key=name, old=old, new=value)
        return old

    def set_training(self, node_id: str, key: str, value: Any) -> Any:
        """Set one of the node's training settings (``trainable``, ``lr_scale``: see
        `engine.block_training`) after checking it; returns the old value."""
        from .block_training import NODE_TRAINING, check_node_training

        node = self.node(node_id)
        if key not in NODE_TRAINING:
            raise ParamError(f"'{key}' is not a block training setting (those are "
                             f"{', '.join(NODE_TRAINING)})", node=node_id,
                             block_type=node.type, param=key)
        try:
            checked = check_node_training(key, value)
        except ParamValueError as exc:
            raise ParamError(f"{key} {exc}", node=node_id, block_type=node.type,
                             param=key) from None
        old = getattr(node, key)
        setattr(node, key, checked)
        self.events.node_changed.emit(node=node, key=key, old=old, new=checked)
        return old

    def unset_param(self, node_id: str, name: str) -> Any:
        """Go back to the declared default; returns the old raw value."""
        node = self.node(node_id)
        old = node.params.pop(name, None)
        self.events.node_changed.emit(node=node, key=name, old=old, new=None)
        return old

    def move(self, node_id: str, pos: tuple[float, float] | None) -> None:
        """Set a node's canvas position (None: not placed yet)."""
        node = self.node(node_id)
        old = node.pos
        node.pos = None if pos is None else (float(pos[0]), float(pos[1]))
        self.events.node_moved.emit(node=node, old=old, new=node.pos)

    # ---- whole-graph problems -----------------------------------------------------------

    def input_ids(self) -> list[str]:
        return [n.id for n in self._nodes.values() if n.block is not None and n.block.is_input]

    def isolated_ids(self) -> list[str]:
        if len(self._nodes) <= 1:
            return []
        into, out = self._index()
        return [n for n in self._nodes if n not in into and n not in out]

    def output_ids(self) -> list[str]:
        """Nodes with no outgoing edge, leaving out blocks that are wired to nothing."""
        into, out = self._index()
        return [n for n in self._nodes if n not in out and (n in into or len(self._nodes) == 1)]

    def problems(self) -> list[GraphError]:
        """Every structural problem, node by node in graph order, then whole-graph ones.

        Shape problems are found by `shapes.infer`, which includes these.
        """
        from .validation import graph_problems

        return graph_problems(self)

    def node_problems(self, node_id: str) -> list[GraphError]:
        """Problems of one node on its own: its type, its parameters and its ports."""
        from .validation import node_problems

        return node_problems(self, node_id)


def block_for(type_name: Any, units: Any = None) -> Block | None:
    """The block of a type: the catalogue's, or a unit's (``unit:<Name>``) from `units`."""
    if isinstance(type_name, str) and type_name.startswith("unit:"):
        return units.block(type_name[5:]) if units is not None else None
    return get_block(type_name)


def unknown_type_message(type_name: Any) -> str:
    if isinstance(type_name, str) and type_name.startswith("unit:"):
        return (f"unknown unit '{type_name[5:60]}': this project defines no unit of that name "
                "(import it from My blocks, or ungroup a copy)")
    hint = suggest_type(type_name)
    text = f"unknown block type '{str(type_name)[:60]}'"
    return text + (f": did you mean '{hint}'?" if hint else ": pick one from the palette")
