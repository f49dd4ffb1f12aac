"""Automatic layout: a layered drawing that reads left to right.

Used for imported graphs, files without positions and Auto-layout (Ctrl+L). The steps are
the classic layered (Sugiyama) ones, kept small:

1. Layers by longest path, so every wire points right; a block without inputs (a second
   Input) sits just before the first block it feeds, not far off at the left edge.
2. The main path, the longest chain from an input to an output, is one straight row.
3. Within each layer blocks are ordered to cut wire crossings (barycentre sweeps over the
   layered graph, long wires stood in for by dummy points that keep a lane free).
4. A wire that skips over blocks of the main row (a residual join) is drawn by the canvas
   as an arc above the row; the layout leaves `ARC_ROOM` free above that row for it.
5. Each gap between two columns is as wide as the widest shape label on its wires needs,
   so labels are never cut.
6. A graph too long to read in one row wraps into bands stacked top to bottom,
   `BAND_GAP` apart; the wire between two bands runs in that gap. The number of bands is
   the fewest that show the graph at `COMFORT_ZOOM` in the canvas (else the one that
   shows it biggest; one row is kept down to `ONE_ROW_ZOOM`), and bands are cut where the
   fewest wires cross.

The engine does not know how big the canvas draws a block or a label: the GUI passes a
`Measure`; without one (headless import) `DEFAULT_MEASURE` guesses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .graph import Edge, Graph

#: The shortest wire between two neighbouring columns (port to port).
MIN_WIRE = 56.0
#: Clear space each side of a shape label, inside the gap it sits in.
LABEL_PAD = 24.0
#: Vertical space between two rows of blocks.
ROW_GAP = 72.0
#: How far above the tops of the blocks it passes an arc over the main row runs (the canvas
#: draws it there: gui.canvas.routing), and the space the layout keeps free for it and its
#: label.
ARC_RISE = 30.0
ARC_ROOM = ARC_RISE + 9.0 + 16.0
#: Vertical space between two bands of a wrapped graph: the wire from one band to the next
#: runs along it.
BAND_GAP = 130.0
#: A graph is wrapped into bands, read like lines of text, until it shows at this zoom in
#: the canvas, so a deep import does not shrink to a thin strip when fitted to the window.
COMFORT_ZOOM = 0.7
#: One row reads best: it is kept down to this zoom (where the canvas still draws the
#: wires' shape labels, gui.canvas.edge_item.LABEL_ZOOM). No band is shorter than 3 layers.
ONE_ROW_ZOOM = 0.55
#: The most bands tried (a 10,000-block import is not made readable by more).
MAX_BANDS = 60
#: The margin round a fitted graph (gui.canvas.view), for the zoom it will get.
FIT_MARGIN = 120.0
#: Sweeps of crossing reduction (each one down and one up).
SWEEPS = 6

Pos = tuple[float, float]


@dataclass(frozen=True)
class Measure:
    """How the canvas draws what the layout places."""

    #: node id -> (width, height) of its block
    size: Callable[[str], tuple[float, float]]
    #: edge -> width of its shape label (0: no label)
    label: Callable[[Edge], float]
    #: the canvas's size in pixels: a deep graph wraps into as many bands as show it
    #: biggest there
    view: tuple[float, float] = (1000.0, 640.0)


#: A block 190 wide and 80 tall and a label of ``N×128×14×14``: the canvas's usual sizes.
DEFAULT_MEASURE = Measure(size=lambda _node_id: (190.0, 80.0), label=lambda _edge: 90.0)


def auto_layout(graph: Graph, measure: Measure | None = None) -> dict[str, Pos]:
    """A top-left position for every node (see the module docstring)."""
    measure = measure or DEFAULT_MEASURE
    ids = [n.id for n in graph.nodes]
    if not ids:
        return {}
    edges = _acyclic_edges(graph, ids)
    layer = _layers(ids, edges)
    main = _main_path(ids, edges, layer)
    layers = _order(ids, edges, layer, main)
    on_main = set(main)
    size = {n: measure.size(n) for members in layers for n in members if n[0] != "\0"}
    gaps = _gaps(edges, layer, measure)
    crossing = _crossing_counts(len(layers), edges, layer)
    best: dict[str, Pos] = {}
    best_zoom, best_count = -1.0, 0
    most = min(MAX_BANDS, max(1, len(layers) // 3))
    for count in range(1, most + 1):
        placed = _place(layers, _bands(len(layers), count, crossing), on_main, edges,
                        layer, size, gaps)
        zoom = _fit_zoom(placed, size, measure.view)
        if zoom > best_zoom + 1e-9:
            best, best_zoom, best_count = placed, zoom, count
        enough = ONE_ROW_ZOOM if count == 1 else COMFORT_ZOOM
        if best_zoom >= enough or count > best_count + 1:  # good enough, or past it
            break
    return best


def _fit_zoom(placed: dict[str, Pos], size: dict[str, tuple[float, float]],
              view: tuple[float, float]) -> float:
    width = max(x + size[n][0] for n, (x, _) in placed.items()) - min(x for x, _ in placed.values())
    height = max(y + size[n][1] for n, (_, y) in placed.items()) - min(y for _, y in
                                                                       placed.values())
    return min(view[0] / (width + FIT_MARGIN), view[1] / (height + FIT_MARGIN))


def _gaps(edges: list[Edge], layer: dict[str, int], measure: Measure) -> dict[int, float]:
    """Layer -> the width of the gap after it: its widest label's room, or `MIN_WIRE`."""
    room: dict[int, float] = {}
    for edge in edges:
        a, b = layer[edge.src], layer[edge.dst]
        if b - a == 1:
            room[a] = max(room.get(a, MIN_WIRE), measure.label(edge) + 2 * LABEL_PAD)
    return room


