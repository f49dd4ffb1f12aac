"""Published architectures, written as their projects write them (models/architectures.py),
import as blocks a person can edit: at least 90 % of the nodes are blocks, the parameter
count is exact, the outputs are identical, and the project exports to python and ONNX."""

from __future__ import annotations


import pytest
import torch

from torchloom.engine.export import export_project

from .helpers import batch, imported, outputs, reloaded_model, seeded_outputs

#: name, per-sample input shape, the block types the person should see on the canvas
ARCHITECTURES = [
    ("architectures:SENet", [16, 8, 8], {"AdaptiveAvgPool2d", "Flatten", "Reshape",
                                         "Sigmoid", "Multiply"}),
    ("architectures:ViTStem", [3, 32, 32], {"Conv2d", "Flatten", "Transpose", "Parameter",
                                            "Concat", "Add", "Slice"}),
    ("architectures:GPTBlock", [8, 32], {"LayerNorm", "Split", "Reshape", "Transpose",
                                         "MatMul", "Scale", "Softmax", "Add", "GELU"}),
    ("architectures:ShuffleUnit", [16, 8, 8], {"Chunk", "Concat", "Reshape", "Transpose"}),
    ("architectures:BasicBlock", [16, 8, 8], {"Conv2d", "BatchNorm2d", "ReLU", "Add"}),
    ("architectures:InvertedResidual", [16, 8, 8], {"Conv2d", "ReLU6", "Add"}),
    ("architectures:UNetUp", [3, 16, 16], {"ConvTranspose2d", "ZeroPad2d", "Concat",
                                           "MaxPool2d"}),
    ("architectures:VAE", [1, 16, 16], {"Conv2d", "Linear", "Scale", "Multiply", "Add",
                                        "Reshape", "ConvTranspose2d", "Sigmoid", "Identity"}),
]
IDS = [name.split(":")[1] for name, _, _ in ARCHITECTURES]


def _imported(tmp_path, name, shape):
    result, reference = imported(tmp_path, name, shape)
    reference.eval()
    return result, reference


@pytest.mark.parametrize("name,shape,expected", ARCHITECTURES, ids=IDS)
def test_architecture_imports_as_blocks_that_compute_the_same(tmp_path, name, shape,
                                                              expected):
    result, reference = _imported(tmp_path, name, shape)
    nodes = [n for n in result.project.graph.nodes if n.type != "Input"]
    code = [n.id for n in nodes if n.type == "Code"]
    assert len(nodes) - len(code) >= 0.9 * len(nodes), (code, result.reasons)
    assert expected <= {n.type for n in nodes}, result.reasons
    assert result.ok and result.outputs_identical and not result.fresh, result.lines()
    assert result.params_original == result.params_imported == sum(
        p.numel() for p in reference.parameters())
    x = batch(shape, n=3)  # another batch size than the import ran on
    got, want = seeded_outputs(reloaded_model(result), x), seeded_outputs(reference, x)
    assert len(got) == len(want)  # a VAE's three
    for g, w in zip(got, want):
        assert g.shape == w.shape and torch.allclose(g, w, rtol=0, atol=1e-6)

    exported = export_project(result.project, "python", tmp_path / "model.py")
    assert exported.files == [tmp_path / "model.py"]
    assert exported.checks["max_abs_diff"] <= 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("name,shape,expected", ARCHITECTURES, ids=IDS)
def test_architecture_exports_to_onnx(tmp_path, name, shape, expected):
    result, _ = _imported(tmp_path, name, shape)
    exported = export_project(result.project, "onnx", tmp_path / "model.onnx")
    assert exported.files == [tmp_path / "model.onnx"]
    assert exported.checks["max_abs_diff"] <= 1e-4


def test_gpt_attention_cuts_qkv_with_one_split_read_by_port(tmp_path):
    """``q, k, v = self.c_attn(x).split(C, dim=2)``: one Split, three ports, each one
    reshaped into heads; only the causal mask (a buffer sliced by the sequence length and
    ``masked_fill``) stays code."""
    result, _ = _imported(tmp_path, "architectures:GPTBlock", [8, 32])
    graph = result.project.graph
    split = next(n for n in graph.nodes if n.type == "Split")
    assert split.params == {"split_size_or_sections": 32, "dim": 1}  # torch's dim 2
    assert sorted(e.from_port for e in graph.out_edges(split.id)) == ["out0", "out1", "out2"]
    scale = next(n for n in graph.nodes if n.type == "Scale")
    assert scale.params["factor"] == pytest.approx(1 / 8 ** 0.5)
    assert [n.type for n in graph.nodes if n.id in result.code_nodes] == ["Code"]
    assert any("masked_fill" in reason for reason in result.reasons)


