"""The `safetensors` export: every tensor keyed by node id and bit-identical, the graph as a
sidecar project that opens with these weights, paths that still resolve from its folder."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
import safetensors
import torch
from safetensors.torch import load_file

from torchloom.engine.errors import ExportError, ExportPathError
from torchloom.engine.export import export_project
from torchloom.engine.export.model import prepare_model
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, load_project, project_to_dict, save_project

from .conftest import EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_exports_its_weights_and_graph(examples, tmp_path, name):
    out = tmp_path / f"{name}.safetensors"
    result = export_project(examples.project(name), "safetensors", out)
    sidecar = tmp_path / f"{name}.json"
    assert result.files == [out, sidecar] and sorted(tmp_path.iterdir()) == sorted(result.files)
    state = examples.model(name).module.state_dict()
    saved = load_file(out)
    assert sorted(saved) == sorted(state)  # the node ids are the module names here
    assert all(torch.equal(saved[k], state[k]) for k in state)
    assert result.checks["tensors"] == len(state) and result.checks["tensors_equal"]
    with safetensors.safe_open(str(out), framework="pt") as handle:
        assert handle.metadata()["format"] == "torchloom-weights"

    opened = load_project(sidecar)  # the pair is a Torchloom project with initial weights
    assert project_to_dict(opened)["graph"] == project_to_dict(examples.project(name))["graph"]
    assert opened.weights_path() == out
    rebuilt = prepare_model(opened).module.state_dict()
    assert all(torch.equal(rebuilt[k], state[k]) for k in state)


def test_trained_weights_are_what_gets_exported(examples, tmp_path, make_run):
    project = examples.project("mlp_digits")
    run = make_run(project, tmp_path / "run")
    out = tmp_path / "out" / "digits.safetensors"
    export_project(project, "safetensors", out, weights=run)
    trained = load_file(run / "model.safetensors")
    saved = load_file(out)
    assert all(torch.equal(saved[k], trained[k]) for k in trained)
    assert not torch.equal(saved["fc1.weight"], examples.model("mlp_digits").module.fc1.weight)


def odd_ids_project(tmp_path) -> Project:
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 3}, "fc-1")  # not a Python name: module "fc_1"
    g.connect("x", "fc-1")
    project = Project(g, name="odd ids")
    save_project(project, tmp_path / "odd.json")
    return project


def test_keys_are_node_ids_even_when_the_module_names_differ(tmp_path):
    project = odd_ids_project(tmp_path)
    out = tmp_path / "odd_weights.safetensors"
    result = export_project(project, "safetensors", out)
    assert sorted(load_file(out)) == ["fc-1.bias", "fc-1.weight"]
    # a project reads weights by module name, so this sidecar cannot name them, and says so
    assert "weights" not in json.loads((tmp_path / "odd_weights.json").read_text())
    assert any("does not name the weights file" in n for n in result.notes)
    assert result.checks["weights_linked"] is False


def test_relative_data_paths_still_resolve_from_the_sidecar(tmp_path):
    home, away = tmp_path / "home", tmp_path / "away" / "deeper"
    home.mkdir()
    np.savez(home / "data.npz", x=np.zeros((4, 4), np.float32), y=np.zeros(4, np.int64))
    project = odd_ids_project(home)
    project.dataset = {"path": "data.npz"}
    save_project(project, home / "odd.json")
    export_project(load_project(home / "odd.json"), "safetensors", away / "w.safetensors")
    moved = json.loads((away / "w.json").read_text())["dataset"]["path"]
    assert moved == "../../home/data.npz"
    assert (away / moved).resolve() == (home / "data.npz").resolve()


def test_an_export_that_does_not_read_back_fails_and_leaves_nothing(examples, tmp_path,
                                                                     monkeypatch):
    import safetensors.torch as st

    real = st.save

    def corrupt(tensors, metadata=None):
        key = sorted(tensors)[0]
        return real({**tensors, key: tensors[key] + 1e-3}, metadata=metadata)

    monkeypatch.setattr(st, "save", corrupt)
    with pytest.raises(ExportError, match="does not reproduce the model"):
        export_project(examples.project("mlp_digits"), "safetensors",
                       tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []  # neither the weights nor the sidecar


def test_a_json_name_is_refused_because_the_sidecar_goes_there(examples, tmp_path):
    with pytest.raises(ExportPathError, match="must not end in .json"):
        export_project(examples.project("mlp_digits"), "safetensors", tmp_path / "m.json")


def test_a_sidecar_that_would_replace_the_project_is_refused(tmp_path):
    """`export proj.json -f safetensors -o proj.safetensors` would write the graph to
    proj.json: the person's own project. It stops instead, and says what to do."""
    project_file = tmp_path / "proj.json"
    save_project(odd_ids_project(tmp_path), project_file)
    before = project_file.read_bytes()
    with pytest.raises(ExportPathError) as info:
        export_project(load_project(project_file), "safetensors", tmp_path / "proj.safetensors")
    message = info.value.describe()
    assert str(project_file) in message and "would replace your project" in message
    assert "proj_weights.safetensors" in message  # another -o that works
    assert project_file.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.json", "proj.json"]


def test_the_same_project_through_another_path_is_still_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    project_file = tmp_path / "proj.json"
    save_project(odd_ids_project(tmp_path), project_file)
    with pytest.raises(ExportPathError, match="would replace your project"):
        export_project(load_project(project_file), "safetensors",
                       tmp_path / "sub" / ".." / "proj.safetensors")


@pytest.mark.parametrize("umask, mode", [(0o077, 0o600), (0o002, 0o664)],
                         ids=["umask-077", "umask-002"])
def test_written_files_get_the_mode_the_umask_allows(examples, tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        result = export_project(examples.project("mlp_digits"), "safetensors",
                                tmp_path / "m.safetensors")
    finally:
        os.umask(old)
    assert [stat.S_IMODE(f.stat().st_mode) for f in result.files] == [mode, mode]


def test_a_replaced_file_keeps_its_mode(examples, tmp_path):
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"old")
    out.chmod(0o640)
    export_project(examples.project("mlp_digits"), "safetensors", out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640 and out.read_bytes() != b"old"
