"""Normalisation, activation and regularisation blocks: the sentences their mistakes get;
and the recurrent blocks' `output` option (the final hidden state instead of the sequence)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from torchloom.engine.blocks import BlockCheckError, TensorSpec, get_block
from torchloom.engine.export import export_project
from torchloom.engine.params import validate_params
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer

from ..builders import chain


def F(*shape: int) -> TensorSpec:
    return TensorSpec(shape, "float32")


def check(type_name: str, params: dict, *specs: TensorSpec) -> None:
    block = get_block(type_name)
    resolved, problems = validate_params(block.params, params)
    assert not problems, problems
    block.check(block.resolve(resolved, None), specs)


def refused(type_name: str, params: dict, *specs: TensorSpec) -> str:
    with pytest.raises(BlockCheckError) as info:
        check(type_name, params, *specs)
    return info.value.message


def only_error(analysis):
    assert len(analysis.errors) == 1, [e.describe() for e in analysis.errors]
    return analysis.errors[0]


# ---- plain words -------------------------------------------------------------------------


def test_group_norm_lists_the_group_counts_that_divide_the_channels():
    assert refused("GroupNorm", {"num_groups": 8}, F(12, 5, 5)) == (
        "num_groups=8 does not divide the 12 channels of [N, 12, 5, 5]: use one of "
        "1, 2, 3, 4, 6, 12")
    check("GroupNorm", {"num_groups": 6}, F(12, 5, 5))


def test_group_norm_error_lands_on_the_node():
    g = chain(("conv", "Conv2d", {"out_channels": 10, "kernel_size": 3}),
              ("gn", "GroupNorm", {"num_groups": 4}))
    err = only_error(infer(g))
    assert err.node == "gn" and "use one of 1, 2, 5, 10" in err.message


def test_prelu_takes_one_slope_or_one_per_channel():
    assert refused("PReLU", {"num_parameters": 5}, F(8, 4, 4)) == (
        "num_parameters=5 fits neither one shared slope nor the 8 channels of "
        "[N, 8, 4, 4] (dimension 1): set it to 1 or 8")
    check("PReLU", {"num_parameters": 1}, F(8, 4, 4))
    check("PReLU", {"num_parameters": 8}, F(8, 4, 4))
    # one number per sample (found by the fuzz soak: it was an IndexError)
    check("PReLU", {"num_parameters": 1}, F())
    assert refused("PReLU", {"num_parameters": 3}, F()) == (
        "num_parameters=3 needs a channel dimension, but the input is [N]: set it to 1")


def test_log_softmax_names_the_dims_that_exist():
    assert refused("LogSoftmax", {"dim": 2}, F(10)) == (
        "dim=2 does not exist in [N, 10]: use -2 to 1 (0 is the batch, -1 the last)")
    check("LogSoftmax", {"dim": -2}, F(10))


def test_instance_norm_needs_more_than_one_position_per_channel():
    # torch: "Expected more than 1 spatial element when training", and only when it runs
    assert refused("InstanceNorm2d", {}, F(16, 1, 1)) == (
        "InstanceNorm2d normalises each channel over its positions, and [N, 16, 1, 1] has "
        "only one per channel: move it to where the size is larger than 1, or use "
        "BatchNorm2d here")
    assert "use BatchNorm1d" in refused("InstanceNorm1d", {}, F(4, 1))
    check("InstanceNorm1d", {}, F(4, 2))


def test_instance_norm_keeps_torch_defaults():
    module = get_block("InstanceNorm2d").build(
        validate_params(get_block("InstanceNorm2d").params, {})[0], [(3, 4, 4)])
    assert isinstance(module, nn.InstanceNorm2d)
    assert not module.affine and not module.track_running_stats
    assert not list(module.parameters())


def test_rms_norm_eps_is_empty_by_default_as_in_torch():
    block = get_block("RMSNorm")
    params = validate_params(block.params, {})[0]
    assert params["eps"] is None
    module = block.build(params, [(10, 32)])
    assert module.eps is None and module.normalized_shape == (32,)


@pytest.mark.parametrize("type_name,shape,words", [
    ("Softmax2d", [5, 6], "expects [N, C, H, W] input but gets [N, 5, 6]"),
    ("Dropout1d", [12], "expects [N, C, L] input but gets [N, 12]"),
    ("Dropout2d", [3, 8], "expects [N, C, H, W] input but gets [N, 3, 8]"),
])
def test_channel_blocks_refuse_a_rank_torch_would_read_as_unbatched(type_name, shape, words):
    err = only_error(infer(chain(("b", type_name), shape=shape)))
    assert err.node == "b" and words in err.message


# ---- recurrent output="hidden" -----------------------------------------------------------


def build(type_name: str, params: dict, shape: tuple[int, ...]) -> nn.Module:
    block = get_block(type_name)
    resolved, problems = validate_params(block.params, params)
    assert not problems
    return block.build(resolved, [shape])


@pytest.mark.parametrize("type_name,torch_class", [("LSTM", nn.LSTM), ("GRU", nn.GRU),
                                                   ("RNN", nn.RNN)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_hidden_output_is_the_last_layers_final_state(type_name, torch_class, bidirectional):
    torch.manual_seed(0)
    params = {"hidden_size": 5, "num_layers": 2, "bidirectional": bidirectional}
    module = build(type_name, {**params, "output": "hidden"}, (7, 3))
    reference = torch_class(input_size=3, batch_first=True, **params)
    assert list(module.state_dict()) == list(reference.state_dict())  # saved weights load
    reference.load_state_dict(module.state_dict())
    x = torch.randn(4, 7, 3)
    got = module(x)
    sequence, state = reference(x)
    h_n = state[0] if type_name == "LSTM" else state
    dirs = 2 if bidirectional else 1
    assert got.shape == (4, 5 * dirs)
    assert torch.equal(got, torch.cat([h_n[-dirs + d] for d in range(dirs)], dim=1))
    assert torch.allclose(got[:, :5], sequence[:, -1, :5])  # forward: the last step
    if bidirectional:  # backward: its state after reading back to the first step
        assert torch.allclose(got[:, 5:], sequence[:, 0, 5:])


def test_sequence_output_is_unchanged_and_keeps_the_weight_names():
    torch.manual_seed(0)
    module = build("LSTM", {"hidden_size": 6}, (7, 3))
    assert module.output == "sequence"
    hidden = build("LSTM", {"hidden_size": 6, "output": "hidden"}, (7, 3))
    assert list(module.state_dict()) == list(hidden.state_dict()) == list(
        nn.LSTM(3, 6, batch_first=True).state_dict())
    reference = nn.LSTM(3, 6, batch_first=True)
    reference.load_state_dict(module.state_dict())
    x = torch.randn(2, 7, 3)
    assert torch.equal(module(x), reference(x)[0])


def test_a_file_without_output_loads_as_the_sequence():
    project = load_project(examples_dir() / "lstm_text_classifier.json")
    node = project.graph.node("lstm")
    assert "output" not in node.params and node.resolved_params()["output"] == "sequence"
    analysis = infer(project.graph)
    assert analysis.ok and analysis.nodes["lstm"].shape == (32, 64)


def test_hidden_output_feeds_a_linear_directly():
    g = chain(("gru", "GRU", {"hidden_size": 8, "bidirectional": True, "output": "hidden"}),
              ("fc", "Linear", {"out_features": 3}), shape=[10, 4])
    analysis = infer(g)
    assert analysis.ok
    assert analysis.nodes["gru"].show() == "[N, 16]" and analysis.nodes["fc"].shape == (3,)


def test_pooling_a_final_hidden_state_says_which_setting_to_change():
    g = chain(("lstm", "LSTM", {"hidden_size": 8, "output": "hidden"}),
              ("pool", "SequencePool"), shape=[10, 4])
    err = only_error(infer(g))
    assert err.node == "pool"
    assert "lstm passes on only its final hidden state (output='hidden')" in err.message
    assert err.fix.to_dict() == {"action": "set_param", "node": "lstm", "param": "output",
                                 "value": "sequence"}


def test_an_unknown_output_is_refused_by_the_layer_too():
    from torchloom.engine.layers import LSTMSequence

    with pytest.raises(ValueError, match="'sequence', 'hidden' or 'both'"):
        LSTMSequence(3, 4, output="last")


# ---- export --------------------------------------------------------------------------------


def hidden_project(tmp_path):
    """Two recurrent blocks giving their final states, joined for a classifier."""
    data = {"format": "torchloom-project", "version": 1, "name": "final states", "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [6, 4]}},
                  {"id": "lstm", "type": "LSTM", "params": {
                      "hidden_size": 5, "num_layers": 2, "bidirectional": True,
                      "output": "hidden"}},
                  {"id": "gru", "type": "GRU", "params": {"hidden_size": 3, "output": "hidden"}},
                  {"id": "cat", "type": "Concat", "params": {"dim": -1}},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 3}}],
        "edges": [{"from": "x", "to": "lstm"}, {"from": "x", "to": "gru"},
                  {"from": "lstm", "to": "cat"}, {"from": "gru", "to": "cat"},
                  {"from": "cat", "to": "fc"}]}}
    path = tmp_path / "final_states.json"
    path.write_text(json.dumps(data))
    return load_project(path)


def test_python_export_of_hidden_output_reproduces_the_model(tmp_path):
    from torchloom.engine.export.python_code import export_python

    out = tmp_path / "model.py"
    result = export_python(hidden_project(tmp_path), out)
    # the export itself ran the file and compared outputs with torch.equal
    assert result.checks["outputs_identical"] and result.checks["standalone"]
    text = out.read_text()
    assert "class _RecurrentOutput:" in text
    assert 'output="hidden"' in text and "GRUSequence(" in text


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_hidden_output_exports_to_onnx_and_pt2(tmp_path, fmt):
    out = tmp_path / f"model.{fmt}"
    result = export_project(hidden_project(tmp_path), fmt, out)
    assert out.is_file()
    assert result.checks["max_abs_diff"] <= 1e-4 and result.checks["batch_sizes"] == [1, 5]
