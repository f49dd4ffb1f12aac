"""Random graphs from the block catalogue: every failure is a typed error naming a node or a
parameter, and where shapes are measured the real forward runs and agrees with them.

The regression tests below pin what the fuzzer found; each failed before its fix.
"""

from __future__ import annotations

from collections import Counter

import torch
from hypothesis import HealthCheck, example, given, settings

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.errors import CompileError, ParamError, ShapeError
from torchloom.engine.graph import Graph
from torchloom.engine.project import graph_from_dict
from torchloom.engine.shapes import infer

from .cases import check_graph, run_graph_spec
from .strategies import graph_specs

#: CI runs this many graphs (2-5 s); bench/fuzz_soak.py runs the same check many more
#: times. Derandomized, so a failure here fails the same way on every machine.
GRAPH_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])


#: A model too big to run for real (4096 x 4096 weights): checked on meta only. Drawn graphs
#: reach that stage only now and then (it depends on which blocks the catalogue holds), so
#: one is always among the examples.
TOO_BIG_TO_RUN = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [4096]}},
                            {"id": "wide", "type": "Linear",
                             "params": {"out_features": 4096}}],
                  "edges": [{"from": "x", "to": "wide"}]}


def test_random_graphs_fail_only_with_typed_errors_and_run_as_measured():
    outcomes: Counter[str] = Counter()

    @GRAPH_SETTINGS
    @given(graph_specs())
    @example(TOO_BIG_TO_RUN)
    def case(spec):
        outcomes[run_graph_spec(spec)] += 1

    case()
    total = sum(outcomes.values())
    # The fuzzer must reach every stage, or the consistency check would pass by not running.
    assert outcomes["ran"] >= total // 6 and outcomes["errors"] >= total // 6, outcomes
    assert outcomes["file-error"] and outcomes["meta-only"], outcomes


