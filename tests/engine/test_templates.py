"""The templates really learn: each trains, on data Torchloom ships or generates, to the
figure its task documents (docs/project-format.md, "Tasks").

Marked slow (about two minutes together on two cores); CI runs them.
"""

from __future__ import annotations

import pytest

from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training

# template: (the metric, its minimum (or maximum, for a loss), epochs or None for its own)
TARGETS = {
    "mlp_digits.json": ("val_acc", 0.95, None),
    "mnist_cnn.json": ("val_acc", 0.93, 3),
    "shapes_cnn.json": ("val_acc", 0.90, None),
    "lstm_text_classifier.json": ("val_acc", 0.90, None),
    "review_sentiment.json": ("val_acc", 0.95, None),  # a bag of words reaches about 0.64
    "attention_classifier.json": ("val_acc", 0.90, None),
    "transformer_classifier.json": ("val_acc", 0.50, None),  # chance is 1/8: "clearly above"
    "waves_regression.json": ("val_r2", 0.95, None),
    "shape_tags_cnn.json": ("val_f1", 0.85, None),
    "shape_masks_unet.json": ("val_miou", 0.90, None),
    "mnist_autoencoder.json": ("val_loss", 0.13, None),  # bce; the mean image scores 0.26
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_template_reaches_its_figure(name):
    metric, bound, epochs = TARGETS[name]
    project = load_project(examples_dir() / name)
    overrides = {"epochs": epochs} if epochs else {}
    result = prepare_training(project, overrides=overrides, save=False).run()
    assert result.status == "finished", result.error
    reached = [e.metrics()[metric] for e in result.epochs]
    if metric.endswith("loss"):
        assert reached[-1] <= bound, reached
    else:
        assert reached[-1] >= bound, reached
