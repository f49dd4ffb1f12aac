"""Shape inference that follows edits: after an edit, only what it changed is measured again.

A window analyses its graph again after every edit, and on a graph of thousands of blocks
a whole pass took seconds although a change at the end of a chain changes one node. A
`ShapeTracker` listens to its graph's events, keeps each node's last result, and on
`analysis` works again only on the nodes an edit touched and on those downstream whose
input changed. The answer is the one `shapes.infer` gives for the same graph (`infer` is
this tracker's first pass), which tests/engine/test_shapes_incremental.py checks after
random edits.

What no graph event announces is handled without trusting the kept results: unit nodes and
Code blocks are measured at every pass (their unit's definition, their Python file), and a
change of the units, the vocabulary size, the heads, the project folder, or a graph with a
loop, makes the pass start from scratch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import GraphError
from .events import Event
from .gcpause import gc_paused
from .graph import Graph
from .shapes import Analysis, NodeInfo, end_problems, measure_node, model_ends
from .validation import disconnected, loop_problems, whole_graph_problems, wired_problems


@dataclass(slots=True)
class _Kept:
    """What the last pass found for one node."""

    #: its measurement; `errors` holds its own problems (`wiring`, then `measured`)
    info: NodeInfo
    #: its problems on its own (type, parameters, ports), as `graph_problems` lists them
    wiring: list[GraphError]
    #: what measuring it found
    measured: Sequence[GraphError]
    is_input: bool
    #: wired to nothing (then not measured, unless it is an Input)
    isolated: bool
    #: measured at every pass: what it measures depends on more than the graph
    volatile: bool


#: A new node's NodeInfo until it is measured (in the same pass): never handed out.
_UNMEASURED = NodeInfo()
#: No problems (one shared empty tuple, not a list per node)
_NONE: tuple[GraphError, ...] = ()


def _volatile(type_name: Any) -> bool:
    """A unit node (its unit's definition can change under it) or a Code block (its file)."""
    return isinstance(type_name, str) and (type_name.startswith("unit:") or type_name == "Code")


class ShapeTracker:
    """One graph's shape analysis, kept up to date from the graph's events.

    NodeInfos that did not change are the same objects from one analysis to the next (so a
    view can skip them; `Analysis.changed` names the others) and must be treated as read
    only. The output's, the heads' and the Input nodes' NodeInfos are new in every analysis,
    as the tasks add their own checks to those nodes' errors.
    """

    def __init__(self, graph: Graph, listen: bool = True) -> None:
        self.graph = graph
        self._kept: dict[str, _Kept] = {}
        self._infos: dict[str, NodeInfo] = {}  # each kept NodeInfo, as measuring reads them
        self._touched: set[str] = set()  # wiring or parameters changed: check it again
        self._forced: set[str] = set()  # parameters changed: its successors read them
        self._scratch = True
        self._context: tuple[Any, ...] | None = None
        self._copied: set[str] = set()  # handed out as copies by the last analysis
        self._broken_whole: set[str] = set()
        self._troubled: set[str] = set()  # the nodes with problems of their own
        #: while no node comes or goes: the ids in graph order, the Inputs, each id's place,
        #: and the NodeInfos in graph order (the next analysis's `nodes`, copied)
        self._layout: tuple[list[str], list[str], dict[str, int], dict[str, NodeInfo]] | None
        self._layout = None
        self._listener = graph.events.any.connect(self._on_event) if listen else None

    def close(self) -> None:
        """Stop following the graph."""
        if self._listener is not None:
            self.graph.events.any.disconnect(self._listener)
            self._listener = None

    def reset(self) -> None:
        """Forget what was kept: the next analysis is a whole pass."""
        self._scratch = True

    def _on_event(self, event: Event) -> None:
        kind = event.kind
        if kind in ("node_added", "node_changed"):
            self._touched.add(event.node.id)
            if kind == "node_changed":
                self._forced.add(event.node.id)
        elif kind in ("edge_added", "edge_removed"):
            self._touched.update((event.edge.src, event.edge.dst))
        elif kind == "node_removed":
            self._touched.add(event.node.id)  # gone: forgotten at the next pass
        if kind in ("node_added", "node_removed"):
            self._layout = None

    # ---- the pass ----------------------------------------------------------------------

    def analysis(self, vector_output: bool = True) -> Analysis:
        """The graph's analysis now, as `shapes.infer` would give it."""
        with gc_paused():
            return self._analysis(vector_output)

    def _analysis(self, vector_output: bool) -> Analysis:
        graph = self.graph
        layout = self._layout
        ids = layout[0] if layout is not None else graph.node_ids()
        order = graph.topological_order()
        context = (id(graph.units), graph.vocab_size, graph.base_dir, tuple(graph.heads),
                   len(ids) > 1)
        whole = (self._scratch or context != self._context or len(order) != len(ids))
        self._context, self._scratch = context, False
        touched: set[str] | None = None  # None: every node (a whole pass)
        forced: set[str] = set()
        if whole:
            self._kept, self._infos, self._copied, self._broken_whole = {}, {}, set(), set()
            self._troubled, self._layout, layout = set(), None, None
            ids = graph.node_ids()
        else:
            for node_id in [n for n in self._touched if n not in graph]:
                self._kept.pop(node_id, None)
                self._infos.pop(node_id, None)
                self._troubled.discard(node_id)
            touched = {n for n in self._touched if n in graph}
            touched.update(n for n, kept in self._kept.items() if kept.volatile)
            forced = self._forced & touched
        self._touched, self._forced = set(), set()

        kept = self._kept
        alone = len(ids) > 1
        for node_id in ids if touched is None else touched:
            self._check_wiring(node_id, alone)
        laid_out = layout is None  # every NodeInfo goes into the new layout's order
        if layout is None:
            layout = (ids, [n for n in ids if kept[n].is_input],
                      {n: i for i, n in enumerate(ids)}, {n: _UNMEASURED for n in ids})
            self._layout = layout
        inputs = list(layout[1])
        outputs = graph.output_ids()
        loops = loop_problems(graph) if len(order) != len(ids) else []
        whole_graph = [*loops, *whole_graph_problems(graph, bool(inputs), outputs,
                                                     cyclic=bool(loops))]
        broken_whole = {p.node for p in whole_graph
                        if p.severity == "error" and p.node is not None}
        if touched is not None:
            touched |= {n for n in broken_whole ^ self._broken_whole if n in kept}
        self._broken_whole = broken_whole
        changed = self._measure(order, touched, forced, broken_whole)

        # the nodes that carry whole-graph problems or that tasks add checks to: copies
        output, ends = model_ends(graph, outputs)
        named: dict[str, list[GraphError]] = {}
        for problem in whole_graph:
            for node_id in problem.nodes:
                if node_id in kept:
                    named.setdefault(node_id, []).append(problem)
        copied = set(named) | set(inputs) | set(ends)
        infos, ordered = self._infos, layout[3]
        for node_id in ordered if laid_out or changed is None else changed:
            ordered[node_id] = infos[node_id]
        nodes = dict(ordered)
        for node_id in copied:
            one = kept[node_id]
            nodes[node_id] = dataclasses.replace(
                one.info, errors=[*one.wiring, *named.get(node_id, ()), *one.measured])
        at_ends = end_problems(graph, nodes, output, ends, vector_output)
        problems = self._problems(layout[2], whole_graph, at_ends)
        shown = None if changed is None else frozenset(
            (changed | copied | self._copied) & kept.keys())
        self._copied = copied
        return Analysis(nodes, problems, order, inputs, output, ends, shown)

    def _check_wiring(self, node_id: str, alone: bool) -> None:
        """A node's own problems again (its type, parameters and ports); measured later."""
        graph = self.graph
        node = graph.node(node_id)
        isolated = alone and not graph.is_wired(node_id)
        wiring = wired_problems(graph, node_id, isolated)
        if isolated:
            wiring.append(disconnected(graph, node_id))
        block = node.block
        self._kept[node_id] = _Kept(self._infos.get(node_id, _UNMEASURED), wiring, _NONE,
                                    block is not None and block.is_input, isolated,
                                    _volatile(node.type))
        if wiring:
            self._troubled.add(node_id)
        else:
            self._troubled.discard(node_id)

    def _measure(self, order: list[str], measure: set[str] | None, forced: set[str],
                 broken_whole: set[str]) -> set[str] | None:
        """Measure `measure` in topological order, and each node downstream whose input
        changed; returns the nodes whose NodeInfo is new. `measure` None: every node, and
        None is returned (everything is new)."""
        graph, kept, infos = self.graph, self._kept, self._infos
        changed: set[str] = set()
        for node_id in order:
            if measure is not None and node_id not in measure:
                continue
            one = kept[node_id]
            if (node_id in broken_whole or (one.isolated and not one.is_input)
                    or one.wiring and any(p.severity == "error" for p in one.wiring)):
                info, found = NodeInfo(), _NONE
            else:
                info, found = measure_node(graph, graph.node(node_id), infos)
            info.errors = [*one.wiring, *found] if one.wiring else list(found)
            before, one.info, one.measured = one.info, info, found or _NONE
            infos[node_id] = info
            if found or one.wiring:
                self._troubled.add(node_id)
            else:
                self._troubled.discard(node_id)
            if measure is None:
                continue
            changed.add(node_id)
            if node_id in forced or (info.spec, info.outputs) != (before.spec, before.outputs):
                measure.update(edge.dst for edge in graph.out_edges(node_id))
        if measure is None:
            left = set(kept).difference(order) if len(order) != len(kept) else set()
        else:
            left = measure.difference(changed)
        for node_id in left:  # on a loop or after one: no shape
            one = kept[node_id]
            one.info, one.measured = NodeInfo(errors=list(one.wiring)), _NONE
            infos[node_id] = one.info
            changed.add(node_id)
        return None if measure is None else changed

    def _problems(self, rank: dict[str, int], whole_graph: list[GraphError],
                  at_ends: list[GraphError]) -> list[GraphError]:
        """Every problem, node by node in the graph's order (as `infer` sorts them), then
        those of no node."""
        on: dict[str, list[GraphError]] = {}
        for problem in (*whole_graph, *at_ends):
            if problem.node is not None:
                on.setdefault(problem.node, []).append(problem)
        last = {id(p) for p in at_ends}
        found: list[GraphError] = []
        kept = self._kept
        for node_id in sorted(self._troubled.union(on), key=rank.__getitem__):
            one = kept[node_id]
            if one.wiring:
                found += one.wiring
            if node_id in on:
                # whole-graph ones come before what measuring found, the ends' after
                extra = on[node_id]
                found += [p for p in extra if id(p) not in last]
                found += one.measured
                found += [p for p in extra if id(p) in last]
            elif one.measured:
                found += one.measured
        found += [p for p in whole_graph if p.node is None]
        return found


class ShapeTrackers:
    """A `ShapeTracker` for each graph a project analyses (a GAN has two): `infer` takes
    the place of `shapes.infer` in `Task.analyze`."""

    def __init__(self) -> None:
        self._trackers: dict[int, ShapeTracker] = {}

    def infer(self, graph: Graph, vector_output: bool = True) -> Analysis:
        tracker = self._trackers.get(id(graph))
        if tracker is None or tracker.graph is not graph:
            tracker = self._trackers[id(graph)] = ShapeTracker(graph)
        return tracker.analysis(vector_output)

    def reset(self) -> None:
        """The next analysis of every graph is a whole pass."""
        for tracker in self._trackers.values():
            tracker.reset()

    def close(self) -> None:
        for tracker in self._trackers.values():
            tracker.close()
        self._trackers = {}
