"""Convolution, padding and pooling blocks (issue 18): the checks that put torch's refusals in
plain words, old project files without `padding_mode`, and a graph of the new blocks that
compiles and exports to code that computes the same."""

from __future__ import annotations

import json
import runpy
import uuid

import pytest
import torch

from torchloom.engine.blocks import BlockCheckError, TensorSpec, get_block
from torchloom.engine.compile import compile_graph
from torchloom.engine.errors import ParamError
from torchloom.engine.export.model import prepare_model
from torchloom.engine.export.python_code import export_python
from torchloom.engine.params import validate_params
from torchloom.engine.project import Project, load_project, save_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer

from ..builders import chain, edge, write_project


def node_errors(graph, node_id: str) -> list[str]:
    return [e.message for e in infer(graph).nodes[node_id].errors]


# ---- the checks say what to change --------------------------------------------------------

# (block type, params, input shape without the batch, words the message must contain)
REFUSED = [
    ("ConvTranspose2d", {"out_channels": 4, "stride": 2, "output_padding": 2}, (3, 5, 5),
     ["output_padding must be smaller than stride or dilation", "at most 1"]),
    ("ConvTranspose1d", {"out_channels": 4, "output_padding": 1}, (3, 5),
     ["output_padding", "stride 1 and dilation 1", "at most 0"]),
    ("ConvTranspose2d", {"out_channels": 4, "padding": 5}, (3, 3, 3),
     ["padding=5", "lower padding to at most 2"]),
    ("Conv2d", {"out_channels": 4, "padding": 4, "padding_mode": "reflect"}, (3, 4, 9),
     ["padding_mode='reflect'", "on a height of 4", "lower padding to at most 3",
      "padding_mode 'zeros' or 'replicate'"]),
    ("Conv1d", {"out_channels": 4, "kernel_size": 9, "padding": "same",
                "padding_mode": "reflect"}, (3, 4),
     ["padding='same' pads 4 on a length of 4", "lower kernel_size or dilation"]),
    ("Conv3d", {"out_channels": 2, "kernel_size": 1, "padding": [0, 0, 5],
                "padding_mode": "circular"}, (1, 3, 3, 4),
     ["padding_mode='circular'", "on a width of 4", "at most 4"]),
    ("PixelShuffle", {"upscale_factor": 2}, (6, 4, 4),
     ["multiple of 2*2 = 4", "has 6", "out_channels"]),
    ("PixelUnshuffle", {"downscale_factor": 2}, (3, 5, 4),
     ["divide both the height and the width", "5x4"]),
    ("ReflectionPad2d", {"padding": [0, 0, 4, 0]}, (3, 4, 6),
     ["top padding is 4", "height is 4", "at most 3", "ReplicationPad2d or ZeroPad2d"]),
    ("ReflectionPad2d", {"padding": 6}, (3, 8, 6), ["left padding is 6", "width is 6"]),
]


@pytest.mark.parametrize("block_type,params,shape,words", REFUSED,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(REFUSED)])
def test_a_refused_combination_is_said_on_the_node_with_the_fix(block_type, params, shape,
                                                                 words):
    graph = chain(("n", block_type, params), shape=list(shape))
    errors = node_errors(graph, "n")
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0], (word, errors[0])


