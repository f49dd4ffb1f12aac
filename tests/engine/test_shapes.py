"""Shapes shown on the canvas, and the sentence a wrong wiring gets."""

from __future__ import annotations

import pytest

from torchloom.engine.errors import ShapeError
from torchloom.engine.graph import Graph
from torchloom.engine.shapes import infer

from .builders import chain


def only_error(analysis):
    assert len(analysis.errors) == 1, [e.describe() for e in analysis.errors]
    return analysis.errors[0]


def test_shapes_of_the_mnist_cnn_with_batch_as_N():
    g = chain(("conv1", "Conv2d", {"out_channels": 32, "kernel_size": 3}),
              ("pool1", "MaxPool2d", {"kernel_size": 2}),
              ("flat", "Flatten"), ("fc", "Linear", {"out_features": 10}))
    a = infer(g)
    assert a.ok
    assert a.nodes["conv1"].show() == "[N, 32, 26, 26]"
    assert a.nodes["pool1"].shape == (32, 13, 13)
    assert a.nodes["flat"].shape == (5408,)
    assert a.output == "fc" and a.output_spec.shape == (10,)
    assert a.nodes["conv1"].num_params == 320
    assert a.total_params == 320 + 5408 * 10 + 10


def test_flatten_before_conv_says_remove_it():
    g = chain(("flat", "Flatten"), ("conv2", "Conv2d"))
    err = only_error(infer(g))
    assert isinstance(err, ShapeError) and err.node == "conv2"
    assert err.describe() == ("node conv2 (Conv2d): expects [N, C, H, W] input but gets "
                              "[N, 784]: remove the Flatten (flat) before it")
    assert err.fix.action == "remove" and err.fix.node == "flat"


def test_image_into_linear_says_insert_flatten():
    g = chain(("conv", "Conv2d"), ("fc", "Linear"))
    err = only_error(infer(g))
    assert "insert a Flatten" in err.message and "[N, 32, 26, 26]" in err.message
    assert err.fix.to_dict() == {"action": "insert", "node": "fc", "block": "Flatten",
                                 "port": "in"}


def test_add_with_mismatched_shapes_names_both():
    g = chain(("c1", "Conv2d", {"out_channels": 32, "kernel_size": 3}),
              ("p", "MaxPool2d", {"kernel_size": 2}),
              ("c2", "Conv2d", {"out_channels": 64, "kernel_size": 3}))
    g.add_node("Add", node_id="add1")
    g.connect("p", "add1")
    g.connect("c2", "add1")
    err = only_error(infer(g))
    assert err.node == "add1"
    assert "inputs [N, 32, 13, 13] and [N, 64, 11, 11] differ" in err.message


def test_float_input_into_embedding_offers_int64():
    g = chain(("emb", "Embedding"), shape=[10])
    err = only_error(infer(g))
    assert "expects int64 token ids but gets float32 [N, 10]" in err.message
    assert err.fix.to_dict() == {"action": "set_param", "node": "x", "param": "dtype",
                                 "value": "int64"}


def test_token_ids_into_linear_say_insert_embedding():
    g = chain(("fc", "Linear"), shape=[10], dtype="int64")
    err = only_error(infer(g))
    assert "insert an Embedding" in err.message and err.fix.block == "Embedding"


def test_image_into_lstm_is_explained():
    g = chain(("lstm", "LSTM"))
    err = only_error(infer(g))
    assert err.node == "lstm"
    assert "expects [N, L, features] input but gets [N, 1, 28, 28]" in err.message
    assert "sequence" in err.message


def test_heads_that_do_not_divide_the_embedding():
    g = chain(("attn", "MultiheadAttention", {"num_heads": 3}), shape=[10, 64])
    err = only_error(infer(g))
    assert "num_heads=3 does not divide the embedding size 64" in err.message
    assert "1, 2, 4, 8" in err.message


def test_kernel_larger_than_input_is_explained():
    g = chain(("conv", "Conv2d", {"kernel_size": 5}), shape=[1, 3, 3])
    err = only_error(infer(g))
    assert "only 3x3 but the kernel spans 5x5" in err.message


def test_sequence_longer_than_max_len():
    g = chain(("emb", "Embedding"), ("pos", "PositionalEmbedding", {"max_len": 8}),
              shape=[20], dtype="int64")
    err = only_error(infer(g))
    assert "raise max_len to at least 20" in err.message


def test_unaffected_nodes_keep_their_shapes_and_downstream_stays_quiet():
    g = chain(("flat", "Flatten"), ("conv", "Conv2d"), ("relu", "ReLU"))
    g.add_node("Linear", {"out_features": 5}, "side")
    g.connect("flat", "side")
    g.add_node("Concat", {"dim": 0}, "cat")
    g.connect("relu", "cat")
    g.connect("side", "cat")
    a = infer(g)
    assert [e.node for e in a.errors] == ["conv"]
    assert a.nodes["side"].shape == (5,)
    assert a.nodes["relu"].spec is None and not a.nodes["relu"].errors


def test_attention_self_and_cross():
    g = Graph()
    g.add_node("Input", {"shape": [7, 16]}, "q")
    g.add_node("Input", {"shape": [5, 8]}, "mem")
    g.add_node("MultiheadAttention", {"num_heads": 4}, "attn")
    g.connect("q", "attn")
    g.connect("mem", "attn", "key")
    a = infer(g)
    assert a.ok and a.nodes["attn"].shape == (7, 16)


