"""Per-node cost (parameters, FLOPs, activation bytes, measured time), the training memory
estimate and the sentence that says whether it fits."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.errors import ProbeError
from torchloom.engine.probe.cost import (MemoryEstimate, fits_on, format_bytes, memory_estimate,
                                         node_costs)
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer
from torchloom.engine.summary import node_flops

from ..builders import chain


def example(name):
    graph = load_project(examples_dir() / f"{name}.json").graph
    return graph, infer(graph)


def mlp():
    """4 -> Linear(8) -> ReLU -> Linear(2): 40 + 18 = 58 parameters."""
    graph = chain(("fc1", "Linear", {"out_features": 8}), ("relu", "ReLU"),
                  ("fc2", "Linear", {"out_features": 2}), shape=[4])
    return graph, infer(graph)


def test_node_costs_scale_with_the_batch():
    graph, analysis = example("shapes_cnn")
    costs = node_costs(graph, analysis, batch_size=4)
    flops = node_flops(graph, analysis)
    assert list(costs) == [n for n in analysis.order if n != "x"]  # the Input costs nothing
    for node_id, cost in costs.items():
        assert cost.params == analysis.nodes[node_id].num_params
        assert cost.flops == 4 * flops[node_id]
        assert cost.time_ms is None  # not measured unless asked
    assert costs["conv1"].activation_bytes == 4 * 16 * 32 * 32 * 4  # batch, C, H, W, float32
    assert costs["fc"].activation_bytes == 4 * 3 * 4
    assert costs["conv1"].flops > 0 and costs["relu1"].flops == 0


def test_measured_times_for_every_node_including_token_inputs():
    graph, analysis = example("attention_classifier")
    costs = node_costs(graph, analysis, batch_size=2, measure="cpu", repeats=1)
    assert all(c.time_ms is not None and c.time_ms > 0 for c in costs.values())
    assert costs["embed"].activation_bytes == 2 * 9 * 64 * 4


def test_a_node_that_cannot_run_alone_has_no_time():
    graph = chain(("fc", "Linear", {"out_features": 8}), ("bn", "BatchNorm1d"), shape=[4])
    costs = node_costs(graph, infer(graph), batch_size=1, measure="cpu", repeats=1)
    assert costs["fc"].time_ms is not None
    assert costs["bn"].time_ms is None  # batch norm cannot train on a batch of one


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_timing_on_a_missing_gpu_is_an_error_in_words():
    graph, analysis = mlp()
    with pytest.raises(ProbeError, match="no CUDA device"):
        node_costs(graph, analysis, measure="cuda")


def test_memory_estimate_counts_weights_gradients_optimizer_and_activations():
    graph, analysis = mlp()
    adam = memory_estimate(graph, analysis, batch_size=10)
    assert (adam.params, adam.gradients, adam.optimizer) == (58 * 4, 58 * 4, 58 * 8)
    assert adam.activations == (8 + 8 + 2) * 10 * 4 * 2  # outputs, saved for backward
    assert adam.total == 58 * 16 + 1440 and adam.batch_size == 10
    assert memory_estimate(graph, analysis, 10, optimizer="adamw").optimizer == 58 * 8
    assert memory_estimate(graph, analysis, 10, optimizer="sgd").optimizer == 58 * 4
    assert memory_estimate(graph, analysis, 10, optimizer="sgd", momentum=0).optimizer == 0
    assert memory_estimate(graph, analysis, 10, amp="bf16").activations == 720
    assert memory_estimate(graph, analysis, 20).activations == 2 * adam.activations


def test_memory_estimate_leaves_out_blocks_wired_to_nothing():
    graph, _ = mlp()
    graph.add_node("Linear", {"out_features": 1000}, "lonely")
    analysis = infer(graph)
    assert memory_estimate(graph, analysis, 10).params == 58 * 4
    assert "lonely" not in node_costs(graph, analysis)


def test_fits_on_the_cpu_says_the_total_without_judging():
    estimate = MemoryEstimate(10_000_000, 10_000_000, 20_000_000, 5_200_000, 64)
    fits, sentence = fits_on(estimate, "cpu")
    assert fits is None
    assert sentence == "Batch 64 needs about 45 MB to train; memory on the CPU is not checked."


def test_fits_on_a_gpu_keeps_a_margin():
    estimate = MemoryEstimate(10_000_000, 10_000_000, 20_000_000, 5_200_000, 64)
    fits, sentence = fits_on(estimate, "cuda", memory=(79_000_000_000, 80_000_000_000))
    assert fits is True
    assert sentence == "Batch 64 needs about 45 MB to train; cuda:0 has 79 GB free."
    fits, sentence = fits_on(estimate, "cuda:1", memory=(50_000_000, 80_000_000_000))
    assert fits is False  # 45.2 MB + 20% is more than 50 MB
    assert sentence.startswith("Batch 64 needs about 45 MB to train; cuda:1 has only 50 MB "
                               "free: lower the batch size")
    assert fits_on(estimate, "cuda", memory=(60_000_000, 0))[0] is True


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_fits_on_a_missing_gpu_does_not_guess():
    estimate = MemoryEstimate(1, 1, 1, 1, 8)
    fits, sentence = fits_on(estimate, "cuda")
    assert fits is None and "no CUDA device" in sentence


def test_format_bytes():
    assert [format_bytes(n) for n in (512, 2_500, 35_200_000, 79_000_000_000)] == [
        "512 bytes", "2.5 kB", "35 MB", "79 GB"]
