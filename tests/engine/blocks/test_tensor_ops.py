"""Tensor operations and the multi-input merges: mistakes in plain words, the batch never
moved, and a ViT-style graph that compiles and exports."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.blocks import TensorSpec, get_block
from torchloom.engine.compile import compile_graph
from torchloom.engine.export import export_project
from torchloom.engine.export.model import prepare_model
from torchloom.engine.graph import Graph
from torchloom.engine.params import ParamValueError, validate_params
from torchloom.engine.project import Project
from torchloom.engine.shapes import infer

from ..builders import chain


def build(block_type: str, params: dict, *shapes: tuple[int, ...]) -> torch.nn.Module:
    block = get_block(block_type)
    resolved, problems = validate_params(block.params, params)
    assert not problems, problems
    return block.build(block.resolve(resolved, None), list(shapes))


def error(graph: Graph, node_id: str) -> str:
    errors = [p.message for p in infer(graph, vector_output=False).errors if p.node == node_id]
    assert errors, f"{node_id} has no error"
    return errors[0]


def merge(type_name: str, *shapes: list[int], ports: tuple[str, ...] = ()) -> Graph:
    g = Graph()
    g.add_node(type_name, {}, "m")
    for i, shape in enumerate(shapes):
        g.add_node("Input", {"shape": shape}, f"x{i}")
        g.connect(f"x{i}", "m", ports[i] if ports else None)
    return g


# ---- plain words -------------------------------------------------------------------------


def test_a_reshape_that_does_not_hold_the_values_gives_both_counts():
    message = error(chain(("r", "Reshape", {"shape": [4, 5]}), shape=[8, 4]), "r")
    assert "holds 20 values" in message and "has 32" in message and "-1" in message
    message = error(chain(("r", "Reshape", {"shape": [-1, 5]}), shape=[8, 4]), "r")
    assert "32" in message and "not a multiple of 5" in message


def test_reshape_shape_takes_one_minus_one_at_most():
    decl = get_block("Reshape").params["shape"]
    assert decl.validate([-1, 4]) == (-1, 4) and decl.validate(-1) == (-1,)
    for bad in ([-1, -1], [0, 4], [-2], [], [1.5]):
        with pytest.raises(ParamValueError):
            decl.validate(bad)


def test_permute_dims_must_order_every_dimension_once():
    message = error(chain(("p", "Permute", {"dims": [1, 0]}), shape=[2, 3, 4]), "p")
    assert "0 to 2 once" in message and "[0, 2, 1]" in message
    problems = validate_params(get_block("Permute").params, {"dims": [0, 0]})[1]
    assert problems and "distinct" in problems[0][1]


@pytest.mark.parametrize("block_type,params", [
    ("Transpose", {"dim0": 0, "dim1": 2}), ("Slice", {"dim": -3}), ("Mean", {"dims": [0, 2]}),
])
def test_a_dim_that_does_not_exist_says_which_do(block_type, params):
    message = error(chain(("t", block_type, params), shape=[5, 6]), "t")
    assert "does not exist in [N, 5, 6]" in message and "use 0 to 1" in message


def test_a_reduction_naming_one_dimension_twice_is_refused():
    message = error(chain(("m", "Max", {"dims": [-1, 2]}), shape=[2, 3, 4]), "m")
    assert "dimension 2" in message and "twice" in message


def test_slices_that_miss_the_tensor_say_its_size():
    message = error(chain(("s", "Slice", {"dim": 0, "index": 7}), shape=[5, 6]), "s")
    assert "size 5" in message and "0 to 4" in message
    message = error(chain(("s", "Slice", {"dim": 1, "start": 4, "stop": 2}), shape=[5, 6]), "s")
    assert "keeps nothing" in message and "size 6" in message


def test_interpolate_reuses_upsamples_checks_and_guards_align_corners():
    message = error(chain(("i", "Interpolate", {"mode": "bilinear"}), shape=[3, 8]), "i")
    assert message == error(chain(("u", "Upsample", {"mode": "bilinear"}), shape=[3, 8]), "u")
    message = error(chain(("i", "Interpolate", {"align_corners": True}), shape=[3, 8, 8]), "i")
    assert "align_corners" in message and "nearest" in message
    # torch refuses align_corners=False for nearest too: the block leaves it unset
    module = build("Interpolate", {"mode": "nearest"}, (3, 4, 4))
    assert module.align_corners is None
    assert module(torch.ones(2, 3, 4, 4)).shape == (2, 3, 8, 8)


def test_merges_that_do_not_broadcast_say_which_dimension():
    message = error(merge("Multiply", [8, 4, 4], [3, 1, 1]), "m")
    assert "do not broadcast" in message and "dimension 0" in message and "8" in message
    message = error(merge("Multiply", [8, 4, 4], [8]), "m")
    assert "different numbers of dimensions" in message and "[C, 1, 1]" in message
    message = error(merge("Subtract", [3, 4], [3, 5], ports=("input", "other")), "m")
    assert "dimension 1" in message
    assert "two or more" in error(merge("Multiply", [3]), "m")


def test_matmul_inner_sizes_must_agree():
    message = error(merge("MatMul", [4, 16], [8, 5], ports=("input", "other")), "m")
    assert "ends in 16" in message and "has 8" in message and "Transpose" in message
    message = error(merge("MatMul", [2, 4, 8], [3, 8, 5], ports=("input", "other")), "m")
    assert "before their last two dimensions" in message
    message = error(merge("MatMul", [2, 4, 8], [8, 5], ports=("input", "other")), "m")
    assert "different numbers of dimensions" in message


# ---- the batch never moves ---------------------------------------------------------------


def test_dims_are_counted_without_the_batch():
    x = torch.randn(3, 4, 5)
    assert torch.equal(build("Permute", {"dims": [1, 0]}, (4, 5))(x), x.permute(0, 2, 1))
    assert torch.equal(build("Transpose", {}, (4, 5))(x), x.transpose(1, 2))
    assert torch.equal(build("Transpose", {"dim0": -1, "dim1": 0}, (4, 5))(x),
                       x.transpose(1, 2))
    assert torch.equal(build("Mean", {"dims": 0}, (4, 5))(x), x.mean(1))
    assert torch.equal(build("Sum", {"dims": [0, 1]}, (4, 5))(x), x.sum((1, 2)))
    assert torch.equal(build("Max", {"dims": -1, "keepdim": True}, (4, 5))(x),
                       x.amax(2, keepdim=True))
    assert torch.equal(build("Slice", {"dim": 0, "index": -1}, (4, 5))(x), x[:, -1])
    assert torch.equal(build("Slice", {"dim": 1, "start": 3, "index": 1}, (4, 5))(x),
                       x[:, :, 1])  # index wins over start and stop
    assert torch.equal(build("Slice", {"dim": -1, "start": 1, "step": 2}, (4, 5))(x),
                       x[:, :, 1::2])
    assert torch.equal(build("Reshape", {"shape": [5, -1]}, (4, 5))(x), x.reshape(3, 5, 4))
    assert torch.equal(build("Scale", {"factor": -2.0}, (4, 5))(x), x * -2)


def test_reshape_takes_a_non_contiguous_input():
    x = torch.randn(2, 3, 4).transpose(1, 2)
    assert not x.is_contiguous()
    assert torch.equal(build("Reshape", {"shape": [12]}, (4, 3))(x), x.reshape(2, 12))
    gm = compile_graph(chain(("t", "Transpose", {}), ("r", "Reshape", {"shape": [-1]}),
                             shape=[3, 4]), seed=0)
    y = torch.randn(5, 3, 4)
    assert torch.equal(gm(y), y.transpose(1, 2).reshape(5, 12))


def test_a_parameter_is_one_learned_tensor_repeated_over_the_batch():
    module = build("Parameter", {"shape": [2, 3], "init": "ones"}, (7,))
    ids = torch.zeros(4, 7, dtype=torch.int64)  # any input: only its batch size is read
    out = module(ids)
    assert out.shape == (4, 2, 3) and torch.equal(out, torch.ones(4, 2, 3))
    assert module(torch.zeros(1, 9)).shape == (1, 2, 3)
    out.sum().backward()
    assert torch.equal(module.weight.grad, torch.full((2, 3), 4.0))  # one share per sample
    assert torch.equal(build("Parameter", {"init": "zeros"}, (7,)).weight, torch.zeros(1, 64))
    assert infer(chain(("p", "Parameter", {"shape": [3]}), shape=[5],
                       dtype="int64")).nodes["p"].spec == TensorSpec((3,), "float32")


# ---- a ViT-style graph ---------------------------------------------------------------------


def vit(encoder: bool = True) -> Graph:
    """Patches from a strided Conv2d, a class token in front, learned positions added."""
    g = Graph()
    g.add_node("Input", {"shape": [3, 16, 16]}, "x")
    g.add_node("Conv2d", {"out_channels": 32, "kernel_size": 4, "stride": 4}, "patch")
    g.add_node("Flatten", {"start_dim": 2}, "rows")
    g.add_node("Transpose", {"dim0": 0, "dim1": 1}, "tokens")
    g.add_node("Parameter", {"shape": [1, 32], "init": "zeros"}, "cls")
    g.add_node("Concat", {"dim": 0}, "join")
    g.add_node("Parameter", {"shape": [17, 32]}, "pos")
    g.add_node("Add", {}, "embed")
    g.add_node("TransformerEncoderLayer" if encoder else "Identity",
               {"nhead": 4, "dim_feedforward": 64} if encoder else {}, "enc")
    g.add_node("Slice", {"dim": 0, "index": 0}, "first")
    g.add_node("Linear", {"out_features": 10}, "head")
    for src, dst in [("x", "patch"), ("patch", "rows"), ("rows", "tokens"), ("tokens", "cls"),
                     ("cls", "join"), ("tokens", "join"), ("join", "pos"), ("join", "embed"),
                     ("pos", "embed"), ("embed", "enc"), ("enc", "first"), ("first", "head")]:
        g.connect(src, dst)
    return g


def every_op() -> Graph:
    """One graph through every other tensor operation and merge."""
    g = Graph()
    g.add_node("Input", {"shape": [4, 8, 8]}, "x")
    steps = [("up", "Interpolate", {"scale_factor": 2.0, "mode": "bilinear",
                                    "align_corners": True}),
             ("flat", "Reshape", {"shape": [4, -1]}), ("swap", "Permute", {"dims": [1, 0]}),
             ("some", "Slice", {"start": 1, "stop": 200, "step": 3}),
             ("half", "Scale", {"factor": 0.5}), ("same", "Identity", {})]
    prev = "x"
    for node_id, type_name, params in steps:
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    g.add_node("Mean", {"dims": 0, "keepdim": True}, "gate")
    g.add_node("Multiply", {}, "gated")
    g.add_node("Max", {"dims": 0, "keepdim": True}, "peak")
    g.add_node("Subtract", {}, "less")
    g.add_node("Transpose", {}, "t")
    g.add_node("MatMul", {}, "gram")
    g.add_node("Sum", {"dims": -1}, "total")
    g.add_node("Linear", {"out_features": 3}, "head")
    for src, dst, port in [("same", "gate", None), ("same", "gated", None),
                           ("gate", "gated", None), ("gated", "peak", None),
                           ("gated", "less", "input"), ("peak", "less", "other"),
                           ("less", "t", None), ("less", "gram", "input"),
                           ("t", "gram", "other"), ("gram", "total", None),
                           ("total", "head", None)]:
        g.connect(src, dst, port)
    return g


def test_a_vit_graph_compiles_with_the_token_and_positions_learned():
    analysis = infer(vit())
    assert analysis.ok, analysis.errors
    shown = {n: analysis.nodes[n].show() for n in ("tokens", "cls", "join", "embed", "first")}
    assert shown == {"tokens": "[N, 16, 32]", "cls": "[N, 1, 32]", "join": "[N, 17, 32]",
                     "embed": "[N, 17, 32]", "first": "[N, 32]"}
    gm = compile_graph(vit(), seed=0)
    assert {"cls.weight", "pos.weight"} <= set(gm.state_dict())
    gm(torch.randn(3, 3, 16, 16)).square().mean().backward()
    assert gm.cls.weight.grad.abs().sum() > 0 and gm.pos.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("graph", [vit, every_op])
def test_python_export_reproduces_the_compiled_model(graph, tmp_path):
    project = Project(graph(), name="tensor ops", dataset=None)
    result = export_project(project, "python", tmp_path / "model.py")
    assert result.checks["outputs_identical"] is True and result.checks["standalone"]
    text = (tmp_path / "model.py").read_text()
    assert "torchloom" not in text.split('"""', 2)[2]  # the layers travel as source
    model = prepare_model(project)
    assert model.analysis.ok