# ---- 1. layers ------------------------------------------------------------------------------


def _acyclic_edges(graph: Graph, ids: list[str]) -> list[Edge]:
    """The edges, less self-loops and those closing a loop (found depth first, in file
    order), so the rest can be layered."""
    out: dict[str, list[Edge]] = {i: [] for i in ids}
    for edge in graph.edges:
        if edge.src != edge.dst and edge.src in out and edge.dst in out:
            out[edge.src].append(edge)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    back: set[int] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            edge = next(children, None)
            if edge is None:
                state[node] = 2
                stack.pop()
            elif state.get(edge.dst) == 1:
                back.add(id(edge))
            elif edge.dst not in state:
                state[edge.dst] = 1
                stack.append((edge.dst, iter(out[edge.dst])))
    return [e for es in out.values() for e in es if id(e) not in back]


def _topological(ids: list[str], edges: list[Edge]) -> list[str]:
    """Kahn's order, ties in file order (so the same file always lays out the same)."""
    import heapq

    index = {n: i for i, n in enumerate(ids)}
    indegree = {n: 0 for n in ids}
    succ: dict[str, list[str]] = {n: [] for n in ids}
    for e in edges:
        indegree[e.dst] += 1
        succ[e.src].append(e.dst)
    ready = [index[n] for n in ids if indegree[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = ids[heapq.heappop(ready)]
        order.append(node)
        for s in succ[node]:
            indegree[s] -= 1
            if indegree[s] == 0:
                heapq.heappush(ready, index[s])
    return order


def _layers(ids: list[str], edges: list[Edge]) -> dict[str, int]:
    preds: dict[str, list[str]] = {n: [] for n in ids}
    succs: dict[str, list[str]] = {n: [] for n in ids}
    for e in edges:
        preds[e.dst].append(e.src)
        succs[e.src].append(e.dst)
    layer: dict[str, int] = {}
    for node in _topological(ids, edges):
        layer[node] = max((layer[p] + 1 for p in preds[node]), default=0)
    for node in ids:  # a source sits just before what it feeds
        if not preds[node] and succs[node]:
            layer[node] = max(layer[node], min(layer[s] for s in succs[node]) - 1)
    return layer


# ---- 2. the main path ---------------------------------------------------------------------


def _main_path(ids: list[str], edges: list[Edge], layer: dict[str, int]) -> list[str]:
    """The longest chain (by blocks), ties to the earlier block in the file; it has one
    block in every layer from 0 to its end."""
    index = {n: i for i, n in enumerate(ids)}
    preds: dict[str, list[str]] = {n: [] for n in ids}
    for e in edges:
        preds[e.dst].append(e.src)
    length: dict[str, int] = {}
    back: dict[str, str | None] = {}
    for node in _topological(ids, edges):
        best = min(preds[node], key=lambda p: (-length[p], index[p]), default=None)
        length[node] = 1 + (length[best] if best is not None else 0)
        back[node] = best
    end: str | None = max(ids, key=lambda n: (length[n], index[n]))
    path = []
    while end is not None:
        path.append(end)
        end = back[end]
    path.reverse()
    # A source pulled right (see _layers) may leave the path's start off layer 0's slot;
    # keep only the part that steps one layer at a time.
    return [n for i, n in enumerate(path) if layer[n] == layer[path[0]] + i]


def skips_over(edge: Edge, layer: dict[str, int], main: set[str]) -> bool:
    """Whether `edge` joins two blocks of the main row past others (drawn as an arc)."""
    return edge.src in main and edge.dst in main and layer[edge.dst] - layer[edge.src] > 1


# ---- 3. order within layers ---------------------------------------------------------------


def _order(ids: list[str], edges: list[Edge], layer: dict[str, int],
           main: list[str]) -> list[list[str]]:
    """Each layer's members top to bottom: block ids and dummy points (``"\\0..."``) of the
    long wires that do not arc over the main row."""
    on_main = set(main)
    depth = max(layer.values()) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for node in ids:
        layers[layer[node]].append(node)
    links: list[tuple[str, str]] = []  # between neighbouring layers only
    for k, edge in enumerate(edges):
        a, b = layer[edge.src], layer[edge.dst]
        if b - a <= 1 or skips_over(edge, layer, on_main):
            if b - a == 1:
                links.append((edge.src, edge.dst))
            continue
        prev = edge.src
        for step in range(a + 1, b):
            dummy = f"\0{k}:{step}"
            layers[step].append(dummy)
            links.append((prev, dummy))
            prev = dummy
        links.append((prev, edge.dst))
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for a, b in links:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)

    best = [list(members) for members in layers]
    best_crossings = _crossings(best, down)
    for _ in range(SWEEPS):
        for i in range(1, depth):
            _sort_by_barycentre(layers[i], layers[i - 1], up)
        for i in range(depth - 2, -1, -1):
            _sort_by_barycentre(layers[i], layers[i + 1], down)
        crossings = _crossings(layers, down)
        if crossings < best_crossings:
            best, best_crossings = [list(m) for m in layers], crossings
        if best_crossings == 0:
            break
    return best


def _sort_by_barycentre(members: list[str], fixed: list[str],
                        neighbours: dict[str, list[str]]) -> None:
    where = {n: i for i, n in enumerate(fixed)}
    keys = {}
    for i, node in enumerate(members):
        near = [where[n] for n in neighbours.get(node, ()) if n in where]
        keys[node] = (sum(near) / len(near)) if near else float(i)
    members.sort(key=lambda n: keys[n])  # stable: ties keep their order


def _crossings(layers: list[list[str]], down: dict[str, list[str]]) -> int:
    """Wire crossings between neighbouring layers (inversions, counted by merge sort)."""
    total = 0
    for upper, lower in zip(layers, layers[1:]):
        where = {n: i for i, n in enumerate(lower)}
        ends = [where[b] for a in upper for b in sorted(down.get(a, ()), key=where.get)
                if b in where]
        total += _inversions(ends)
    return total


def _inversions(values: list[int]) -> int:
    if len(values) < 2:
        return 0
    mid = len(values) // 2
    left, right = sorted(values[:mid]), sorted(values[mid:])
    count = _inversions(values[:mid]) + _inversions(values[mid:])
    j = 0
    for x in left:  # pairs (x in left, y in right) with y < x
        while j < len(right) and right[j] < x:
            j += 1
        count += j
    return count


# ---- 6. bands -----------------------------------------------------------------------------


def _crossing_counts(depth: int, edges: list[Edge], layer: dict[str, int]) -> list[int]:
    """Cut -> how many wires a cut before layer `cut` would cross."""
    diff = [0] * (depth + 2)
    for e in edges:
        diff[layer[e.src] + 1] += 1
        diff[layer[e.dst] + 1] -= 1
    out, running = [], 0
    for value in diff:
        running += value
        out.append(running)
    return out


def _bands(depth: int, count: int, crossing: list[int]) -> list[tuple[int, int]]:
    """(first layer, end layer) of each of `count` bands: balanced (one layer more or less
    where that saves a cut through a skip), cut where the fewest wires cross."""
    if count <= 1:
        return [(0, depth)]
    most = -(-depth // count) + 1

    cuts = [0]
    for j in range(1, count):
        ideal = round(j * depth / count)
        options = [c for c in (ideal - 1, ideal, ideal + 1)
                   if cuts[-1] + 2 <= c <= depth - 2 and c - cuts[-1] <= most]
        cuts.append(min(options, key=lambda c: (crossing[c], abs(c - ideal)))
                    if options else ideal)
    cuts.append(depth)
    return list(zip(cuts, cuts[1:]))


# ---- 4, 5. coordinates --------------------------------------------------------------------


def _place(layers: list[list[str]], bands: list[tuple[int, int]], on_main: set[str],
           edges: list[Edge], layer: dict[str, int], size: dict[str, tuple[float, float]],
           room: dict[int, float]) -> dict[str, Pos]:
    arcs: set[int] = set()  # bands with an arc over their main row
    band_of = {k: b for b, (lo, hi) in enumerate(bands) for k in range(lo, hi)}
    for edge in edges:
        a, b = layer[edge.src], layer[edge.dst]
        if skips_over(edge, layer, on_main) and band_of[a] == band_of[b]:
            arcs.add(band_of[a])
    placed: dict[str, Pos] = {}
    top = 0.0
    for b, (lo, hi) in enumerate(bands):
        rows: dict[str, int] = {}
        for k in range(lo, hi):
            members = layers[k]
            anchor = next((i for i, n in enumerate(members) if n in on_main), -1)
            for i, node in enumerate(members):
                rows[node] = i - anchor
        real = [n for n in rows if n[0] != "\0"]
        tallest = max((size[n][1] for n in real), default=0.0)
        pitch = tallest + ROW_GAP
        above = max(pitch, tallest + ARC_ROOM) if b in arcs else pitch

        def y_of(row: int, pitch: float = pitch, above: float = above) -> float:
            return row * pitch if row >= 0 else -(above + (-row - 1) * pitch)

        low = min(min(y_of(r) for r in rows.values()), -ARC_ROOM if b in arcs else 0.0)
        high = max((y_of(rows[n]) + size[n][1] for n in real), default=0.0)
        x = 0.0
        for k in range(lo, hi):
            blocks = [n for n in layers[k] if n[0] != "\0"]
            for node in blocks:
                placed[node] = (round(x, 1), round(top - low + y_of(rows[node]), 1))
            x += max((size[n][0] for n in blocks), default=0.0)
            x += max(MIN_WIRE, room.get(k, 0.0))
        top += (high - low) + BAND_GAP
    return placed