def test_vit_class_token_and_position_embedding_are_parameter_blocks(tmp_path):
    result, reference = _imported(tmp_path, "architectures:ViTStem", [3, 32, 32])
    graph = result.project.graph
    assert graph.node("cls_token").type == "Parameter"
    assert graph.node("cls_token").params["shape"] == [1, 32]
    assert graph.node("pos_embed").params["shape"] == [17, 32]
    model = reloaded_model(result)
    # the model's [1, 17, 32] tensor is the block's [17, 32] weight: the values carried over
    assert torch.equal(model.pos_embed.weight, reference.pos_embed[0])
    assert torch.equal(model.cls_token.weight, reference.cls_token[0])
    assert graph.node("slice").params == {"dim": 0, "index": 0}  # x[:, 0], the class token


def test_shufflenet_channel_shuffle_keeps_its_order_after_the_transpose(tmp_path):
    """view -> transpose -> contiguous -> view: the second view needs the contiguous call;
    as Reshape blocks the shuffle computes the same and exports (it used to fail)."""
    result, reference = _imported(tmp_path, "architectures:ShuffleUnit", [16, 8, 8])
    graph = result.project.graph
    reshapes = [n.params["shape"] for n in graph.nodes if n.type == "Reshape"]
    assert reshapes == [[2, 8, 8, 8], [16, 8, 8]]
    assert [n.params for n in graph.nodes if n.type == "Transpose"] == [{"dim0": 0, "dim1": 1}]
    chunk = next(n for n in graph.nodes if n.type == "Chunk")
    assert sorted(e.from_port for e in graph.out_edges(chunk.id)) == ["out0", "out1"]
    assert not result.code_nodes
    x = batch([16, 8, 8], n=2)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_view_that_stays_code_keeps_the_contiguous_before_it(tmp_path):
    """A ``.view`` with a size computed from the batch has no block: the ``.contiguous()``
    before it must stay in its Code node, or the view fails after the transpose."""
    from .helpers import import_text

    body = '''
class Odd(nn.Module):
    def forward(self, x):
        b = x.size(0)
        x = x.transpose(1, 2).contiguous()
        return x.view(b * 4, -1).view(b, -1)
'''
    result, reference = import_text(tmp_path, body, "Odd", [4, 6])
    assert result.ok and result.outputs_identical, result.lines()
    code = (tmp_path / "imported_code.py").read_text()
    assert ".contiguous()" in code
    x = batch([4, 6], n=3)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    export_project(result.project, "python", tmp_path / "model.py")


@pytest.mark.slow
def test_densenet_like_model_imports_as_blocks(tmp_path):
    """The import-time yardstick's model (bench/import_time.py times it): about 420
    blocks, all of them blocks."""
    result, _ = _imported(tmp_path, "densenet:DenseNet", [3, 32, 32])
    nodes = [n for n in result.project.graph.nodes if n.type != "Input"]
    assert len(nodes) > 400 and not result.code_nodes and result.outputs_identical


def test_repeated_gpt_blocks_share_one_unit_and_one_code_class(tmp_path):
    """The mask's Code node is the same lines in every block: one generated class, so the
    blocks are one unit (repeat 2) and the project exports to python."""
    result, reference = imported(tmp_path, "architectures:TinyGPT", [8], "int64")
    graph = result.project.graph
    assert [(n.id, n.type) for n in graph.nodes] == [
        ("idx", "Input"), ("wte", "Embedding"), ("h", "unit:GPTBlock"), ("ln_f", "LayerNorm"),
        ("lm_head", "Linear")]
    assert graph.node("h").params["repeat"] == 2
    code = (tmp_path / "tinygpt_code.py").read_text()
    assert code.count("\nclass Code_") == 1
    x = batch([8], "int64", n=3, high=50)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference.eval(), x))
    exported = export_project(result.project, "python", tmp_path / "model.py")
    assert exported.checks["outputs_identical"] and exported.checks["standalone"]
