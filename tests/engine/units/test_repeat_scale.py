"""A unit repeated 1000 times is measured and counted once per distinct input, not once per
copy (resnet18 with every unit repeated 1000 times took 89 s to summarize), and gives the
same shapes, parameters and FLOPs as building every copy."""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from torchloom.engine.shapes import infer
from torchloom.engine.summary import flops_cache_clear, summarize
from torchloom.engine.units import expand

from .helpers import load, res_data, res_project

CONV = 8 * 8 * 9 + 8  # one 3x3 conv, 8 -> 8 channels, with bias


def _count_copies_built(monkeypatch) -> list[int]:
    built: list[int] = []
    real = expand.concrete_graph

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(expand, "concrete_graph", counting)
    return built


def test_a_copy_fed_what_the_one_before_was_fed_is_not_measured_again(monkeypatch):
    built = _count_copies_built(monkeypatch)
    analysis = infer(res_project(repeat=1000).graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    assert len(built) == 1
    assert analysis.nodes["block1"].shape == (8, 16, 16)
    assert analysis.nodes["block1"].num_params == 1000 * 2 * CONV


def test_flops_of_1000_copies_are_1000_times_one_copy(monkeypatch):
    flops_cache_clear()
    one = summarize(res_project(repeat=1).graph).flops["block1"]
    built = _count_copies_built(monkeypatch)
    summary = summarize(res_project(repeat=1000).graph)
    assert summary.flops["block1"] == 1000 * one > 0
    assert len(built) == 2  # once for the shapes, once for the FLOPs


def test_unit_flops_match_counting_the_built_module_when_every_copy_differs():
    data = res_data(repeat=3, stem=4)
    unit = data["units"]["ResBlock"]
    unit["nodes"][4] = {"id": "add", "type": "Concat"}  # channels grow by each copy's input
    data["graph"]["nodes"][2]["params"]["channels"] = 4
    graph = load(data).graph
    flops_cache_clear()
    analysis = infer(graph)
    node = graph.node("block1")
    params = node.build_params(graph.base_dir)
    with torch.device("meta"):
        module = node.block.build(params, list(analysis.nodes["block1"].input_specs))
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.zeros(1, 4, 16, 16, device="meta"))
    assert summarize(graph, analysis=analysis).flops["block1"] == counter.get_total_flops() > 0
