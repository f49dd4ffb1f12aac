"""CanvasScene: mirrors a document's graph as items and turns gestures into engine edits.

The scene never stores model state: it builds items from the graph, follows the engine's
events, and asks the engine for every change (a wire, a move, a delete) through
`Document.edit`. Positions live on the engine nodes; items only show them.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QTransform
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from torchloom.engine.edits import plan_connect, plan_delete, plan_moves
from torchloom.engine.events import Event
from torchloom.engine.graph import Edge, block_for
from torchloom.engine.layout import DEFAULT_MEASURE, Measure, auto_layout
from torchloom.engine.ports import source_spec

from .. import theme
from ..document import Document
from .edge_item import BOUNDS, DraftWire, EdgeItem, label_width
from .node_item import WIDTH, NodeItem, declared_outputs, node_bounds
from .overview import Overview, wants_overview
from .placement import CHAIN_GAP, Rect, free_offset, union
from .style import format_shape

SCENE_HALF = 100_000.0


class CanvasScene(QGraphicsScene):
    #: The selected node ids changed (the inspector follows).
    node_selection_changed = Signal(list)
    #: A node was double-clicked (a unit node opens; gui.units).
    node_double_clicked = Signal(str)

    def __init__(self, document: Document) -> None:
        super().__init__()
        self.document = document
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[int, EdgeItem] = {}
        self._draft: DraftWire | None = None
        self._draft_from: tuple[str, str, str | None] | None = None
        self.read_only = False
        self._dirty: list[QRectF] = []  # where blocks moved since wires were last routed
        self._routed: set[EdgeItem] = set()  # wires going round blocks (arcs, channels)
        self._reselect: str | None = None  # a renamed block's new id, to select once re-added
        #: the NodeInfo each block shows; an analysis whose NodeInfo is the same object
        #: changed nothing there (`engine.shapes_incremental`), so its items are skipped
        self._shown: dict[str, object] = {}
        self._unlabelled: list[Edge] = []  # wires added since the last analysis
        self._rewire_timer = QTimer(self)
        self._rewire_timer.setSingleShot(True)
        self._rewire_timer.timeout.connect(self.reroute_wires)
        self.setSceneRect(-SCENE_HALF, -SCENE_HALF, 2 * SCENE_HALF, 2 * SCENE_HALF)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)
        self.setBackgroundBrush(QColor(theme.current().background))
        #: Far out on a big graph, this draws the blocks and wires instead of their items
        #: (gui/canvas/overview.py).
        self.overview = Overview(self)
        self.addItem(self.overview)
        self._place_unplaced()
        for node in document.graph.nodes:
            self._add_node_item(node)
        for edge in document.graph.edges:  # routed once all are in: one index, not one per wire
            self._add_edge_item(edge, route=False)
        for item in self.edge_items.values():
            item.update_path()
            if item.routed:
                self._routed.add(item)
        document.graph_event.connect(self._on_event)
        document.analysis_changed.connect(self.apply_analysis)
        self.selectionChanged.connect(self._on_selection)
        if document.analysis is not None:
            self.apply_analysis()

    # ---- building ----------------------------------------------------------------------

    def _place_unplaced(self) -> None:
        """Files without positions (imports, hand-written JSON) get an automatic layout; it is
        not an edit, so it neither dirties the document nor goes on the undo stack."""
        graph = self.document.graph
        if any(n.pos is None for n in graph.nodes):
            positions = auto_layout(graph)
            for node in graph.nodes:
                if node.pos is None:
                    node.pos = positions[node.id]

    def _add_node_item(self, node) -> NodeItem:  # type: ignore[no-untyped-def]
        item = NodeItem(node)
        if getattr(self, "read_only", False):
            item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, False)
        item.setPos(QPointF(*(node.pos or (0.0, 0.0))))
        item.on_moved = self._on_item_moved
        self._shown.pop(node.id, None)
        self.addItem(item)
        if self.overview.isVisible():
            item.setOpacity(0.0)
        self.node_items[node.id] = item
        return item

    def _add_edge_item(self, edge: Edge, route: bool = True) -> None:
        src, dst = self.node_items.get(edge.src), self.node_items.get(edge.dst)
        if src is None or dst is None:
            return
        item = EdgeItem(edge, src, dst, self.document.graph.port_of(edge))
        self._unlabelled.append(edge)
        self.addItem(item)
        if self.overview.isVisible():
            item.setOpacity(0.0)
        self.edge_items[id(edge)] = item
        if route:
            item.update_path()  # now that it can see the blocks in its way
            if item.routed:
                self._routed.add(item)

    def _remove_edge_item(self, edge: Edge) -> None:
        item = self.edge_items.pop(id(edge), None)
        if item is not None:
            self.removeItem(item)

    def _refresh_ports(self, node_id: str) -> None:
        """Edges into a node may change port when another edge comes or goes (portless
        edges take the first free port)."""
        graph = self.document.graph
        if node_id not in graph:
            return
        for edge in graph.in_edges(node_id):
            item = self.edge_items.get(id(edge))
            if item is not None:
                item.port = graph.port_of(edge)
                item.update_path()

    def set_overview(self, zoom: float) -> None:
        """The view's zoom changed: far out on a big graph, draw the overview instead of
        the items (see gui/canvas/overview.py)."""
        on = wants_overview(zoom, len(self.node_items))
        if on == self.overview.isVisible():
            return
        opacity = 0.0 if on else 1.0  # Qt skips a fully transparent item: no paint call
        for item in (*self.node_items.values(), *self.edge_items.values()):
            item.setOpacity(opacity)
        self.overview.show_overview(on)

    def _on_event(self, event: Event) -> None:
        self.overview.mark_stale()
        kind = event.kind
        if kind == "node_renamed":  # removed and added again under the new id: stay selected
            item = self.node_items.get(event.old)
            self._reselect = event.new if item is not None and item.isSelected() else None
        elif kind == "node_added":
            item = self._add_node_item(event.node)
            if event.node.id == self._reselect:
                self._reselect = None
                item.setSelected(True)
        elif kind == "node_removed":
            item = self.node_items.pop(event.node.id, None)
            if item is not None:
                self.removeItem(item)
        elif kind == "edge_added":
            self._add_edge_item(event.edge)
            self._refresh_ports(event.edge.dst)
        elif kind == "edge_removed":
            self._remove_edge_item(event.edge)
            self._refresh_ports(event.edge.dst)
        elif kind == "node_changed":  # a unit's repeat, a frozen block's hatching
            item = self.node_items.get(event.node.id)
            if item is not None:
                item.setToolTip(item._tooltip())
                item.update()
        elif kind == "node_moved":
            item = self.node_items.get(event.node.id)
            if item is not None and event.node.pos is not None:
                target = QPointF(*event.node.pos)
                if item.pos() != target:
                    item.setPos(target)

    def apply_analysis(self) -> None:
        """Shapes, parameter counts and problems onto the items of the nodes whose analysis
        changed, and onto their wires; only changed ones repaint."""
        analysis = self.document.analysis
        if analysis is None:
            return
        self.overview.mark_stale()
        graph = self.document.graph
        ports_moved: set[str] = set()
        ends = getattr(analysis, "outputs", ()) or (analysis.output,)  # each head's too
        shown, nodes = self._shown, analysis.nodes
        changed = [n for n in self.node_items
                   if n in nodes and nodes[n] is not shown.get(n)]
        for node_id in changed:
            item, info = self.node_items[node_id], nodes[node_id]
            shown[node_id] = info
            item.set_info(info.spec, info.num_params, info.errors, node_id in ends,
                          info.outputs)
            # measured ports (a Split by size has as many as its input holds), else the
            # ones its parameters declare (an upstream block failed)
            names = list(info.outputs) or declared_outputs(item.node.block,
                                                           item.node.resolved_params())
            if item.set_outputs(names):
                ports_moved.add(node_id)
        wires = {id(e): e for e in self._unlabelled if e.src in graph and e.dst in graph}
        self._unlabelled = []
        for node_id in changed:  # a wire shows its source's shape and its target's errors
            wires.update((id(e), e) for e in graph.in_edges(node_id))
            wires.update((id(e), e) for e in graph.out_edges(node_id))
        for edge in wires.values():
            item = self.edge_items.get(id(edge))
            info = analysis.nodes.get(edge.src)
            if item is None or info is None:
                continue
            if edge.src in ports_moved:
                item.update_path()
            port = graph.port_of(edge)
            broken = any(getattr(e, "port", None) == port and e.severity == "error"
                         for e in analysis.nodes[edge.dst].errors)
            spec = source_spec(graph, info, edge) if info.outputs else None
            spec = spec if not isinstance(spec, str) else None  # a stale port: no shape
            item.set_info(format_shape(spec.shape) if spec else "", bool(spec and spec.is_int),
                          broken)

    # ---- moving ------------------------------------------------------------------------

    def _on_item_moved(self, item: NodeItem) -> None:
        graph = self.document.graph
        node_id = item.node.id
        if node_id not in graph:
            return
        for edge in graph.in_edges(node_id) + graph.out_edges(node_id):
            edge_item = self.edge_items.get(id(edge))
            if edge_item is not None:
                edge_item.update_path()
        self._dirty.append(item.body_rect())
        self.overview.mark_stale()
        if not self._rewire_timer.isActive():
            self._rewire_timer.start(0)  # once for a whole layout's or drag's moves

    def reroute_wires(self) -> None:
        """Wires a moved block now stands in the way of, or no longer does, find their way
        again: every routed wire, and every wire whose path meets where a block moved."""
        dirty, self._dirty = self._dirty, []
        self._rewire_timer.stop()
        near = {i for r in dirty for i in self.items(r, BOUNDS) if isinstance(i, EdgeItem)}
        for item in near | self._routed:  # the scene's index, not every wire, per drag step
            if item.scene() is self:
                item.update_path()
        self._routed = {i for i in self._routed | near if i.routed and i.scene() is self}

    def layout_measure(self) -> Measure:
        """Auto-layout's view of this canvas: each block's size and its wires' label widths
        (a wire whose shape is not known yet gets the usual width)."""
        labels = {id(item.edge): label_width(item.label)
                  for item in self.edge_items.values() if item.label}

        def size(node_id: str) -> tuple[float, float]:
            item = self.node_items.get(node_id)
            if item is None:
                return DEFAULT_MEASURE.size(node_id)
            rect = item.body_rect()
            return (rect.width(), rect.height())

        views = self.views()
        shown = views[0].viewport().size() if views else None
        view = (float(shown.width()), float(shown.height())) if shown else DEFAULT_MEASURE.view
        return Measure(size=size,
                       label=lambda edge: labels.get(id(edge), DEFAULT_MEASURE.label(edge)),
                       view=view)

    def commit_moves(self) -> None:
        """After a drag: one undo step for every node that moved."""
        graph = self.document.graph
        moved = {}
        for node_id, item in self.node_items.items():
            pos = (round(item.pos().x(), 1), round(item.pos().y(), 1))
            node = graph.node(node_id)
            if node.pos is None or (round(node.pos[0], 1), round(node.pos[1], 1)) != pos:
                moved[node_id] = pos
        if moved:
            what = next(iter(moved)) if len(moved) == 1 else f"{len(moved)} blocks"
            self.document.edit(plan_moves(moved), f"Move {what}")

    # ---- placing new blocks ------------------------------------------------------------

    def block_bounds(self, type_name: str, pos: tuple[float, float]) -> Rect:
        """What a block of `type_name` at `pos` would cover (a `NodeItem`'s bounds)."""
        block = block_for(type_name, self.document.graph.units)
        ports = max(len(block.inputs), len(declared_outputs(block, {
            name: decl.default for name, decl in block.params.items()}))) if block else 1
        r = node_bounds(ports, type_name.startswith("unit:")).translated(*pos)
        return (r.left(), r.top(), r.right(), r.bottom())

    def taken_rects(self, exclude: tuple[str, ...] = ()) -> list[Rect]:
        """What every block on the canvas covers (but `exclude`), for `free_offset`."""
        rects = []
        for node_id, item in self.node_items.items():
            if node_id not in exclude:
                r = item.sceneBoundingRect()
                rects.append((r.left(), r.top(), r.right(), r.bottom()))
        return rects

    def free_pos(self, type_name: str, pos: tuple[float, float],
                 min_x: float | None = None) -> tuple[float, float]:
        """The free spot nearest to `pos` for a new block (its top-left, as `Node.pos`);
        with `min_x`, never left of it."""
        box = self.block_bounds(type_name, pos)
        min_left = None if min_x is None else box[0] + (min_x - pos[0])
        dx, dy = free_offset(box, self.taken_rects(), min_left=min_left)
        return (round(pos[0] + dx, 1), round(pos[1] + dy, 1))

    def group_offset(self, blocks: list[tuple[str, tuple[float, float]]],
                     at: tuple[float, float] | None = None) -> tuple[float, float]:
        """How far to shift pasted `blocks` (type, position) as one group: its middle to
        `at` (the mouse), or where they are (beside the copied ones), then by the smallest
        offset that clears every block here, so a paste never lands on anything."""
        if not blocks:
            return (0.0, 0.0)
        box = union([self.block_bounds(type_name, pos) for type_name, pos in blocks])
        dx, dy = (0.0, 0.0) if at is None else (at[0] - (box[0] + box[2]) / 2,
                                                 at[1] - (box[1] + box[3]) / 2)
        fx, fy = free_offset((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy),
                             self.taken_rects())
        return (round(dx + fx, 1), round(dy + fy, 1))

    def pos_after(self, node_id: str, type_name: str) -> tuple[float, float]:
        """Where a block added after `node_id` goes: a wire's length to its right, level with
        it, or the nearest free spot that is not further left."""
        item = self.node_items[node_id]
        x = item.pos().x() + WIDTH + CHAIN_GAP  # output port to input port
        return self.free_pos(type_name, (x, item.pos().y()), min_x=x)

    # ---- selection ---------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        return [item.node.id for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_edges(self) -> list[Edge]:
        return [item.edge for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            item = self.node_items.get(node_id)
            if item is not None:
                item.setSelected(True)

    def _on_selection(self) -> None:
        self.overview.mark_stale()
        self.node_selection_changed.emit(self.selected_node_ids())

    def delete_selection(self) -> bool:
        nodes, edges = self.selected_node_ids(), self.selected_edges()
        if not nodes and not edges:
            return False
        count = len(nodes) + len(edges)
        text = f"Delete {nodes[0]}" if count == 1 and nodes else f"Delete {count} items"
        return self.document.plan_and_edit(
            lambda: plan_delete(self.document.graph, nodes, edges), text)

    def node_items_at(self, pos: QPointF) -> list[NodeItem]:
        return [item for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                                            Qt.SortOrder.DescendingOrder, QTransform())
                if isinstance(item, NodeItem)]

    def node_item_at(self, pos: QPointF) -> NodeItem | None:
        found = self.node_items_at(pos)
        return found[0] if found else None

    def port_at(self, pos: QPointF) -> tuple[NodeItem, tuple[str, str | None]] | None:
        """The port under `pos`, looking through overlapping blocks (a port beats a body)."""
        for item in self.node_items_at(pos):
            port = item.port_at(pos)
            if port is not None:
                return item, port
        return None

    def set_read_only(self, read_only: bool) -> None:
        """While training: blocks can be selected and inspected, not moved or wired."""
        self.read_only = read_only
        for item in self.node_items.values():
            item.setFlag(NodeItem.GraphicsItemFlag.ItemIsMovable, not read_only)

    # ---- wiring ------------------------------------------------------------------------

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            hit = self.port_at(event.scenePos())
            if hit is not None and self.read_only:
                self.document.message.emit(self.document.locked or "The graph is read-only")
                event.accept()
                return
            if hit is not None:
                item, (kind, name) = hit
                start = (item.output_port_pos(name) if kind == "out"
                         else item.input_port_pos(name))
                self._draft = DraftWire(start, from_output=kind == "out")
                self._draft_from = (kind, item.node.id, name)
                self.addItem(self._draft)
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._draft is not None:
            self._draft.move_to(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._draft is not None:
            self.removeItem(self._draft)
            self._draft = None
            start, self._draft_from = self._draft_from, None
            self._finish_wire(start, event.scenePos())  # type: ignore[arg-type]
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self.commit_moves()

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        super().mouseDoubleClickEvent(event)
        item = self.node_item_at(event.scenePos())
        if event.button() == Qt.MouseButton.LeftButton and item is not None:
            self.node_double_clicked.emit(item.node.id)

    def _finish_wire(self, start: tuple[str, str, str | None], pos: QPointF) -> None:
        """Drop on a port: wire it. Drop on a node: its first free input (or its output, when
        dragging from an input; of a block with several, the first not wired yet). Drop on
        empty canvas: nothing. A wire from one output of several names it (`from_port`)."""
        kind, node_id, port = start
        on_port = self.port_at(pos)
        target = on_port[0] if on_port else self.node_item_at(pos)
        if target is None or target.node.id == node_id and on_port is None:
            return
        hit = on_port[1] if on_port else None
        if kind == "out":
            src, dst, from_port = node_id, target.node.id, port
            dst_port = hit[1] if hit and hit[0] == "in" else None
        else:
            src, dst, dst_port = target.node.id, node_id, port
            from_port = hit[1] if hit and hit[0] == "out" else None
        graph = self.document.graph
        self.document.plan_and_edit(lambda: plan_connect(graph, src, dst, dst_port, from_port),
                                    f"Connect {src} → {dst}")

    def connect_nodes(self, src: str, dst: str, port: str | None = None) -> bool:
        graph = self.document.graph
        return self.document.plan_and_edit(lambda: plan_connect(graph, src, dst, port),
                                           f"Connect {src} → {dst}")
