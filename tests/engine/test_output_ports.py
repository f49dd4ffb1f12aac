"""Blocks with several output ports (Split, Chunk, a recurrent block giving "both") across
the engine: project files, wrong wires, edits and undo, the summary, shape inference."""

from __future__ import annotations

import json

import torch

from torchloom.engine.compile import compile_graph
from torchloom.engine.edits import (apply_all, copy_fragment, plan_connect, plan_delete,
                                    plan_fix, plan_paste, plan_set_param)
from torchloom.engine.errors import Fix, PortError
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, load_project, loads_project, save_project
from torchloom.engine.shapes import infer
from torchloom.engine.summary import summarize, table_lines


def split_graph() -> Graph:
    """x [N, 6] -> Split [2, 4]: out0 [N, 2] -> Linear(3); out1 [N, 4] -> Linear(3); Add."""
    g = Graph()
    g.add_node("Input", {"shape": [6]}, "x")
    g.add_node("Split", {"split_size_or_sections": [2, 4], "dim": 0}, "split")
    g.add_node("Linear", {"out_features": 3}, "a")
    g.add_node("Linear", {"out_features": 3}, "b")
    g.add_node("Add", {}, "sum")
    g.connect("x", "split")
    g.connect("split", "a", from_port="out0")
    g.connect("split", "b", from_port="out1")
    g.connect("a", "sum")
    g.connect("b", "sum")
    return g


def wires(graph: Graph, src: str) -> list[tuple[str | None, str]]:
    return [(e.from_port, e.dst) for e in graph.out_edges(src)]


def errors_on(graph: Graph, node_id: str) -> list:
    return [e for e in infer(graph).nodes[node_id].errors if e.severity == "error"]


# ---- project files ----------------------------------------------------------------------


def test_a_split_wired_from_two_ports_saves_and_reloads_with_its_ports(tmp_path):
    project = Project(graph=split_graph(), name="pieces")
    path = save_project(project, tmp_path / "pieces.json")
    edges = json.loads(path.read_text())["graph"]["edges"]
    assert {"from": "split", "from_port": "out1", "to": "b"} in edges
    assert {"from": "x", "to": "split"} in edges  # one output: no from_port written

    again = load_project(path)
    assert wires(again.graph, "split") == [("out0", "a"), ("out1", "b")]
    torch.manual_seed(0)
    before = compile_graph(project.graph, seed=1)
    after = compile_graph(again.graph, seed=1)
    x = torch.randn(5, 6)
    assert torch.equal(before(x), after(x))
    # the second piece really goes to b: b's weights read 4 features
    assert after.b.weight.shape == (3, 4)


def test_a_project_file_naming_a_port_the_block_lacks_loads_and_says_so_on_the_node():
    data = {"format": "torchloom-project", "version": 1, "name": "p", "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [6]}},
                  {"id": "split", "type": "Split",
                   "params": {"split_size_or_sections": [2, 4]}},
                  {"id": "r", "type": "ReLU"}],
        "edges": [{"from": "x", "to": "split"},
                  {"from": "split", "from_port": "out7", "to": "r"}]}}
    project = loads_project(json.dumps(data))
    (error,) = errors_on(project.graph, "r")
    assert isinstance(error, PortError)
    assert "'out7'" in error.message and "out0, out1" in error.message


# ---- a wire from an output the block does not have ---------------------------------------


def test_a_wire_from_a_missing_port_names_it_and_lists_the_ports():
    g = split_graph()
    g.disconnect(g.out_edges("split")[1])
    g.connect("split", "b", from_port="out2")
    (error,) = errors_on(g, "b")
    assert error.message == ("the wire from split names its output 'out2', which split does "
                             "not have (its outputs: out0, out1): wire again from one of them")
    assert error.node == "b" and error.port == "in"
    assert not infer(g).ok


def test_a_wire_naming_no_port_of_several_lists_them():
    g = split_graph()
    g.disconnect(g.out_edges("split")[0])
    g.connect("split", "a")  # straight into the graph (a file, an old script): no port
    (error,) = errors_on(g, "a")
    assert "does not say which of its outputs (out0, out1)" in error.message


