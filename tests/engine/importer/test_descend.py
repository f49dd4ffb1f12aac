"""A forward that asks Python questions about its input (``if input.is_cuda``, ``assert
x.dim() == 4``) no longer hides a body of plain layers: the importer answers the
questions that depend only on the input's device, dtype and shape, and maps the layers."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.export import export_project
from torchloom.engine.project import load_project

from .helpers import batch, imported, outputs, reloaded_model


def _blocks_share(result) -> float:
    nodes = [n for n in result.project.graph.nodes if n.type != "Input"]
    return sum(1 for n in nodes if n.type != "Code") / len(nodes)


def _exports(result, tmp_path, shape):
    """The project as written exports to python and ONNX, each verified against the model."""
    project = load_project(result.project.path)
    for fmt, name in (("python", "model.py"), ("onnx", "model.onnx")):
        done = export_project(project, fmt, tmp_path / name)
        assert (tmp_path / name).is_file() and done.files, fmt


@pytest.mark.parametrize("name, shape, wanted", [
    ("dcgan:Generator", [16, 1, 1],
     ["ConvTranspose2d", "BatchNorm2d", "ReLU"] * 3 + ["ConvTranspose2d", "Tanh"]),
    ("dcgan:Discriminator", [3, 32, 32],
     ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d", "BatchNorm2d",
      "LeakyReLU", "Conv2d", "Sigmoid"]),
])
def test_dcgan_arrives_as_its_layers(tmp_path, name, shape, wanted):
    result, reference = imported(tmp_path, name, shape)
    types = [n.type for n in result.project.graph.nodes if n.type != "Input"]
    assert types[:len(wanted)] == wanted  # the Sequential's layers, in order
    assert _blocks_share(result) >= 0.9, types
    assert not any("kept whole" in r for r in result.reasons)
    assert any("is_cuda and self.ngpu > 1" in note and "False" in note
               for note in result.notes), result.notes
    assert result.params_original == result.params_imported == sum(
        p.numel() for p in reference.parameters())
    assert result.ok and result.outputs_identical
    x = batch(shape)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    _exports(result, tmp_path, shape)
    from torchloom.engine.cli import main

    # no classification dataset is guessed for an image or an [N] score, so it checks
    assert result.project.dataset is None
    assert main(["check", str(result.project.path)]) == 0


def test_shape_questions_are_answered_not_frozen(tmp_path):
    """assert/if/for on the size: all answered; `n` from ``x.size()`` stays the batch."""
    result, reference = imported(tmp_path, "shape_checks:Checked", [3, 8, 8])
    assert not any("kept whole" in r for r in result.reasons)
    types = [n.type for n in result.project.graph.nodes]
    assert types[:3] == ["Input", "Conv2d", "ReLU"] and types[-1] == "Linear"
    assert len(result.code_nodes) <= 1  # at most the view(n, -1), with n still the batch
    assert sum("decided once" in note for note in result.notes) == 4
    model = reloaded_model(result)
    for n in (1, 5):  # batch sizes the import never saw
        x = batch([3, 8, 8], n=n)
        assert torch.equal(outputs(model, x), outputs(reference, x))


def test_a_question_about_the_batch_size_is_not_frozen(tmp_path):
    """``len(x)`` is the batch: answering it once would break every other batch size, so
    the model stays whole (and correct)."""
    result, reference = imported(tmp_path, "shape_checks:BatchSized", [12])
    assert result.code_nodes == ["model"]
    assert any("batch size" in r for r in result.reasons), result.reasons
    x = batch([12], n=7)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_a_question_about_the_data_stays_code(tmp_path):
    """``if x.mean() > 0`` depends on the values: never answered from a sample."""
    result, _ = imported(tmp_path, "untraceable:WholeBranch", [1, 8, 8])
    assert result.code_nodes == ["model"]
    assert any("values of" in r for r in result.reasons), result.reasons


def test_a_submodule_asking_about_its_device_maps_too(tmp_path):
    from .helpers import import_text

    body = ("class Body(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.fc = nn.Linear(6, 6)\n\n    def forward(self, x):\n"
            "        if x.is_cuda:\n            x = x.contiguous()\n"
            "        assert x.shape[-1] == 6, 'six features'\n"
            "        return torch.relu(self.fc(x))\n\n\n"
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.body = Body()\n        self.head = nn.Linear(6, 2)\n\n"
            "    def forward(self, x):\n        return self.head(self.body(x))\n")
    result, reference = import_text(tmp_path, body, "Net", [6])
    assert [n.type for n in result.project.graph.nodes] == ["Input", "Linear", "ReLU",
                                                            "Linear"]
    x = batch([6], n=5)
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_tracing_outside_an_import_is_as_torch_fx_made_it(tmp_path):
    """The importer answers len()/int() on traced values only while it traces."""
    from torch import fx, nn

    imported(tmp_path, "dcgan:Generator", [16, 1, 1])

    class UsesLen(nn.Module):
        def forward(self, x):
            return x.reshape(len(x), -1)

    with pytest.raises(RuntimeError, match="'len' is not supported"):
        fx.symbolic_trace(UsesLen())
    assert "__index__" not in vars(fx.Proxy) and "__int__" not in vars(fx.Proxy)