# (block type, params, input shape): each pair's first passes and runs, its second is
# refused by the check and by torch's own CPU forward, so a check is neither stricter nor
# looser than torch.
BOUNDARIES = [
    ("ConvTranspose2d", {"out_channels": 2, "stride": 2, "output_padding": 1}, (2, 4, 4)),
    ("ConvTranspose2d", {"out_channels": 2, "stride": 2, "output_padding": 2}, (2, 4, 4)),
    ("ConvTranspose2d", {"out_channels": 2, "dilation": 3, "output_padding": 2}, (2, 4, 4)),
    ("ConvTranspose2d", {"out_channels": 2, "dilation": 3, "output_padding": 3}, (2, 4, 4)),
    ("ConvTranspose1d", {"out_channels": 2, "padding": 3}, (2, 5)),
    ("ConvTranspose1d", {"out_channels": 2, "padding": 4}, (2, 5)),
    ("Conv2d", {"out_channels": 2, "padding": 3, "padding_mode": "reflect"}, (2, 4, 4)),
    ("Conv2d", {"out_channels": 2, "padding": 4, "padding_mode": "reflect"}, (2, 4, 4)),
    ("Conv1d", {"out_channels": 2, "kernel_size": 8, "padding": "same",
                "padding_mode": "reflect"}, (2, 5)),  # pads 3 and 4
    ("Conv1d", {"out_channels": 2, "kernel_size": 11, "padding": "same",
                "padding_mode": "reflect"}, (2, 5)),
    ("Conv2d", {"out_channels": 2, "padding": 4, "padding_mode": "circular"}, (2, 4, 4)),
    ("Conv2d", {"out_channels": 2, "padding": 5, "padding_mode": "circular"}, (2, 4, 4)),
    ("Conv2d", {"out_channels": 2, "padding": 9, "padding_mode": "replicate"}, (2, 4, 4)),
    ("Conv2d", {"out_channels": 2, "padding": 9, "padding_mode": "zeros"}, (2, 4, 4)),
    ("PixelShuffle", {"upscale_factor": 3}, (18, 2, 2)),
    ("PixelShuffle", {"upscale_factor": 3}, (12, 2, 2)),
    ("PixelUnshuffle", {"downscale_factor": 3}, (1, 6, 9)),
    ("PixelUnshuffle", {"downscale_factor": 3}, (1, 6, 8)),
    ("ReflectionPad2d", {"padding": [3, 3, 2, 2]}, (1, 3, 4)),
    ("ReflectionPad2d", {"padding": [3, 4, 2, 2]}, (1, 3, 4)),
]


@pytest.mark.parametrize("block_type,params,shape", BOUNDARIES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BOUNDARIES)])
def test_checks_refuse_exactly_what_torch_refuses(block_type, params, shape):
    block = get_block(block_type)
    resolved, problems = validate_params(block.params, params)
    assert not problems
    try:
        block.check(resolved, [TensorSpec(shape)])
        checked = True
    except BlockCheckError:
        checked = False
    try:
        with torch.no_grad():
            block.build(resolved, [shape])(torch.zeros(1, *shape))
        runs = True
    except RuntimeError:
        runs = False
    assert checked == runs


def test_a_transposed_stride_that_crashes_torch_is_refused_as_a_parameter():
    """oneDNN's CPU transposed convolution segfaults from stride 32768 on any input (and
    from 64 on long ones), which would kill the app: the parameter stops at 32."""
    with pytest.raises(ParamError) as err:
        chain(("up", "ConvTranspose1d", {"out_channels": 2, "stride": 32768}), shape=[2, 2])
    assert err.value.param == "stride" and "<= 32" in err.value.message
    assert infer(chain(("up", "ConvTranspose1d", {"out_channels": 2, "stride": 32}),
                       shape=[2, 2])).nodes["up"].shape == (2, 35)


# ---- old project files ------------------------------------------------------------------


def test_a_project_written_without_padding_mode_loads_and_compiles(tmp_path):
    conv = {"out_channels": 4, "kernel_size": 3, "stride": 1, "padding": 1, "dilation": 1,
            "groups": 1, "bias": True}  # as files were written before padding_mode existed
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [1, 8, 8], "dtype": "float32"}},
             {"id": "conv", "type": "Conv2d", "params": conv},
             {"id": "flat", "type": "Flatten"},
             {"id": "fc", "type": "Linear", "params": {"out_features": 3}}]
    path = write_project(tmp_path, "old.json", nodes,
                         [edge("x", "conv"), edge("conv", "flat"), edge("flat", "fc")])
    project = load_project(path)
    assert project.graph.node("conv").build_params()["padding_mode"] == "zeros"
    analysis = infer(project.graph)
    assert analysis.ok and analysis.nodes["conv"].shape == (4, 8, 8)
    gm = compile_graph(project.graph, seed=0)
    assert gm.get_submodule("conv").padding_mode == "zeros"
    assert gm(torch.randn(2, 1, 8, 8)).shape == (2, 3)

    save_project(project, tmp_path / "again.json")  # a save writes the default out
    saved = json.loads((tmp_path / "again.json").read_text())
    written = {n["id"]: n for n in saved["graph"]["nodes"]}["conv"].get("params", {})
    assert written.get("padding_mode", "zeros") == "zeros"