def test_a_port_name_on_a_one_output_block_is_refused_with_the_block_named():
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("ReLU", {}, "relu")
    g.add_node("Linear", {"out_features": 2}, "fc")
    g.connect("x", "relu")
    g.connect("relu", "fc", from_port="out1")
    (error,) = errors_on(g, "fc")
    assert "names its output 'out1', but ReLU has one output" in error.message
    assert error.fix.action == "rewire" and error.fix.value is None
    apply_all(g, plan_fix(g, error.fix))
    assert wires(g, "relu") == [(None, "fc")] and infer(g).ok


# ---- a port that goes away when a setting changes ----------------------------------------


def test_fewer_sections_flags_the_now_dangling_wire_with_a_fix_that_rewires_it():
    g = split_graph()
    g.set_param("split", "split_size_or_sections", [1, 2, 3])
    g.add_node("Linear", {"out_features": 3}, "c")
    g.connect("split", "c", from_port="out2")
    g.connect("c", "sum")
    assert infer(g).ok

    apply_all(g, plan_set_param(g, "split", "split_size_or_sections", [2, 4]))
    analysis = infer(g)
    assert list(analysis.nodes["split"].outputs) == ["out0", "out1"]
    (error,) = [e for e in analysis.errors if e.node == "c"]
    assert "'out2'" in error.message and "(its outputs: out0, out1)" in error.message
    fix = error.fix
    assert (fix.action, fix.node, fix.source, fix.from_port, fix.value) == (
        "rewire", "c", "split", "out2", "out1")
    assert fix.to_dict() == {"action": "rewire", "node": "c", "port": "in", "value": "out1",
                             "source": "split", "from_port": "out2"}
    undo = apply_all(g, plan_fix(g, fix))
    assert wires(g, "split") == [("out0", "a"), ("out1", "b"), ("out1", "c")]
    assert not [e for e in infer(g).errors if e.node == "c"]
    apply_all(g, undo)
    assert ("out2", "c") in wires(g, "split")


def test_a_recurrent_block_set_to_both_asks_which_output_its_old_wire_carries():
    g = Graph()
    g.add_node("Input", {"shape": [10, 4]}, "x")
    g.add_node("GRU", {"hidden_size": 8}, "gru")
    g.add_node("SequencePool", {}, "pool")
    g.connect("x", "gru")
    g.connect("gru", "pool")
    apply_all(g, plan_set_param(g, "gru", "output", "both"))
    (error,) = errors_on(g, "pool")
    assert "(sequence, hidden)" in error.message
    assert error.fix.value == "sequence"  # what the wire carried before
    apply_all(g, plan_fix(g, error.fix))
    assert wires(g, "gru") == [("sequence", "pool")] and infer(g).ok


# ---- edits and undo ------------------------------------------------------------------------


def test_wiring_deleting_and_pasting_keep_the_port_through_undo_and_redo():
    g = split_graph()
    g.add_node("ReLU", {}, "r")
    ops = plan_connect(g, "split", "r", from_port="out1")
    undo = apply_all(g, ops)
    assert ("out1", "r") in wires(g, "split")
    apply_all(g, undo)
    assert ("out1", "r") not in wires(g, "split")
    apply_all(g, ops)  # redo
    assert ("out1", "r") in wires(g, "split")

    undo = apply_all(g, plan_delete(g, ["split"]))
    assert "split" not in g
    apply_all(g, undo)
    assert wires(g, "split") == [("out0", "a"), ("out1", "b"), ("out1", "r")]

    fragment = json.loads(json.dumps(copy_fragment(g, ["split", "a", "b"])))
    ops, mapping = plan_paste(g, fragment)
    apply_all(g, ops)
    assert wires(g, mapping["split"]) == [("out0", mapping["a"]), ("out1", mapping["b"])]


def test_a_new_wire_from_a_split_takes_the_first_free_piece():
    g = split_graph()
    g.disconnect(g.out_edges("split")[0])
    g.add_node("ReLU", {}, "r")
    apply_all(g, plan_connect(g, "split", "r"))
    assert ("out0", "r") in wires(g, "split")


