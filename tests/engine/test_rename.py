"""Renaming a block: what an id may be, one undoable edit, and weights that follow."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine import edits
from torchloom.engine.errors import GraphError
from torchloom.engine.export.model import prepare_model
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.project import dumps_project, load_project, loads_project, save_project
from torchloom.engine.rename import check_new_id, plan_rename
from torchloom.engine.tasks.prepare import prepare_training

from .train.helpers import mlp_project


def _do(graph, ops):  # type: ignore[no-untyped-def]
    return [edits.apply(graph, op) for op in ops]


def _undo(graph, inverse):  # type: ignore[no-untyped-def]
    for op in reversed(inverse):
        edits.apply(graph, op)


@pytest.mark.parametrize("new, says", [("", "empty"), ("fc2", "already a block"),
                                       ("2fc", "starts with a digit"), ("my fc", "Python name"),
                                       ("class", "keyword"), ("__x", "two underscores"),
                                       ("forward", "already means"), ("a" * 500, "at most")])
def test_an_id_a_model_cannot_use_is_refused_with_the_reason(tmp_path, new, says):
    graph = mlp_project(tmp_path).graph
    with pytest.raises(GraphError, match=says):
        check_new_id(graph, "fc1", new)


def test_a_rename_is_one_edit_that_keeps_params_place_and_wires_and_undoes(tmp_path):
    graph = mlp_project(tmp_path).graph
    order = [n.id for n in graph.nodes]
    node = graph.node("fc1")
    node.pos = (10.0, 20.0)
    inverse = _do(graph, plan_rename(graph, "fc1", " hidden "))  # stripped
    assert "fc1" not in graph and graph.node("hidden").params == node.params
    assert graph.node("hidden").pos == (10.0, 20.0)
    assert [n.id for n in graph.nodes] == [("hidden" if i == "fc1" else i) for i in order]
    assert ("flat", "hidden") in [(e.src, e.dst) for e in graph.edges]
    assert ("hidden", "relu") in [(e.src, e.dst) for e in graph.edges]
    _undo(graph, inverse)
    assert [n.id for n in graph.nodes] == order and graph.renamed == []
    assert plan_rename(graph, "fc1", "fc1") == []


def test_the_project_file_keeps_the_renames_and_old_files_load_without_them(tmp_path):
    project = mlp_project(tmp_path)
    assert "renamed" not in dumps_project(project)  # nothing new in a file without renames
    _do(project.graph, plan_rename(project.graph, "fc1", "hidden"))
    again = loads_project(dumps_project(project))
    assert again.graph.renamed == [("fc1", "hidden")]
    assert load_project(tmp_path / "mlp.json").graph.renamed == []


def test_a_renamed_block_keeps_its_trained_weights_for_export_inspect_and_resume(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    run = prepare_training(project, out_dir=tmp_path / "runs" / "r1").run()
    trained = load_trained(run.run_dir).model.state_dict()["fc1.weight"].clone()
    _do(project.graph, plan_rename(project.graph, "fc1", "hidden"))
    save_project(project, tmp_path / "mlp.json")
    project = load_project(tmp_path / "mlp.json")

    exported = prepare_model(project, run.run_dir).module.state_dict()
    assert torch.equal(exported["hidden.weight"], trained)
    inspected = load_trained(run.run_dir, project).model.state_dict()
    assert torch.equal(inspected["hidden.weight"], trained)
    job = prepare_training(project, resume=run.run_dir, overrides={"epochs": 2})
    assert job.resumed and job.reinitialized == []
    assert torch.equal(job.model.state_dict()["hidden.weight"].cpu(), trained)
