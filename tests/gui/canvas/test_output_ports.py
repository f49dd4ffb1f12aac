"""A block with several outputs on the canvas: one port per piece, wires that name theirs."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from torchloom.engine.edits import plan_add, plan_connect, plan_set_param

from ..conftest import drag, settle


def _chunk_of_three(canvas) -> None:
    """x [N, 1, 28, 28] -> Chunk(chunks=4, dim=1) with no wire from it yet, and three ReLUs.
    `canvas` is the canvas alone (its new_project gives the document) or the window."""
    doc = canvas.new_project() or canvas.document
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


def _lstm_both(window, output: str = "both") -> None:
    """x [N, 12, 8] -> LSTM(hidden_size=16, output) and two ReLUs to wire its outputs into."""
    window.new_project()
    settle()
    doc = window.document
    doc.edit(plan_set_param(doc.graph, "x", "shape", [12, 8]), "sequence input")
    doc.edit(plan_add(doc.graph, "LSTM", (300.0, 0.0), {"hidden_size": 16, "output": output},
                      "lstm"), "add")
    for i in range(2):
        doc.edit(plan_add(doc.graph, "ReLU", (600.0, -80.0 + 160 * i), node_id=f"relu{i}"),
                 "add")
    doc.edit(plan_connect(doc.graph, "x", "lstm"), "wire")
    settle()


def test_a_recurrent_block_giving_both_shows_a_sequence_and_a_hidden_port(window, tmp_path):
    _lstm_both(window)
    doc = window.document
    lstm = window.scene.node_items["lstm"]
    assert lstm.output_names == ["sequence", "hidden"]
    assert lstm.shape_text == "N×12×16 · N×16"
    drag(window, lstm.output_port_pos("hidden"), window.scene.node_items["relu1"]
         .input_port_pos(None))
    drag(window, lstm.output_port_pos("sequence"), window.scene.node_items["relu0"]
         .input_port_pos(None))
    wires = {e.dst: e.from_port for e in doc.graph.out_edges("lstm")}
    assert wires == {"relu1": "hidden", "relu0": "sequence"}
    labels = {i.edge.dst: i.label for i in window.scene.edge_items.values()
              if i.edge.src == "lstm"}
    assert labels == {"relu0": "N×12×16", "relu1": "N×16"}
    window.view.centerOn(lstm)
    settle()
    window.view.grab().save(str(tmp_path / "lstm_both.png"))


def test_setting_a_recurrent_block_back_to_one_output_flags_the_wire_from_hidden(window):
    _lstm_both(window)
    doc = window.document
    lstm = window.scene.node_items["lstm"]
    drag(window, lstm.output_port_pos("hidden"), window.scene.node_items["relu1"]
         .input_port_pos(None))
    doc.edit(plan_set_param(doc.graph, "lstm", "output", "sequence"), "one output")
    settle()
    assert lstm.output_names == ["out"]
    relu = window.scene.node_items["relu1"]
    assert relu.severity == "error"
    assert any("'hidden'" in e.message and "one output" in e.message for e in relu.errors)
    doc.undo_stack.undo()
    settle()
    assert lstm.output_names == ["sequence", "hidden"] and relu.severity is None


def test_the_problems_panel_rewires_a_wire_whose_piece_went_away_in_one_undoable_click(
        window, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    _chunk_of_three(window)
    doc = window.document
    chunk = window.scene.node_items["chunk"]
    drag(window, chunk.output_port_pos("out3"), window.scene.node_items["relu2"]
         .input_port_pos(None))
    doc.edit(plan_set_param(doc.graph, "chunk", "chunks", 2), "fewer chunks")
    settle()
    window.bottom_tabs.setCurrentWidget(window.problems)
    settle()
    (button,) = [b for b in window.problems.fix_buttons() if b.text().startswith("Wire from")]
    assert button.text() == "Wire from chunk's out1"
    window.problems.grab().save(str(tmp_path / "problems_rewire.png"))
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle()
    assert [(e.from_port, e.dst) for e in doc.graph.out_edges("chunk")] == [("out1", "relu2")]
    relu = window.scene.node_items["relu2"]  # the wire is fine (the task still wants a vector)
    assert not any("wire" in e.message for e in relu.errors)
    assert relu.shape_text == "N×1×14×28"
    doc.undo_stack.undo()
    settle()
    assert [(e.from_port, e.dst) for e in doc.graph.out_edges("chunk")] == [("out3", "relu2")]