def test_a_fix_inserting_a_block_after_a_piece_keeps_the_piece():
    g = Graph()
    g.add_node("Input", {"shape": [10, 4]}, "x")
    g.add_node("LSTM", {"hidden_size": 8, "output": "both"}, "lstm")
    g.add_node("Linear", {"out_features": 2}, "fc")
    g.connect("x", "lstm")
    g.connect("lstm", "fc", from_port="sequence")
    g.add_node("Concat", {"dim": -1}, "cat")  # keep hidden in use too
    g.add_node("Flatten", {}, "flat")
    g.connect("fc", "flat")
    g.connect("flat", "cat")
    g.connect("lstm", "cat", from_port="hidden")
    assert infer(g).ok
    undo = apply_all(g, plan_fix(g, Fix("insert", "fc", block="SequencePool", port="in")))
    (pool,) = [e.dst for e in g.out_edges("lstm") if e.dst not in ("cat",)]
    assert [(e.from_port, e.dst) for e in g.out_edges("lstm")] == [("sequence", pool),
                                                                    ("hidden", "cat")]
    apply_all(g, undo)
    assert wires(g, "lstm") == [("sequence", "fc"), ("hidden", "cat")]


# ---- summary and shapes --------------------------------------------------------------------


def test_summary_rows_show_the_shape_of_each_port():
    summary = summarize(split_graph(), "pieces")
    row = next(r for r in summary.rows if r["id"] == "split")
    assert row["outputs"] == {"out0": ["N", 2], "out1": ["N", 4]}
    assert "outputs" not in next(r for r in summary.rows if r["id"] == "a")
    line = next(line for line in table_lines(summary) if line.startswith("split"))
    assert "out0 [N, 2] · out1 [N, 4]" in line
    shown = json.loads(json.dumps(summary.to_json()))  # the `summary --json` rows
    assert next(r for r in shown["nodes"] if r["id"] == "split")["outputs"]["out1"] == ["N", 4]


def test_shapes_are_inferred_per_port_and_flow_to_each_consumer():
    g = Graph()
    g.add_node("Input", {"shape": [12, 5]}, "x")
    g.add_node("LSTM", {"hidden_size": 6, "bidirectional": True, "output": "both"}, "lstm")
    g.add_node("Chunk", {"chunks": 3, "dim": -1}, "chunk")
    g.add_node("Linear", {"out_features": 2}, "head")
    g.add_node("Concat", {"dim": -1}, "cat")
    g.connect("x", "lstm")
    g.connect("lstm", "chunk", from_port="hidden")
    g.connect("lstm", "head", from_port="sequence")
    g.add_node("SequencePool", {}, "pool")
    g.disconnect(g.out_edges("lstm")[1])
    g.connect("lstm", "pool", from_port="sequence")
    g.connect("pool", "head")
    g.connect("chunk", "cat", from_port="out2")
    g.connect("chunk", "cat", from_port="out0")
    g.connect("head", "cat")
    analysis = infer(g)
    assert analysis.ok, analysis.errors
    lstm, chunk = analysis.nodes["lstm"], analysis.nodes["chunk"]
    assert {p: s.shape for p, s in lstm.outputs.items()} == {"sequence": (12, 12),
                                                             "hidden": (12,)}
    assert {p: s.shape for p, s in chunk.outputs.items()} == {"out0": (4,), "out1": (4,),
                                                              "out2": (4,)}
    assert analysis.nodes["pool"].input_specs[0].shape == (12, 12)
    assert analysis.nodes["cat"].spec.shape == (10,)
    model = compile_graph(g, analysis, seed=0)
    x = torch.randn(3, 12, 5)
    seq, hidden = model.lstm(x)
    pieces = hidden.chunk(3, dim=-1)
    expected = torch.cat([pieces[2], pieces[0], model.head(model.pool(seq))], dim=-1)
    assert torch.allclose(model(x), expected)


def test_the_hidden_port_wired_into_a_block_reading_a_sequence_offers_the_sequence_port():
    g = Graph()
    g.add_node("Input", {"shape": [10, 4]}, "x")
    g.add_node("LSTM", {"hidden_size": 8, "output": "both"}, "enc")
    g.add_node("GRU", {"hidden_size": 8, "output": "hidden"}, "dec")
    g.add_node("Concat", {"dim": -1}, "cat")
    g.connect("x", "enc")
    g.connect("enc", "dec", from_port="hidden")
    g.connect("dec", "cat")
    g.connect("enc", "cat", from_port="hidden")
    (error,) = errors_on(g, "dec")
    assert "enc's final hidden state" in error.message and "'sequence' port" in error.message
    apply_all(g, plan_fix(g, error.fix))
    assert wires(g, "enc") == [("sequence", "dec"), ("hidden", "cat")]
    assert infer(g).ok
