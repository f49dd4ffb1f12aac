"""Automatic layout: columns by topological generation, left to right.

Used for imported graphs and files without positions. Within a column, nodes keep the order
of their first predecessor's row, so straight chains stay straight and branches fan out.
"""

from __future__ import annotations

import networkx as nx

from .graph import Graph

COLUMN = 220.0
ROW = 150.0


def auto_layout(graph: Graph, column: float = COLUMN, row: float = ROW
                ) -> dict[str, tuple[float, float]]:
    """A position for every node. Nodes on loops (which have no generation) go last."""
    dag = nx.DiGraph()
    dag.add_nodes_from(n.id for n in graph.nodes)
    dag.add_edges_from((e.src, e.dst) for e in graph.edges if e.src != e.dst)
    try:
        generations = [list(g) for g in nx.topological_generations(dag)]
    except nx.NetworkXUnfeasible:  # a loop: lay out what can be, stack the rest
        order = graph.topological_order()
        rest = [n.id for n in graph.nodes if n.id not in order]
        generations = [[n] for n in order] + [rest]
    file_order = {n.id: i for i, n in enumerate(graph.nodes)}
    placed: dict[str, tuple[float, float]] = {}
    for x, gen in enumerate(generations):
        def key(node_id: str) -> tuple[float, int]:
            preds = [placed[p][1] for p in graph.predecessors(node_id) if p in placed]
            return (min(preds) if preds else 0.0, file_order[node_id])

        ordered = sorted(gen, key=key)
        top = -(len(ordered) - 1) * row / 2
        for y, node_id in enumerate(ordered):
            placed[node_id] = (x * column, top + y * row)
    return placed