def _chain(ids: list[str], type_name: str = "Linear", shape: list[int] | None = None,
           **params) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": shape or [4]}, "x")
    prev = "x"
    for node_id in ids:
        g.add_node(type_name, {"out_features": 4, **params} if type_name == "Linear"
                   else params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    return g


def test_ids_that_are_attributes_of_the_module_compile_and_run():
    # Each used to fail in compile or forward: add_module refused "training" and "_modules",
    # "meta" was a dict attribute, "shape_env" compiled and then called None.
    ids = ["training", "meta", "_modules", "shape_env", "_code", "forward"]
    g = _chain(ids)
    gm = compile_graph(g, seed=0)
    assert gm(torch.zeros(3, 4)).shape == (3, 4)
    names = module_names(ids + ["x"])
    assert len(set(names.values())) == len(names)
    assert set(dict(gm.named_children())) == {names[i] for i in ids}


def test_ids_equal_after_unicode_normalisation_keep_their_own_weights():
    # Python reads a fullwidth "Ｘ" as "X": before, `self.Ｘ` in the generated code ran the
    # module of node "X" (the model silently shared weights), and "Ｘ" alone did not run.
    g = _chain(["X", "\uff38", "\ufb01"])
    gm = compile_graph(g, seed=0)
    children = dict(gm.named_children())
    assert len(children) == 3
    x = torch.randn(3, 4)
    by_hand = x
    for node_id in ("X", "\uff38", "\ufb01"):
        by_hand = children[module_names(["X", "\uff38", "\ufb01"])[node_id]](by_hand)
    assert torch.equal(gm(x), by_hand)


def test_softmax_over_a_dimension_the_tensor_lacks_is_a_shape_error():
    # Torch's meta kernel accepts any dim, so this passed on the canvas and failed in the
    # real forward with an IndexError.
    g = _chain(["sm"], "Softmax", shape=[4, 5], dim=3)
    (err,) = infer(g).errors
    assert isinstance(err, ShapeError) and err.node == "sm"
    assert err.message.startswith("dim=3 does not exist in [N, 4, 5]: use -3 to 2")
    assert infer(_chain(["sm"], "Softmax", shape=[4, 5], dim=-3)).ok
    assert check_graph(_chain(["sm"], "Softmax", shape=[4, 5], dim=2)) == "ran"


def test_an_integer_too_big_for_a_float_is_a_parameter_error():
    # It raised OverflowError from math.isfinite.
    g = Graph()
    try:
        g.add_node("LayerNorm", {"eps": 10**400}, "act")
    except ParamError as exc:
        assert exc.node == "act" and exc.param == "eps"
        assert exc.message.endswith("got an integer of 401 digits")
    else:
        raise AssertionError("10**400 was accepted as a float")


def test_parameter_messages_stay_short_whatever_the_value():
    deep: list = []
    for _ in range(5000):  # plain repr() of this hits the recursion limit
        deep = [deep]
    graph, _ = graph_from_dict({"nodes": [
        {"id": "x", "type": "Input", "params": {"shape": deep}},
        {"id": "fc", "type": "Linear", "params": {"out_features": "x" * 10_000_000}}],
        "edges": [{"from": "x", "to": "fc"}]})
    problems = {p.param: p.message for p in graph.problems() if isinstance(p, ParamError)}
    assert problems["shape"].endswith("got [[[[...]]]]")
    assert problems["out_features"].endswith("got 'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx'")


def test_a_leaky_slope_beyond_float32_is_refused_before_it_runs():
    # 1e308 passed on meta, then the real forward raised "value cannot be converted to type
    # float without overflow".
    g = Graph()
    try:
        g.add_node("LeakyReLU", {"negative_slope": 1e308}, "act")
    except ParamError as exc:
        assert exc.param == "negative_slope" and "<= 1000.0" in exc.message
    else:
        raise AssertionError("a slope of 1e308 was accepted")
    assert check_graph(_chain(["act"], "LeakyReLU", negative_slope=1000.0)) == "ran"


def test_a_conv_stride_that_crashes_torch_is_refused():
    # The soak's one crash: torch's CPU convolution backward segfaults (the whole process
    # dies) from a stride of 32768 on; shapes and the forward were fine.
    g = Graph()
    try:
        g.add_node("Conv1d", {"stride": 32768}, "conv")
    except ParamError as exc:
        assert exc.param == "stride" and "<= 32767" in exc.message
    else:
        raise AssertionError("a stride of 32768 was accepted")
    assert check_graph(_chain(["conv"], "Conv1d", shape=[2, 8], stride=32767)) == "ran"


def test_a_model_beyond_the_memory_is_a_compile_error_on_the_block():
    # Valid on meta (shapes do not allocate), but compiling (or the first forward) raised
    # the allocator's RuntimeError ("DefaultCPUAllocator: can't allocate memory"), naming no
    # block.
    weights = _chain(["fc"], shape=[1 << 20], out_features=1 << 20)
    outputs = _chain(["pool"], "AdaptiveAvgPool2d", shape=[1, 2, 2], output_size=10**6)
    for graph, node, size in ((weights, "fc", "4,096 GiB"), (outputs, "pool", "3,725 GiB")):
        assert infer(graph).ok
        try:
            compile_graph(graph)
        except CompileError as exc:
            (err,) = exc.errors
            assert err.node == node and f"({size} here)" in err.message, err.message
        else:
            raise AssertionError(f"{node}: a model beyond the memory compiled")


def test_pooling_sizes_beyond_32_bits_are_refused():
    # Found by the soak: a stride or dilation of 2**63 - 1 passed on meta, then the real
    # forward raised "value cannot be converted to type int without overflow".
    for name in ("stride", "dilation"):
        try:
            Graph().add_node("MaxPool2d", {"kernel_size": 1, name: 2**31}, "pool")
        except ParamError as exc:
            assert exc.param == name and f"<= {2**31 - 1}" in exc.message
        else:
            raise AssertionError(f"a {name} of 2**31 was accepted")
    g = _chain(["pool"], "MaxPool2d", shape=[2, 5, 5], kernel_size=1, dilation=2**31 - 1)
    assert check_graph(g) == "ran"
