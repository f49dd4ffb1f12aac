"""Input gradients and Grad-CAM: right shapes, known answers on hand-set weights, and no
trace left on the model (gradients, hooks, mode, weights)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from torchloom.engine.compile import compile_graph, module_names
from torchloom.engine.data.dataset import Normalization
from torchloom.engine.errors import ProbeError
from torchloom.engine.graph import Graph
from torchloom.engine.probe.loaded import TrainedModel
from torchloom.engine.probe.saliency import conv_nodes, grad_cam, input_gradient
from torchloom.engine.project import Project, load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer

from ..builders import chain


def trained_from(graph: Graph, normalization: Normalization | None = None) -> TrainedModel:
    """A freshly initialised model dressed as a trained one (saliency needs no training)."""
    analysis = infer(graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    model = compile_graph(graph, analysis, seed=0).eval()
    names = module_names(n.id for n in graph.nodes)
    return TrainedModel(Project(graph, name="t"), graph, analysis, model, names, normalization,
                        Path("."), None, {})


def example(name: str) -> TrainedModel:
    return trained_from(load_project(examples_dir() / f"{name}.json").graph)


def no_trace(trained: TrainedModel, before: dict[str, torch.Tensor]) -> None:
    for name, p in trained.model.named_parameters():
        assert p.grad is None, name
        assert torch.equal(p.detach(), before[name]), name
    for module in trained.model.modules():
        assert not module._forward_hooks and not module._backward_hooks


def snapshot(trained: TrainedModel) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in trained.model.named_parameters()}


def test_input_gradient_of_an_image_has_the_samples_shape_and_leaves_no_trace():
    trained = example("shapes_cnn")
    before = snapshot(trained)
    trained.model.train()  # found in train mode: computed in eval, handed back in train
    grad = input_gradient(trained, torch.rand(1, 3, 32, 32))
    assert grad.shape == (3, 32, 32)
    assert bool((grad >= 0).all()) and float(grad.sum()) > 0
    assert trained.model.training
    no_trace(trained, before)


def test_input_gradient_is_taken_in_eval_mode():
    g = chain(("flat", "Flatten"), ("fc1", "Linear", {"out_features": 32}),
              ("drop", "Dropout", {"p": 0.5}), ("fc2", "Linear", {"out_features": 3}),
              shape=[8])
    trained = trained_from(g)
    trained.model.train()
    x = torch.randn(1, 8)
    assert torch.equal(input_gradient(trained, x, 0), input_gradient(trained, x, 0))


def one_pixel_model(normalization: Normalization | None = None) -> TrainedModel:
    """Class 1's logit reads only pixel (channel 1, row 2, column 3) of a [2, 4, 4] input."""
    trained = trained_from(chain(("flat", "Flatten"), ("fc", "Linear", {"out_features": 3}),
                                 shape=[2, 4, 4]), normalization)
    fc = trained.model.fc
    with torch.no_grad():
        fc.weight.zero_()
        fc.bias.copy_(torch.tensor([0.0, 10.0, 0.0]))  # class 1 is always predicted
        fc.weight[1, 16 + 2 * 4 + 3] = 2.0
        fc.weight[0, 0] = 5.0  # class 0 reads pixel (0, 0, 0)
    return trained


def test_input_gradient_is_zero_where_the_answer_does_not_look():
    trained = one_pixel_model()
    grad = input_gradient(trained, torch.rand(2, 4, 4))  # one sample without the batch works
    expected = torch.zeros(2, 4, 4)
    expected[1, 2, 3] = 2.0
    assert torch.equal(grad, expected)
    other = input_gradient(trained, torch.rand(1, 2, 4, 4), target=0)
    assert other[0, 0, 0] == 5.0 and float(other.sum()) == 5.0


def test_input_gradient_is_taken_with_respect_to_the_raw_sample():
    norm = Normalization(torch.zeros(2, 1, 1), torch.tensor([1.0, 4.0]).reshape(2, 1, 1))
    grad = input_gradient(one_pixel_model(norm), torch.rand(1, 2, 4, 4))
    assert grad[1, 2, 3] == pytest.approx(0.5)  # d(w * x / std) / dx = 2 / 4


