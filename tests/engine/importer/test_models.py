"""Importing models the way people write them: each lands as an editable, trainable canvas
that computes exactly what the person's own module computes."""

from __future__ import annotations

import json

import torch

from torchloom.engine.codefiles import is_trusted
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer

from .helpers import batch, imported, outputs, reloaded_model, types


def _param_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _train_step(model: torch.nn.Module, x: torch.Tensor, classes: int) -> float:
    """One optimiser step; returns how much the loss moved (it must move)."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    target = torch.arange(x.shape[0]) % classes
    before = torch.nn.functional.cross_entropy(model(x), target)
    before.backward()
    opt.step()
    model.eval()
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(model(x), target)
    return abs(float(before.detach()) - float(after))


def test_keras_style_mnist_cnn(tmp_path):
    result, reference = imported(tmp_path, "mnist_cnn:Net", [1, 28, 28])
    assert types(result) == [
        ("x", "Input"), ("conv1", "Conv2d"), ("relu", "ReLU"), ("conv2", "Conv2d"),
        ("relu_1", "ReLU"), ("pool", "MaxPool2d"), ("dropout1", "Dropout"),
        ("flatten", "Flatten"), ("fc1", "Linear"), ("relu_2", "ReLU"), ("dropout2", "Dropout"),
        ("fc2", "Linear")]
    graph = result.project.graph
    assert graph.node("conv2").resolved_params() == {
        "out_channels": 64, "kernel_size": 3, "stride": 1, "padding": 0, "dilation": 1,
        "groups": 1, "bias": True, "padding_mode": "zeros"}
    assert graph.node("pool").resolved_params()["stride"] is None  # = the window, as drawn
    assert graph.node("dropout2").params == {"p": 0.5}
    assert not result.code_nodes and not result.fresh
    assert result.params_original == result.params_imported == _param_count(reference)
    assert result.outputs_identical and result.ok
    assert result.project.dataset == {"name": "mnist5k"}
    x = batch([1, 28, 28])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    analysis = infer(load_project(result.project.path).graph)
    assert analysis.ok and analysis.output_spec.shape == (10,)
    assert all(n.pos is not None for n in graph.nodes)  # laid out for the canvas


def test_constructor_kwargs_reach_the_class(tmp_path):
    result, reference = imported(tmp_path, "mnist_cnn:Net", [1, 28, 28],
                                 kwargs={"num_classes": 5})
    assert result.project.graph.node("fc2").params["out_features"] == 5
    x = batch([1, 28, 28])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_lstm_classifier_reading_the_last_step(tmp_path):
    result, reference = imported(tmp_path, "lstm_classifier:LSTMClassifier", [32], "int64")
    assert types(result) == [("tokens", "Input"), ("embedding", "Embedding"), ("lstm", "LSTM"),
                             ("sequencepool", "SequencePool"), ("classifier", "Linear")]
    graph = result.project.graph
    assert graph.node("tokens").params == {"shape": [32], "dtype": "int64"}
    assert graph.node("sequencepool").params == {"mode": "last"}
    assert graph.node("lstm").resolved_params() == {
        "hidden_size": 64, "num_layers": 1, "bias": True, "dropout": 0.0,
        "bidirectional": False, "output": "sequence"}
    assert result.params_imported == _param_count(reference) == 25_730
    x = batch([32], "int64")
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    assert result.project.dataset == {"name": "sequences"}


def test_residual_block_keeps_its_skip_connection(tmp_path):
    result, reference = imported(tmp_path, "residual:ResNetTiny", [3, 32, 32])
    graph = result.project.graph
    add = graph.node("layer1_add")
    assert add.type == "Add"
    assert [e.src for e in graph.in_edges("layer1_add")] == ["layer1_bn2", "stem_2"]
    assert graph.node("layer1_conv1").params["bias"] is False
    assert graph.node("flatten").type == "Flatten"  # from x.view(x.size(0), -1)
    assert result.params_imported == _param_count(reference)
    x = batch([3, 32, 32])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))
    # BatchNorm's running statistics carried over too, not only the parameters
    model = reloaded_model(result)
    assert torch.equal(model.layer1_bn1.running_var, reference.layer1.bn1.running_var)


def test_untraceable_submodule_becomes_one_code_node(tmp_path):
    result, reference = imported(tmp_path, "untraceable:GatedNet", [1, 8, 8])
    graph = result.project.graph
    gate = graph.node("gate")
    assert gate.type == "Code"
    assert gate.params == {"file": "gatednet_code.py", "class_name": "Gate",
                           "kwargs": {"features": 32, "factor": 0.25}}
    # x * torch.sigmoid(x): both are blocks
    assert graph.node("multiply").type == "Multiply"
    assert [e.src for e in graph.in_edges("multiply")] == ["fc1", "sigmoid"]
    assert graph.node("sigmoid").type == "Sigmoid"
    assert result.code_nodes == ["gate"]
    assert any("gate" in note and "cannot be traced" in note for note in result.notes)
    code = tmp_path / "gatednet_code.py"
    assert code.is_file() and is_trusted(code)
    assert "class Gate(nn.Module)" in code.read_text()
    text = (tmp_path / "gatednet.json").read_text()
    assert "def forward" not in text  # code never goes inline into the project
    assert result.params_imported == result.params_original == _param_count(reference)
    x = batch([1, 8, 8])
    for sample in (x, -x.abs(), x.abs()):  # both branches of the gate's `if`
        assert torch.equal(outputs(reloaded_model(result), sample), outputs(reference, sample))
    assert _train_step(reloaded_model(result), x, 10) > 0


def test_model_whose_own_forward_cannot_be_traced_is_one_code_node(tmp_path):
    result, reference = imported(tmp_path, "untraceable:WholeBranch", [1, 8, 8])
    assert types(result) == [("x", "Input"), ("model", "Code")]
    assert result.project.graph.node("model").params["class_name"] == "WholeBranch"
    assert any("cannot be traced" in reason for reason in result.reasons)
    x = batch([1, 8, 8])
    assert torch.equal(outputs(reloaded_model(result), x), outputs(reference, x))


def test_imported_project_trains_with_the_trainer(tmp_path):
    from torchloom.engine.tasks.prepare import prepare_training

    result, _ = imported(tmp_path, "untraceable:GatedNet", [1, 8, 8])
    project = load_project(result.project.path)
    job = prepare_training(project, overrides={"epochs": 1, "device": "cpu"}, save=False)
    # training starts from the module's own weights, carried over by the import
    assert "started from the project's weights gatednet.safetensors: kept 3 node(s); " \
           "initialised none fresh" in job.notes
    outcome = job.run()
    assert outcome.status == "finished", outcome.error
    assert outcome.final is not None and outcome.final.train_loss > 0


def test_weights_file_is_keyed_like_a_run_folder(tmp_path):
    from safetensors.torch import load_file

    result, reference = imported(tmp_path, "lstm_classifier:LSTMClassifier", [32], "int64")
    assert result.project.weights == "lstmclassifier.safetensors"
    saved = load_file(tmp_path / "lstmclassifier.safetensors")
    assert torch.equal(saved["lstm.weight_ih_l0"], reference.lstm.weight_ih_l0)
    assert torch.equal(saved["embedding.weight"], reference.embedding.weight)
    data = json.loads((tmp_path / "lstmclassifier.json").read_text())
    assert data["weights"] == "lstmclassifier.safetensors"


def test_the_apps_import_call(tmp_path):
    """File → Import calls `import_to_project` with one input and shows `report_lines()`."""
    from torchloom.engine.importer import import_to_project

    from .helpers import source

    result = import_to_project(source=source("lstm_classifier:LSTMClassifier"),
                               out=tmp_path / "app.json", input_shape=[32],
                               input_dtype="int64", kwargs={"num_classes": 3})
    assert result.project_path == tmp_path / "app.json" and result.project_path.is_file()
    assert result.report_lines()[0].startswith("imported LSTMClassifier: 5 nodes")
    assert result.project.graph.node("classifier").params["out_features"] == 3