def test_the_bundled_cnn_has_no_padding_mode_and_still_compiles():
    path = examples_dir() / "mnist_cnn.json"
    assert "padding_mode" not in path.read_text()
    gm = compile_graph(load_project(path).graph, seed=0)
    assert gm.get_submodule("conv1").padding_mode == "zeros"


# ---- a graph of the new blocks compiles and exports -----------------------------------------

GRAPHS = {
    "image": ([3, 16, 16], [
        ("rpad", "ReflectionPad2d", {"padding": 1}),
        ("conv", "Conv2d", {"out_channels": 8, "padding": 1, "padding_mode": "circular"}),
        ("zpad", "ZeroPad2d", {"padding": [1, 1, 1, 1]}),
        ("unshuffle", "PixelUnshuffle", {"downscale_factor": 2}),
        ("amax", "AdaptiveMaxPool2d", {"output_size": 5}),
        ("up", "ConvTranspose2d", {"out_channels": 8, "stride": 2, "padding": 1,
                                   "output_padding": 1}),
        ("shuffle", "PixelShuffle", {"upscale_factor": 2}),
        ("reppad", "ReplicationPad2d", {"padding": 2}),
        ("flat", "Flatten"), ("fc", "Linear", {"out_features": 3})]),
    "sequence": ([4, 32], [
        ("conv", "Conv1d", {"out_channels": 8, "padding": 1, "padding_mode": "replicate"}),
        ("pool", "AvgPool1d", {"kernel_size": 2}),
        ("up", "ConvTranspose1d", {"out_channels": 4, "kernel_size": 4, "stride": 2,
                                   "padding": 1}),
        ("apool", "AdaptiveAvgPool1d", {"output_size": 4}),
        ("flat", "Flatten"), ("fc", "Linear", {"out_features": 3})]),
    "volume": ([2, 8, 8, 8], [
        ("conv", "Conv3d", {"out_channels": 4, "padding": 1, "padding_mode": "reflect"}),
        ("mpool", "MaxPool3d", {"kernel_size": 2}),
        ("apool", "AvgPool3d", {"kernel_size": 2}),
        ("flat", "Flatten"), ("fc", "Linear", {"out_features": 3})]),
}

SHAPES = {"image": {"conv": (8, 18, 18), "unshuffle": (32, 10, 10), "up": (8, 10, 10),
                    "shuffle": (2, 20, 20), "reppad": (2, 24, 24)},
          "sequence": {"pool": (8, 16), "up": (4, 32), "apool": (4, 4)},
          "volume": {"conv": (4, 8, 8, 8), "apool": (4, 2, 2, 2)}}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_new_blocks_compile_and_export_to_code_that_computes_the_same(name, tmp_path):
    shape, specs = GRAPHS[name]
    graph = chain(*specs, shape=shape)
    analysis = infer(graph)
    assert analysis.ok, [p.describe() for p in analysis.problems]
    for node_id, expected in SHAPES[name].items():
        assert analysis.nodes[node_id].shape == expected, node_id

    project = Project(graph, name=name)
    out = tmp_path / f"{name}.py"
    result = export_python(project, out)
    assert result.checks["outputs_identical"] is True
    text = out.read_text()
    assert "import torchloom" not in text and "from torchloom" not in text  # torch only
    rebuilt = runpy.run_path(str(out), run_name=f"exported_{uuid.uuid4().hex}")["build"]()
    model = prepare_model(project)
    rebuilt.load_state_dict(model.module.state_dict(), strict=True)
    rebuilt.eval()
    inputs = model.example_inputs(batch=3, seed=2)
    with torch.no_grad():
        assert torch.equal(rebuilt(*inputs), model.module(*inputs))


def test_padding_mode_is_written_into_the_exported_code(tmp_path):
    shape, specs = GRAPHS["image"]
    out = tmp_path / "image.py"
    export_python(Project(chain(*specs, shape=shape), name="image"), out)
    text = out.read_text()
    assert 'padding_mode="circular"' in text and "output_padding=1" in text
    assert "nn.PixelUnshuffle(downscale_factor=2)" in text
