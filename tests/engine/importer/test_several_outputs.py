"""Modules giving several tensors import as blocks with several output ports: each read of
the tuple becomes a wire from the port it names, not a Code node for the whole model."""

from __future__ import annotations

import torch

from .helpers import batch, imported, outputs, reloaded_model


def _wires(result, src: str) -> list[tuple[str | None, str]]:
    return [(e.from_port, e.dst) for e in result.project.graph.out_edges(src)]


def test_an_lstm_read_as_out_and_h_imports_as_one_block_giving_both(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:LSTMAttentionPool", [9, 5])
    graph = result.project.graph
    lstm = graph.node("lstm")
    assert lstm.type == "LSTM"
    assert lstm.resolved_params()["output"] == "both"
    assert lstm.resolved_params()["num_layers"] == 2
    ports = {port for port, _dst in _wires(result, "lstm")}
    assert ports == {"sequence", "hidden"}
    assert ("hidden", "concat") in _wires(result, "lstm")
    assert result.outputs_identical, result.lines()
    x = batch([9, 5])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_gru_read_as_out_and_h_imports_without_code(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:GRUSummary", [7, 4])
    assert not result.code_nodes, result.reasons
    assert result.project.graph.node("gru").resolved_params()["output"] == "both"
    assert sorted(_wires(result, "gru")) == [("hidden", "concat"), ("sequence", "sequencepool")]
    x = batch([7, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_an_lstm_whose_cell_state_is_read_stays_code_and_still_computes_the_same(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:LSTMCellState", [7, 4])
    assert result.code_nodes  # no block gives the cell state
    assert not any(n.type == "LSTM" for n in result.project.graph.nodes)
    assert result.outputs_identical, result.lines()
    x = batch([7, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_single_layer_state_taken_with_squeeze_is_the_hidden_port(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:GRUSqueezed", [7, 4])
    assert not result.code_nodes, result.reasons
    assert result.project.graph.node("gru").resolved_params()["output"] == "both"
    assert ("hidden", "concat") in _wires(result, "gru")
    x = batch([7, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_only_the_final_state_read_imports_as_the_block_giving_hidden(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:LSTMFinalState", [7, 4])
    assert not result.code_nodes, result.reasons
    assert result.project.graph.node("lstm").resolved_params()["output"] == "hidden"
    assert _wires(result, "lstm") == [(None, "head")]
    x = batch([7, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_one_direction_of_a_bidirectional_state_stays_code_and_says_why(tmp_path):
    result, reference = imported(tmp_path, "lstm_both:LSTMFinalState", [7, 4],
                                 kwargs={"bidirectional": True})
    assert result.code_nodes
    assert any("one direction at a time" in r for r in result.reasons), result.reasons
    x = batch([7, 4])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_code_node_reading_both_outputs_of_one_block_gets_two_arguments(tmp_path):
    from torchloom.engine.project import load_project
    from torchloom.engine.shapes import infer

    result, reference = imported(tmp_path, "lstm_both:ScoredStack", [5, 6])
    assert result.ok and result.outputs_identical, result.lines()
    project = load_project(result.project.path)
    assert infer(project.graph).ok  # its code file loads: no argument named twice
    assert "GRUScored" in project.units
    inner = project.units.get("GRUScored").graph
    code = [n.id for n in inner.nodes if n.type == "Code"]
    assert code and sorted(e.from_port for e in inner.in_edges(code[0])) == ["hidden",
                                                                             "sequence"]
    x = batch([5, 6])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