def test_value_without_key_is_refused():
    g = Graph()
    g.add_node("Input", {"shape": [7, 16]}, "q")
    g.add_node("MultiheadAttention", {"num_heads": 4}, "attn")
    g.connect("q", "attn")
    g.connect("q", "attn", "value")
    assert "'value' is wired but 'key' is not" in only_error(infer(g)).message


def test_edit_reinfers_only_what_changed(monkeypatch):
    from torchloom.engine import shapes

    g = chain(("a", "Linear", {"out_features": 8}), ("b", "ReLU"),
              ("c", "Linear", {"out_features": 3}), shape=[4])
    infer(g)
    calls = []
    real = shapes._measure.__wrapped__

    def counting(*args):
        calls.append(args[0])
        return real(*args)

    cached = shapes.functools.lru_cache(maxsize=None)(counting)
    monkeypatch.setattr(shapes, "_measure", cached)
    infer(g)
    first = list(calls)
    calls.clear()
    g.set_param("c", "out_features", 5)
    a = infer(g)
    assert a.nodes["c"].shape == (5,)
    assert calls == ["Linear"] and len(first) == 3


def test_isolated_input_and_block_are_warnings_only():
    g = chain(("fc", "Linear"), shape=[4])
    g.add_node("Input", {"shape": [3]}, "spare")
    g.add_node("ReLU", node_id="loose")
    a = infer(g)
    assert a.ok and {w.node for w in a.warnings} == {"spare", "loose"}


@pytest.mark.parametrize("shape,dtype", [([1, 28, 28], "float32"), ([64], "int64")])
def test_input_shape_is_its_output(shape, dtype):
    g = Graph()
    g.add_node("Input", {"shape": shape, "dtype": dtype}, "x")
    a = infer(g)
    assert a.nodes["x"].shape == tuple(shape) and a.nodes["x"].spec.dtype == dtype


def test_sequence_output_suggests_sequence_pool_before_the_classifier():
    g = chain(("emb", "Embedding", {"num_embeddings": 10}), ("lstm", "LSTM"),
              ("fc", "Linear", {"out_features": 2}), shape=[12], dtype="int64")
    a = infer(g)
    assert a.ok  # a warning: per-token outputs are legal, a classifier wants one vector
    (warning,) = a.warnings
    assert warning.node == "fc" and "insert a SequencePool before fc" in warning.message
    assert warning.fix.to_dict() == {"action": "insert", "node": "fc",
                                     "block": "SequencePool", "port": "in"}


def test_feature_map_output_suggests_flatten_after_it():
    (warning,) = infer(chain(("conv", "Conv2d"))).warnings
    assert "insert a Flatten" in warning.message and warning.fix.action == "append"


def test_empty_graph_says_what_to_do():
    a = infer(Graph())
    assert not a.ok and "graph is empty" in a.errors[0].message


def test_huge_recurrent_layer_is_measured_without_allocating_it():
    import resource

    g = chain(("lstm", "LSTM", {"hidden_size": 30000}), shape=[3, 30000])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    a = infer(g)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert a.nodes["lstm"].shape == (3, 30000)
    assert a.nodes["lstm"].num_params == 4 * 30000 * (30000 + 30000 + 2)
    assert grown_mb < 500  # the real weights would take 28.8 GB


def _count_graph_walks(monkeypatch) -> dict[str, int]:
    """Count calls of every Graph method that looks at the whole graph (`_sorted`: the
    topological sort itself; the edge index only when it is rebuilt)."""
    from collections import Counter

    counts: Counter = Counter()

    def method(name: str):
        original = getattr(Graph, name)

        def counted(self, *args, **kwargs):
            counts[name] += 1
            return original(self, *args, **kwargs)
        return counted

    def prop(name: str):
        original = getattr(Graph, name)

        def getter(self):
            counts[name] += 1
            return original.fget(self)
        return property(getter)

    for name in ("_sorted", "problems", "cycles", "isolated_ids", "output_ids", "input_ids"):
        monkeypatch.setattr(Graph, name, method(name))
    for name in ("nodes", "edges"):
        monkeypatch.setattr(Graph, name, prop(name))
    index = Graph._index

    def counted_index(self):
        counts["index rebuilt"] += self._by_end is None
        return index(self)
    monkeypatch.setattr(Graph, "_index", counted_index)
    return counts


def test_inference_walks_the_whole_graph_a_fixed_number_of_times(monkeypatch):
    """Per-node work must not walk the graph: a 2,000-node chain is looked at as a whole as
    often as a 20-node one, and sorted once (the problem check and the shape pass share
    the order)."""
    def walks(n: int) -> dict[str, int]:
        g = chain(*[(f"n{i}", "Linear" if i % 2 else "ReLU", {"out_features": 8} if i % 2
                     else {}) for i in range(n)], shape=[8])
        counts = _count_graph_walks(monkeypatch)
        assert infer(g).ok
        monkeypatch.undo()
        return dict(counts)

    small, large = walks(20), walks(2000)
    assert large == small
    assert large["_sorted"] == 1 and large["index rebuilt"] <= 1
