"""The GAN project format: round trip, compatibility, validation, error attribution."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, dumps_project, loads_project, project_to_dict
from torchloom.engine.shapes import infer

from .helpers import GAN_EXAMPLE


def test_the_example_round_trips_byte_for_byte():
    text = GAN_EXAMPLE.read_text()
    project = loads_project(text)
    assert project.task == "gan"
    assert list(project.graphs()) == ["generator", "discriminator"]
    assert len(project.graph) == 0  # a GAN keeps its graphs in generator/discriminator
    assert dumps_project(project) == text
    again = loads_project(dumps_project(project))
    assert dumps_project(again) == text


def test_saved_keys_and_order():
    data = project_to_dict(loads_project(GAN_EXAMPLE.read_text()))
    assert list(data)[:6] == ["format", "version", "name", "task", "generator",
                              "discriminator"]
    assert "graph" not in data and "recipe" not in data


def test_a_file_from_before_tasks_with_recipe_gan_loads_as_the_gan_task_and_saves_its_task():
    old = GAN_EXAMPLE.read_text().replace('"task": "gan"', '"task": "gan"')
    project = loads_project(old)
    assert project.task == "gan" and list(project.graphs()) == ["generator", "discriminator"]
    saved = project_to_dict(project)
    assert saved["task"] == "gan" and "recipe" not in saved
    assert dumps_project(project) == GAN_EXAMPLE.read_text()


def test_a_classifier_file_has_no_task_key_and_is_unchanged():
    text = ('{"format": "torchloom-project", "version": 1, "name": "c", "graph": {"nodes": '
            '[{"id": "x", "type": "Input", "params": {"shape": [4], "dtype": "float32"}}], '
            '"edges": []}}')
    project = loads_project(text)
    assert project.task == "classify"
    assert list(project.graphs()) == ["graph"] and project.generator is None
    out = json.loads(dumps_project(project))
    assert "task" not in out and "recipe" not in out and out == json.loads(text)
    assert project.training_config()["lr"] == 0.001  # the classifier's default stays


def test_a_new_gan_project_has_two_empty_graphs_and_gan_defaults():
    project = Project(task="gan")
    assert isinstance(project.generator, Graph) and isinstance(project.discriminator, Graph)
    config = project.training_config()
    assert config["lr"] == 0.0002 and config["betas"] == (0.5, 0.999)
    assert config["d_steps"] == 1 and config["label_smoothing"] == 0.0
    saved = json.loads(dumps_project(project))
    assert saved["generator"] == {"nodes": [], "edges": []} and "graph" not in saved


def _gan(**top) -> str:
    data = {"format": "torchloom-project", "version": 1, "recipe": "gan",
            "generator": {"nodes": [], "edges": []},
            "discriminator": {"nodes": [], "edges": []}, **top}
    return json.dumps(data)


@pytest.mark.parametrize("training, where", [
    ({"betas": [0.5, 1.0]}, "training.betas"),
    ({"betas": [0.5]}, "training.betas"),
    ({"betas": "0.5"}, "training.betas"),
    ({"d_steps": 0}, "training.d_steps"),
    ({"d_steps": 1.5}, "training.d_steps"),
    ({"label_smoothing": 0.9}, "training.label_smoothing"),
])
def test_gan_training_keys_are_validated_like_the_others(training, where):
    with pytest.raises(ProjectFileError) as info:
        loads_project(_gan(training=training))
    assert info.value.where == where


def test_good_gan_training_keys_load():
    project = loads_project(_gan(training={"betas": [0.0, 0.9], "d_steps": 3,
                                           "label_smoothing": 0.1}))
    assert project.training_config()["d_steps"] == 3


def test_a_gan_file_with_a_graph_or_an_unknown_recipe_is_a_file_error():
    with pytest.raises(ProjectFileError) as info:
        loads_project(_gan(graph={"nodes": [], "edges": []}))
    assert info.value.where == "graph"
    with pytest.raises(ProjectFileError) as info:
        loads_project(_gan(recipe="vae"))
    assert info.value.where == "recipe" and "gan" in info.value.message


def test_a_broken_gan_graph_names_the_graph_in_the_file_error():
    data = json.loads(_gan())
    data["discriminator"]["nodes"] = [{"id": 3, "type": "Input"}]
    with pytest.raises(ProjectFileError) as info:
        loads_project(json.dumps(data))
    assert info.value.where == "discriminator.nodes[0].id"


def test_unknown_keys_of_a_gan_graph_and_of_the_file_are_kept():
    data = json.loads(_gan(extra_key=1))
    data["generator"]["note"] = "keep me"
    out = json.loads(dumps_project(loads_project(json.dumps(data))))
    assert out["extra_key"] == 1 and out["generator"]["note"] == "keep me"


def test_lr_set_in_the_file_wins_over_the_gan_default():
    project = loads_project(_gan(training={"lr": 0.001}))
    assert project.training_config()["lr"] == 0.001


def test_leaky_relu_has_negative_slope_and_unflatten_exists():
    from torchloom.engine.blocks import get_block

    assert get_block("LeakyReLU").params["negative_slope"].default == 0.01
    unflatten = get_block("Unflatten")
    assert set(unflatten.params) == {"dim", "unflattened_size"}


def test_unflatten_shapes_and_errors():
    from ..builders import chain

    good = infer(chain(("u", "Unflatten", {"unflattened_size": [2, 3, 4]}), shape=[24]))
    assert good.ok and good.nodes["u"].shape == (2, 3, 4)
    last = infer(chain(("u", "Unflatten", {"dim": -1, "unflattened_size": [2, 2]}),
                       shape=[3, 4]))
    assert last.nodes["u"].shape == (3, 2, 2)
    bad = infer(chain(("u", "Unflatten", {"unflattened_size": [1, 28, 29]}), shape=[784]))
    message = bad.nodes["u"].errors[0].message
    assert "[1, 28, 29]" in message and "812" in message and "784" in message
    batch = infer(chain(("u", "Unflatten", {"dim": 0, "unflattened_size": [4]}), shape=[4]))
    assert "dim=0" in batch.nodes["u"].errors[0].message


def test_the_gan_example_in_the_docs_loads_and_checks():
    from pathlib import Path

    from torchloom.engine.gan.checks import analyze_gan

    doc = (Path(__file__).resolve().parents[3] / "docs" / "project-format.md").read_text()
    blocks = [b.split("```", 1)[0] for b in doc.split("```json")[1:]]
    block = next(b for b in blocks if '"task": "gan"' in b)
    project = loads_project(block)
    assert project.task == "gan" and analyze_gan(project).ok