def test_saliency_refuses_a_batch_and_a_class_out_of_range():
    trained = one_pixel_model()
    with pytest.raises(ProbeError, match="one sample"):
        input_gradient(trained, torch.rand(2, 2, 4, 4))
    with pytest.raises(ProbeError, match="class 7"):
        input_gradient(trained, torch.rand(1, 2, 4, 4), target=7)


def test_grad_cam_of_a_conv_node_is_a_map_over_the_input_in_zero_to_one():
    trained = example("shapes_cnn")
    before = snapshot(trained)
    assert conv_nodes(trained) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2",
                                   "conv3", "relu3", "pool3"]
    x = torch.rand(1, 3, 32, 32)
    for node in ("conv3", "relu1"):
        cam = grad_cam(trained, x, node)
        assert cam.shape == (32, 32)
        assert float(cam.min()) >= 0 and float(cam.max()) <= 1
    no_trace(trained, before)


def test_grad_cam_names_a_node_that_has_no_feature_map():
    trained = example("shapes_cnn")
    with pytest.raises(ProbeError) as info:
        grad_cam(trained, torch.rand(1, 3, 32, 32), "fc")
    assert info.value.node == "fc" and "node fc" in info.value.describe()
    assert "[N, C, H, W]" in info.value.describe()
    with pytest.raises(ProbeError, match="no layer") as info:
        grad_cam(trained, torch.rand(1, 3, 32, 32), "nope")
    assert info.value.node == "nope"


def patch_model() -> TrainedModel:
    """conv (1x1, weight 1) -> 2x2 max pool -> flatten -> a class that sums everything."""
    trained = trained_from(chain(
        ("conv", "Conv2d", {"out_channels": 1, "kernel_size": 1}),
        ("pool", "MaxPool2d", {"kernel_size": 2}), ("flat", "Flatten"),
        ("fc", "Linear", {"out_features": 2}), shape=[1, 8, 8]))
    with torch.no_grad():
        trained.model.conv.weight.fill_(1.0)
        trained.model.conv.bias.zero_()
        trained.model.fc.weight.zero_()
        trained.model.fc.weight[0] = 1.0
        trained.model.fc.bias.zero_()
    return trained


def test_grad_cam_lights_up_where_the_evidence_is():
    trained = patch_model()
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 0:2, 0:2] = 1.0  # a bright patch in the top-left corner, nothing elsewhere
    cam = grad_cam(trained, x, "conv", target=0)
    assert torch.allclose(cam, x[0, 0])
    pooled = grad_cam(trained, x, "pool", target=0)  # 4x4, upsampled to the input's 8x8
    assert pooled.shape == (8, 8) and float(pooled.max()) == pytest.approx(1.0)
    assert float(pooled[0, 0]) == pytest.approx(1.0)
    assert float(pooled[4:, :].abs().sum()) == 0 and float(pooled[:, 4:].abs().sum()) == 0
    # nothing speaks for class 1 (its weights are zero): an all-zero map, not a division by 0
    assert float(grad_cam(trained, x, "conv", target=1).abs().sum()) == 0


def test_token_input_gives_one_value_per_token():
    trained = example("attention_classifier")
    before = snapshot(trained)
    tokens = torch.randint(0, 144, (1, 9))
    grad = input_gradient(trained, tokens)
    assert grad.shape == (9,) and bool((grad >= 0).all()) and float(grad.sum()) > 0
    no_trace(trained, before)


def test_only_the_token_the_model_reads_has_saliency():
    g = chain(("embed", "Embedding", {"num_embeddings": 10, "embedding_dim": 4}),
              ("pool", "SequencePool", {"mode": "last"}), ("fc", "Linear", {"out_features": 2}),
              shape=[5], dtype="int64")
    grad = input_gradient(trained_from(g), torch.tensor([[1, 2, 3, 4, 5]]))
    assert grad.shape == (5,)
    assert torch.equal(grad[:4], torch.zeros(4)) and float(grad[4]) > 0