def vit_embedding() -> Graph:
    return vit(encoder=False)  # the attention layer is not what is tested, and slow to export


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
@pytest.mark.parametrize("graph", [vit_embedding, every_op])
def test_onnx_and_pt2_export_the_tensor_ops(graph, fmt, tmp_path):
    result = export_project(Project(graph(), name="ops", dataset=None), fmt,
                            tmp_path / f"model.{fmt}")
    assert result.checks["max_abs_diff"] <= 1e-4 and result.checks["batch_sizes"] == [1, 5]


def test_a_scale_factor_that_shrinks_the_input_to_nothing_is_refused_before_it_runs():
    """Found by bench/fuzz_soak.py: torch refused the empty output only in the forward."""
    from torchloom.engine.blocks import BlockCheckError, TensorSpec, get_block
    from torchloom.engine.params import validate_params

    for type_name in ("Upsample", "Interpolate"):
        block = get_block(type_name)
        params, problems = validate_params(block.params, {"scale_factor": 0.1, "mode":
                                                          "bilinear"})
        assert not problems
        with pytest.raises(BlockCheckError) as info:
            block.check(block.resolve(params, None), [TensorSpec((3, 8, 5), "float32")])
        assert info.value.message == ("scale_factor 0.1 shrinks the input [N, 3, 8, 5] to "
                                      "nothing: it must be at least 0.2")
        params["scale_factor"] = 0.2
        block.check(block.resolve(params, None), [TensorSpec((3, 8, 5), "float32")])
