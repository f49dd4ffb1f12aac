"""Starting from pretrained weights in a local file (issue 22 §2.3): a torch state dict or a
safetensors file is matched to the blocks by name, a common prefix like "module." is
stripped, blocks whose shapes differ start fresh and are reported with the reason, and a
file with no name in common is an error naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from torchloom.engine.cli import main
from torchloom.engine.compile import compile_graph
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, load_project, save_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.pretrained import PretrainedError, best_prefix

def mlp(out2: int = 10) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [1, 8, 8]}, "x")
    prev = "x"
    for node_id, type_name, params in (("flat", "Flatten", {}),
                                       ("fc1", "Linear", {"out_features": 16}),
                                       ("relu", "ReLU", {}),
                                       ("fc2", "Linear", {"out_features": out2})):
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    return g


def project_in(tmp_path: Path, **top) -> Project:
    project = Project(mlp(), name="p", dataset={"name": "digits"},
                      training={"epochs": 1, "batch_size": 512, "seed": 0}, **top)
    save_project(project, tmp_path / "p.json")
    return project


def pretrained_state(out2: int = 10, seed: int = 123) -> dict[str, torch.Tensor]:
    """Weights another program saved: another seed, maybe another head size."""
    return {k: v.clone() for k, v in compile_graph(mlp(out2), seed=seed).state_dict().items()}


def test_a_torch_state_dict_with_a_module_prefix_loads_and_a_new_head_is_reported(tmp_path):
    state = pretrained_state(out2=5)  # fc2 is a 5-class head there, 10 here
    file = tmp_path / "backbone.pt"
    torch.save({f"module.{k}": v for k, v in state.items()}, file)
    job = prepare_training(project_in(tmp_path), overrides={"device": "cpu"}, save=False,
                           init_from=file)
    report = job.init_report
    assert report.prefix == "module."
    assert report.matched == ["fc1"] and report.tensors == 2
    assert torch.equal(job.model.fc1.weight, state["fc1.weight"])
    assert torch.equal(job.model.fc1.bias, state["fc1.bias"])
    assert "shape differs" in report.reinitialized["fc2"]
    assert "[10, 16] here, [5, 16] in the file" in report.reinitialized["fc2"]
    assert job.reinitialized == ["fc2"]
    assert not torch.equal(job.model.fc2.bias[:5], state["fc2.bias"])
    assert any("re-initialised fc2: shape differs" in n for n in job.notes)


def test_a_safetensors_file_loads_every_block_it_names(tmp_path):
    state = pretrained_state()
    state.pop("fc2.bias")
    save_file(state, str(tmp_path / "w.safetensors"))
    job = prepare_training(project_in(tmp_path), overrides={"device": "cpu"}, save=False,
                           init_from=tmp_path / "w.safetensors")
    assert job.init_report.matched == ["fc1"]
    assert job.init_report.reinitialized == {"fc2": "bias not in the file"}
    assert torch.equal(job.model.fc1.weight, state["fc1.weight"])


def test_a_nested_checkpoint_dict_is_read_from_its_state_dict_key(tmp_path):
    state = pretrained_state()
    torch.save({"epoch": 3, "state_dict": {f"model.{k}": v for k, v in state.items()}},
               tmp_path / "ckpt.pth")
    job = prepare_training(project_in(tmp_path), overrides={"device": "cpu"}, save=False,
                           init_from=tmp_path / "ckpt.pth")
    assert job.init_report.matched == ["fc1", "fc2"] and not job.init_report.reinitialized
    assert torch.equal(job.model.fc2.weight, state["fc2.weight"])


def test_no_name_in_common_is_an_error_naming_the_file(tmp_path):
    torch.save({"encoder.layer0.weight": torch.zeros(3, 3)}, tmp_path / "other.pt")
    with pytest.raises(PretrainedError) as caught:
        prepare_training(project_in(tmp_path), overrides={"device": "cpu"}, save=False,
                         init_from=tmp_path / "other.pt")
    message = caught.value.describe()
    assert "other.pt" in message and "none of its 1 tensor names" in message
    assert "'fc1.weight'" in message


def test_a_file_that_is_not_a_state_dict_is_refused_without_running_it(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(PretrainedError, match="holds no tensors by name"):
        prepare_training(project_in(tmp_path), overrides={"device": "cpu"}, save=False,
                         init_from=tmp_path / "list.pt")


def test_the_project_weights_setting_takes_a_torch_state_dict_too(tmp_path):
    state = pretrained_state()
    torch.save(state, tmp_path / "start.pt")
    project_in(tmp_path, weights="start.pt")
    project = load_project(tmp_path / "p.json")
    assert project.weights == "start.pt"
    job = prepare_training(project, overrides={"device": "cpu"}, save=False)
    assert job.init_report.matched == ["fc1", "fc2"]
    assert torch.equal(job.model.fc1.weight, state["fc1.weight"])


def test_best_prefix_strips_only_when_it_makes_more_names_match():
    wanted = {"fc1.weight", "fc1.bias"}
    assert best_prefix(["fc1.weight", "fc1.bias"], wanted) == ""
    assert best_prefix(["model.fc1.weight", "model.fc1.bias"], wanted) == "model."
    assert best_prefix(["module.model.fc1.weight"], wanted) == "module.model."


def test_the_cli_prints_the_report_and_exits_2_on_no_match(tmp_path, capsys):
    state = pretrained_state(out2=5)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "b.pt")
    torch.save({"nothing.weight": torch.zeros(2)}, tmp_path / "bad.pt")
    project_in(tmp_path)
    cli = ["train", str(tmp_path / "p.json"), "--device", "cpu", "--quiet", "--epochs", "1"]
    code = main([*cli, "--init-from", str(tmp_path / "b.pt"), "--metrics-json",
                 str(tmp_path / "m.json"), "--out", str(tmp_path / "run")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "started from b.pt: 1 block(s) loaded (2 tensors), names with 'module.' " \
           "stripped" in out.out
    assert "re-initialised fc2: shape differs" in out.out
    assert json.loads((tmp_path / "m.json").read_text())["init"]["loaded"] == ["fc1"]
    assert main([*cli, "--init-from", str(tmp_path / "bad.pt")]) == 2
    err = capsys.readouterr().err
    assert "bad.pt" in err and "none of its 1 tensor names" in err


def test_the_python_api_trains_from_a_weights_file_with_frozen_blocks(tmp_path):
    from safetensors.torch import load_file

    from torchloom.engine.api import train

    state = pretrained_state()
    torch.save(state, tmp_path / "start.pt")
    project = project_in(tmp_path)
    project.graph.set_training("fc1", "trainable", False)
    run = train(project, init_from=tmp_path / "start.pt", run_dir=tmp_path / "run",
                verbose=False, epochs=1, device="cpu")
    assert run.status == "finished"
    trained = load_file(tmp_path / "run" / "model.safetensors")
    assert torch.equal(trained["fc1.weight"], state["fc1.weight"])  # loaded, then frozen
    assert not torch.equal(trained["fc2.weight"], state["fc2.weight"])
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["init_report"]["loaded"] == ["fc1", "fc2"]
