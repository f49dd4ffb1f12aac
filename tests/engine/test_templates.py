"""The templates really learn: each trains to the accuracy the issue promises.

Marked slow (about a minute together on two cores); CI runs them.
"""

from __future__ import annotations

import pytest

from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training

# template: (minimum validation accuracy, epochs or None for the project's own)
TARGETS = {
    "mlp_digits.json": (0.95, None),
    "mnist_cnn.json": (0.93, 3),
    "shapes_cnn.json": (0.90, None),
    "lstm_text_classifier.json": (0.90, None),
    "attention_classifier.json": (0.90, None),
    "transformer_classifier.json": (0.50, None),  # chance is 1/8: "clearly above"
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_template_reaches_its_accuracy(name):
    minimum, epochs = TARGETS[name]
    project = load_project(examples_dir() / name)
    overrides = {"epochs": epochs} if epochs else {}
    result = prepare_training(project, overrides=overrides, save=False).run()
    assert result.status == "finished", result.error
    assert result.final.val_acc >= minimum, [e.val_acc for e in result.epochs]
