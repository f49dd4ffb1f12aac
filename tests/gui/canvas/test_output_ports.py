"""A block with several outputs on the canvas: one port per piece, wires that name theirs."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from torchloom.engine.edits import plan_add, plan_connect

from ..conftest import drag, settle


def _chunk_of_three(canvas) -> None:
    """x [N, 1, 28, 28] -> Chunk(chunks=4, dim=1) with no wire from it yet, and three ReLUs."""
    doc = canvas.new_project()
    ops = plan_add(doc.graph, "Chunk", (300.0, 0.0), {"chunks": 4, "dim": 1}, "chunk")
    doc.edit(ops, "add")
    for i in range(3):
        doc.edit(plan_add(doc.graph, "ReLU", (600.0, -120.0 + 140 * i), node_id=f"relu{i}"),
                 "add")
    doc.edit(plan_connect(doc.graph, "x", "chunk"), "wire")
    settle()


def test_a_chunk_shows_one_labelled_port_per_piece(canvas):
    _chunk_of_three(canvas)
    item = canvas.scene.node_items["chunk"]
    assert item.output_names == ["out0", "out1", "out2", "out3"]
    ports = [item.output_port_pos(name) for name in item.output_names]
    assert len({p.y() for p in ports}) == 4  # stacked, not drawn on top of each other
    assert item.shape_text == "4 × N×1×7×28"
    assert canvas.scene.node_items["x"].output_names == ["out"]


def test_dragging_from_the_second_port_wires_that_piece_and_undo_takes_it_back(canvas):
    _chunk_of_three(canvas)
    doc = canvas.document
    chunk, relu = canvas.scene.node_items["chunk"], canvas.scene.node_items["relu1"]
    before = doc.undo_stack.count()
    drag(canvas, chunk.output_port_pos("out1"), relu.input_port_pos(None))
    (edge,) = doc.graph.out_edges("chunk")
    assert (edge.dst, edge.from_port) == ("relu1", "out1")
    wire = next(i for i in canvas.scene.edge_items.values() if i.edge is edge)
    assert wire.label == "N×1×7×28"
    start = wire._path.pointAtPercent(0)  # noqa: SLF001 - where the drawn wire begins
    assert abs(start.y() - chunk.output_port_pos("out1").y()) < 1  # leaves from its port
    assert doc.undo_stack.count() == before + 1
    doc.undo_stack.undo()
    settle()
    assert doc.graph.out_edges("chunk") == []
    doc.undo_stack.redo()
    settle()
    assert [e.from_port for e in doc.graph.out_edges("chunk")] == ["out1"]


def test_a_wire_whose_piece_went_away_shows_a_problem_and_the_canvas_keeps_running(canvas):
    _chunk_of_three(canvas)
    doc = canvas.document
    chunk = canvas.scene.node_items["chunk"]
    drag(canvas, chunk.output_port_pos("out3"), canvas.scene.node_items["relu2"]
         .input_port_pos(None))
    from torchloom.engine.edits import plan_set_param

    doc.edit(plan_set_param(doc.graph, "chunk", "chunks", 2), "fewer chunks")
    settle()
    assert chunk.output_names == ["out0", "out1"]
    relu = canvas.scene.node_items["relu2"]
    assert relu.severity == "error"
    assert any("out3" in e.message and "out0, out1" in e.message for e in relu.errors)
    (wire,) = [i for i in canvas.scene.edge_items.values() if i.edge.src == "chunk"]
    assert wire.broken and wire.label == ""  # red, and no shape it does not carry


def test_dragging_from_an_input_onto_a_piece_names_it(canvas):
    _chunk_of_three(canvas)
    doc = canvas.document
    chunk, relu = canvas.scene.node_items["chunk"], canvas.scene.node_items["relu0"]
    drag(canvas, relu.input_port_pos(None), chunk.output_port_pos("out2") + QPointF(1, 1))
    assert [(e.dst, e.from_port) for e in doc.graph.out_edges("chunk")] == [("relu0", "out2")]
