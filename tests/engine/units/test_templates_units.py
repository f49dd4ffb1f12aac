"""The unit templates of issue 11 train: a ResNet-18 (BasicBlock units) and a 6-layer
transformer encoder (one unit, repeat 6). Both are one screen of nodes."""

from __future__ import annotations

import pytest

from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training


def test_both_templates_fit_on_one_screen():
    for name, most in (("resnet18_units.json", 14), ("transformer6_units.json", 7)):
        project = load_project(examples_dir() / name)
        assert len(project.graph) <= most
        assert any(n.type.startswith("unit:") for n in project.graph.nodes)


@pytest.mark.slow
def test_the_transformer_template_learns():
    project = load_project(examples_dir() / "transformer6_units.json")
    assert project.graph.node("encoder").params["repeat"] == 6
    result = prepare_training(project, overrides={"epochs": 3, "device": "cpu"},
                              save=False).run()
    assert result.status == "finished", result.error
    assert result.final.val_acc >= 0.5, [e.val_acc for e in result.epochs]  # chance: 1/8


@pytest.mark.slow
def test_the_resnet18_template_learns():
    """11 million weights on a CPU core: the test asks whether every unit passes gradients
    that let the network fit 32 images (four epochs), not how well it generalises
    (that takes the template's own settings and minutes; validation on 12 images says
    nothing)."""
    project = load_project(examples_dir() / "resnet18_units.json")
    project.dataset = {"name": "shapes", "n": 40}
    result = prepare_training(project, overrides={"epochs": 4, "batch_size": 8,
                                                  "device": "cpu"}, save=False).run()
    assert result.status == "finished", result.error
    losses = [e.train_loss for e in result.epochs]
    assert losses[-1] <= 0.5 * losses[0], losses  # measured: 1.52 -> 0.26
    assert result.final.train_acc >= 0.75, [e.train_acc for e in result.epochs]  # 0.91
