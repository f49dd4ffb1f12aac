"""Run history and warm starts: what the GUI's run list and Train button rely on."""

from __future__ import annotations

from torchloom.engine.data import load_dataset
from torchloom.engine.data.preview import preview
from torchloom.engine.graph import Graph
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.history import graph_diff, list_runs, read_metrics

from .helpers import mlp_project


def test_runs_are_listed_with_status_and_metrics(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    prepare_training(project, out_dir=tmp_path / "runs" / "a").run()
    prepare_training(project, out_dir=tmp_path / "runs" / "b", overrides={"epochs": 2}).run()
    (tmp_path / "runs" / "junk").mkdir()
    runs = list_runs(tmp_path / "runs")
    assert [r.name for r in runs] == ["a", "b"]
    assert runs[1].status == "finished" and len(runs[1].metrics) == 2
    assert 0 <= runs[1].final_val_acc <= 1 and "2 epochs" in runs[1].label()
    assert read_metrics(tmp_path / "nowhere") == [] and list_runs(tmp_path / "none") == []


def test_init_from_starts_a_new_run_with_the_fitting_weights(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    first = prepare_training(project, out_dir=tmp_path / "r1").run()
    project.graph.set_param("fc1", "out_features", 48)
    job = prepare_training(project, init_from=first.run_dir, out_dir=tmp_path / "r2")
    assert sorted(job.reinitialized) == ["fc1", "fc2"] and not job.resumed
    project.graph.set_param("fc1", "out_features", 32)
    same = prepare_training(project, init_from=first.run_dir, out_dir=tmp_path / "r3")
    assert same.reinitialized == [] and same.trainer.step == 0  # a new run, not a resume


def test_runs_dir_places_new_runs(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    job = prepare_training(project, runs_dir=tmp_path / "elsewhere")
    assert job.run_dir.parent == tmp_path / "elsewhere"


def test_graph_diff_in_words():
    a = Graph()
    a.add_node("Input", {"shape": [4]}, "x")
    a.add_node("Linear", {"out_features": 8}, "fc")
    a.add_node("ReLU", node_id="act")
    a.connect("x", "fc")
    a.connect("fc", "act")
    b = Graph()
    b.add_node("Input", {"shape": [4]}, "x")
    b.add_node("Linear", {"out_features": 16}, "fc")
    b.add_node("GELU", node_id="gelu")
    b.connect("x", "fc")
    b.connect("fc", "gelu")
    assert graph_diff(a, b) == ["added gelu (GELU)", "removed act (ReLU)",
                                "fc.out_features: 8 -> 16"]
    assert graph_diff(a, a) == []


def test_preview_takes_some_of_every_class():
    data = load_dataset({"name": "mnist5k"})
    x, y = preview(data, per_class=3, limit=40)
    assert x.shape == (30, 1, 28, 28) and y.tolist() == [k for k in range(10) for _ in range(3)]


def test_a_project_with_initial_weights_starts_from_them(tmp_path):
    import torch

    from torchloom.engine.project import load_project, save_project
    from torchloom.engine.train import checkpoint as ckpt

    project = mlp_project(tmp_path, epochs=1)
    first = prepare_training(project, out_dir=tmp_path / "r1").run()
    (tmp_path / "start.safetensors").write_bytes((first.run_dir / ckpt.MODEL_FILE).read_bytes())
    project.weights = "start.safetensors"
    project.graph.set_param("fc2", "out_features", 12)  # fc2 no longer fits: it starts fresh
    save_project(project)
    again = load_project(tmp_path / "mlp.json")
    assert again.weights == "start.safetensors"
    job = prepare_training(again, save=False)
    saved = ckpt.load_weights(tmp_path / "start.safetensors")
    assert torch.equal(job.model.state_dict()["fc1.weight"], saved["fc1.weight"])
    assert job.reinitialized == ["fc2"]
    assert any("start.safetensors" in note for note in job.notes)
