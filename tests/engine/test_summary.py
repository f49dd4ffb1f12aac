"""The summary's FLOP counts: the same numbers however many times a block repeats, each
distinct block counted once (counting costs about a millisecond a block, so a 10,000-block
model counted block by block took seconds)."""

from __future__ import annotations

from torchloom.engine import summary as summary_module
from torchloom.engine.shapes import infer
from torchloom.engine.summary import flops_cache_clear, node_flops, summarize

from .builders import chain


def _mlp(depth: int):
    return chain(*[(f"n{i}", "Linear" if i % 2 else "ReLU",
                    {"out_features": 16} if i % 2 else {}) for i in range(depth)], shape=[16])


def test_a_repeated_block_is_counted_once_and_every_copy_gets_its_flops(monkeypatch):
    counted = []
    real = summary_module.FlopCounterMode

    def counting(*args, **kwargs):
        counted.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(summary_module, "FlopCounterMode", counting)
    flops_cache_clear()
    graph = _mlp(2000)
    summary = summarize(graph)
    assert len(counted) == 2  # one Linear [16] -> 16, one ReLU
    linear = 2 * 16 * 16  # multiply-adds of one sample, counted as two FLOPs each
    assert {summary.flops[f"n{i}"] for i in range(1, 2000, 2)} == {linear}
    assert summary.flops["n2"] == 0
    assert summary.total_flops == 1000 * linear


def test_a_changed_parameter_is_counted_again():
    flops_cache_clear()
    graph = _mlp(4)
    before = node_flops(graph, infer(graph))["n3"]
    graph.set_param("n3", "out_features", 32)
    assert node_flops(graph, infer(graph))["n3"] == 2 * before
