"""Automatic layout: columns by topological generation, left to right.

Used for imported graphs and files without positions. Within a column, nodes keep the order
of their first predecessor's row, so straight chains stay straight and branches fan out.
A deep graph wraps into bands that read left to right, top to bottom.
"""

from __future__ import annotations

import networkx as nx

from .graph import Graph

COLUMN = 220.0
ROW = 150.0
#: A graph more columns deep than this is wrapped into bands, read like lines of text,
#: so a 20-block import does not shrink to a thin strip when fitted to the window.
MAX_COLUMNS = 6


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
    _lift_bypassed(graph, placed, column, row)
    _wrap(placed, len(generations), column, row)
    return placed


def _wrap(placed: dict[str, tuple[float, float]], columns: int, column: float,
          row: float) -> None:
    """Cut a deep layout into bands of at most `MAX_COLUMNS` columns (balanced, so the last
    band is not a stub), stacked top to bottom with a row of space between them."""
    if columns <= MAX_COLUMNS:
        return
    bands = -(-columns // MAX_COLUMNS)
    per_band = -(-columns // bands)
    members: dict[int, list[str]] = {}
    for node_id, (x, _y) in placed.items():
        members.setdefault(min(int(round(x / column)) // per_band, bands - 1),
                           []).append(node_id)
    top = 0.0
    for band in sorted(members):
        ys = [placed[n][1] for n in members[band]]
        low, high = min(ys), max(ys)
        for node_id in members[band]:
            x, y = placed[node_id]
            placed[node_id] = (x - band * per_band * column, top + (y - low))
        top += (high - low) + 2 * row


def _lift_bypassed(graph: Graph, placed: dict[str, tuple[float, float]], column: float,
                   row: float) -> None:
    """A wire that skips columns along a row (a residual join, ``x * sigmoid(x)``) would run
    straight through the blocks between its ends and hide behind them; lift those blocks
    a row (half a row where that is taken) so the wire shows."""
    lifted: set[str] = set()
    for edge in graph.edges:
        if edge.src not in placed or edge.dst not in placed:
            continue
        (x0, y0), (x1, y1) = placed[edge.src], placed[edge.dst]
        if abs(y0 - y1) > 1e-6 or x1 - x0 <= column * 1.5:
            continue
        for node_id, (x, y) in list(placed.items()):
            if x0 < x < x1 and abs(y - y0) < 1e-6 and node_id not in lifted:
                taken = any(abs(px - x) < 1e-6 and abs(py - (y - row)) < row / 2
                            for other, (px, py) in placed.items() if other != node_id)
                placed[node_id] = (x, y - (row / 2 if taken else row))
                lifted.add(node_id)
