"""Weight and gradient histograms, dead ReLUs, activation summaries and top units."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.errors import ProbeError
from torchloom.engine.probe.stats import (BINS, activation_stats, dead_relu_fraction,
                                          gradient_stats, top_units, weight_stats)
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer

from ..builders import chain


def compiled(graph):
    model = compile_graph(graph, infer(graph), seed=0)
    return model, module_names(n.id for n in graph.nodes)


@pytest.fixture()
def shapes_cnn():
    graph = load_project(examples_dir() / "shapes_cnn.json").graph
    return (graph, *compiled(graph))


def test_weight_stats_per_node_and_parameter_tensor(shapes_cnn):
    _, model, names = shapes_cnn
    stats = weight_stats(model, names)
    assert list(stats) == ["conv1", "conv2", "conv3", "fc"]  # ReLUs and pools have none
    for node_id, tensors in stats.items():
        module = getattr(model, names[node_id])
        assert [t.name for t in tensors] == ["weight", "bias"]
        for t in tensors:
            p = getattr(module, t.name).detach()
            assert t.numel == p.numel() and sum(t.counts) == p.numel()
            assert len(t.counts) == BINS and len(t.edges) == BINS + 1
            assert t.min == pytest.approx(float(p.min())) and t.max == pytest.approx(
                float(p.max()))
            assert t.mean == pytest.approx(float(p.mean()), abs=1e-6)
            assert t.edges[0] == pytest.approx(t.min) and t.edges[-1] == pytest.approx(t.max)


def test_weight_stats_of_attention_name_its_projection_tensors():
    graph = load_project(examples_dir() / "attention_classifier.json").graph
    stats = weight_stats(*compiled(graph))
    assert {"in_proj_weight", "out_proj.weight"} <= {t.name for t in stats["attn"]}


def test_gradient_stats_match_a_backward_pass_and_leave_no_grad(shapes_cnn):
    _, model, names = shapes_cnn
    x, y = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 2, 0, 1, 2])
    model.train()  # found in train mode
    model.conv1.bias.grad = torch.full_like(model.conv1.bias, 7.0)  # someone else's gradient
    stats = gradient_stats(model, names, x, y)
    assert model.training
    assert torch.equal(model.conv1.bias.grad, torch.full_like(model.conv1.bias, 7.0))
    assert all(p.grad is None for n, p in model.named_parameters() if n != "conv1.bias")
    model.conv1.bias.grad = None
    # the same numbers as an ordinary backward pass in eval mode
    model.eval()
    F.cross_entropy(model(x), y).backward()
    assert list(stats) == ["conv1", "conv2", "conv3", "fc"]
    for node_id, tensors in stats.items():
        for t in tensors:
            grad = getattr(getattr(model, names[node_id]), t.name).grad
            assert t.mean == pytest.approx(float(grad.mean()), rel=1e-4, abs=1e-9)
            assert t.std == pytest.approx(float(grad.std(unbiased=False)), rel=1e-4)
            assert sum(t.counts) == t.numel == grad.numel()
    model.zero_grad(set_to_none=True)


def test_gradient_stats_for_a_regression_loss():
    model, names = compiled(chain(("fc", "Linear", {"out_features": 1}), shape=[3]))
    x, y = torch.randn(8, 3), torch.randn(8)
    stats = gradient_stats(model, names, x, y, loss="mse")
    F.mse_loss(model(x), y.reshape(8, 1)).backward()
    assert stats["fc"][1].mean == pytest.approx(float(model.fc.bias.grad.mean()))
    with pytest.raises(ProbeError, match="unknown loss"):
        gradient_stats(model, names, x, y, loss="hinge")


def test_a_relu_fed_only_negative_values_is_all_dead():
    graph = chain(("fc1", "Linear", {"out_features": 6}), ("relu", "ReLU"),
                  ("fc2", "Linear", {"out_features": 2}), shape=[4])
    model, names = compiled(graph)
    with torch.no_grad():
        model.fc1.weight.zero_()
        model.fc1.bias.fill_(-1.0)
    x = torch.randn(50, 4)
    assert dead_relu_fraction(model, names, graph, x) == {"relu": 1.0}
    with torch.no_grad():
        model.fc1.bias.copy_(torch.tensor([1.0, -1.0, 1.0, -1.0, -1.0, -1.0]))
    assert dead_relu_fraction(model, names, None, x) == {"relu": pytest.approx(4 / 6)}
    assert all(not m._forward_hooks for m in model.modules())


def test_a_relu_on_random_input_is_mostly_alive_per_position(shapes_cnn):
    graph, model, names = shapes_cnn
    model.train()
    x = torch.randn(8, 3, 32, 32)
    dead = dead_relu_fraction(model, names, graph, x, batch_size=3)  # three chunks
    assert set(dead) == {"relu1", "relu2", "relu3"}
    assert all(0.0 <= value < 1.0 for value in dead.values())
    assert model.training and all(not m._forward_hooks for m in model.modules())
    # a unit is one channel at one pixel: count them by hand for relu1
    alive = (F.relu(model.conv1(x)) > 0).any(dim=0)
    assert dead["relu1"] == pytest.approx(1.0 - float(alive.double().mean()))


def test_activation_stats_summarise_all_values():
    stats = activation_stats(torch.arange(10.0).reshape(2, 5))
    assert (stats.numel, stats.mean, stats.min, stats.max) == (10, 4.5, 0.0, 9.0)
    assert stats.std == pytest.approx(2.8722813)  # over all values, not an unbiased estimate
    assert sum(stats.counts) == 10 and stats.nonfinite == 0
    flat = activation_stats(torch.full((3, 4), 2.0))
    assert flat.std == 0 and sorted(flat.counts)[-1] == 12  # all in one bin
    broken = activation_stats(torch.tensor([1.0, float("nan"), float("inf"), 3.0]))
    assert broken.nonfinite == 2 and sum(broken.counts) == 2 and broken.max == 3.0


def test_top_units_of_one_sample():
    dense = torch.tensor([[0.0, 1.0, 2.0, 3.0], [5.0, -1.0, 7.0, 0.5]])
    assert top_units(dense, 1, k=2) == [(2, 7.0), (0, 5.0)]
    assert [i for i, _ in top_units(dense, 0)] == [3, 2, 1, 0]  # k beyond the units: all
    maps = torch.zeros(2, 3, 4, 4)
    maps[0, 2] = 1.0
    maps[0, 0, 0, 0] = 8.0  # channel 0's mean is 0.5: channels rank by their mean
    assert top_units(maps, 0, k=2) == [(2, 1.0), (0, 0.5)]
    sequence = torch.zeros(1, 5, 3)
    sequence[0, :, 1] = 2.0
    assert top_units(sequence, 0, k=1) == [(1, 2.0)]
    with pytest.raises(ProbeError, match="sample 2"):
        top_units(dense, 2)


def test_nodes_are_listed_from_input_to_output_not_by_name():
    model, names = compiled(chain(("z1", "Linear", {"out_features": 3}), ("relu_b", "ReLU"),
                                  ("a2", "Linear", {"out_features": 3}), ("relu_a", "ReLU"),
                                  shape=[4]))
    assert list(weight_stats(model, names)) == ["z1", "a2"]
    assert list(dead_relu_fraction(model, names, None, torch.randn(5, 4))) == ["relu_b",
                                                                                "relu_a"]
