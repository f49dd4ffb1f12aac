"""The bundled example projects: the classic tutorial models, with their known sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchloom.engine.project import load_project
from torchloom.engine.tasks import task_for

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"

# file: (total parameters, output shape, a few (node, shape) pairs)
EXPECTED = {
    "mnist_cnn.json": (225_034, (10,), {"pool2": (64, 5, 5), "flatten": (1600,)}),
    "tf_tutorial_cnn.json": (93_322, (10,), {"conv3": (64, 3, 3), "flatten": (576,)}),
    "mlp_digits.json": (4_810, (10,), {"flatten": (64,)}),
    "shapes_cnn.json": (15_875, (3,), {"pool3": (32, 4, 4), "flatten": (512,)}),
    "lstm_text_classifier.json": (25_730, (2,), {"embed": (32, 32), "lstm": (32, 64),
                                                 "pool": (64,)}),
    # text (issue 21): the Embedding's "vocab" is the reviews' 73 words and specials
    "review_sentiment.json": (73 * 32 + 25_088 + 130, (2,), {"embed": (32, 32),
                                                            "lstm": (32, 64), "pool": (64,)}),
    # a character GPT on shakespeare's 65 characters: four causal pre-norm layers of 49,984
    # a transformer over the same reviews: padding masked in attention and in the mean pool
    "review_transformer.json": (73 * 32 + 32 * 32 + 8_544 + 66, (2,),
                                {"embed": (32, 32), "encoder": (32, 32), "pool": (32,)}),
    "char_gpt.json": (65 * 64 + 128 * 64 + 4 * 49_984 + 128 + 64 * 65 + 65, (128, 65),
                      {"embed": (128, 64), "decoder": (128, 64)}),
    "attention_classifier.json": (27_528, (8,), {"attn": (9, 64), "residual": (9, 64),
                                                 "pool": (64,)}),
    "transformer_classifier.json": (44_232, (8,), {"encoder": (9, 64), "pool": (64,)}),
    "residual_cnn.json": (11_427, (3,), {"residual": (16, 32, 32), "pool2": (32, 4, 4)}),
    # Units (issue 11): torchvision's CIFAR-style ResNet-18 count for 3 classes.
    "resnet18_units.json": (11_170_371, (3,), {"layer1": (64, 32, 32), "layer4": (512, 4, 4)}),
    "transformer6_units.json": (211_720, (8,), {"encoder": (9, 64), "pool": (64,)}),
    # the tasks' templates (issue 17): a regression, tags, a U-Net, an autoencoder
    "waves_regression.json": (16_706, (2,), {"relu2": (64,)}),
    "shape_tags_cnn.json": (47_363, (3,), {"flatten": (512,)}),
    # two heads: output_spec is the first head's (shape); the second is size [1]
    "shape_sizes_heads.json": (47_588, (3,), {"flatten": (512,), "size": (1,)}),
    "shape_masks_unet.json": (60_612, (4, 32, 32), {"mid_b": (32, 8, 8), "up2": (32, 16, 16),
                                                   "skip2": (64, 16, 16), "skip1": (48, 32, 32)}),
    "mnist_autoencoder.json": (419_120, (1, 28, 28), {"bottleneck": (32,)}),
}


# GAN examples: (generator params, discriminator params, latent shape, sample shape)
GAN_EXPECTED = {
    "gan_mnist.json": (247_440, 233_985, (100,), (1, 28, 28)),
}


def test_every_example_is_listed():
    assert {p.name for p in EXAMPLES.glob("*.json")} == set(EXPECTED) | set(GAN_EXPECTED)


@pytest.mark.parametrize("name", sorted(GAN_EXPECTED))
def test_gan_example_sizes_and_shapes(name):
    from torchloom.engine.gan.checks import analyze_gan

    g_params, d_params, latent, sample = GAN_EXPECTED[name]
    project = load_project(EXAMPLES / name)
    assert project.task == "gan" and list(project.graphs()) == ["generator", "discriminator"]
    checked = analyze_gan(project)
    assert checked.ok and not checked.warnings, [p.describe() for p in checked.problems]
    assert checked.generator.total_params == g_params
    assert checked.discriminator.total_params == d_params
    assert checked.latent_shape == latent and checked.sample_shape == sample
    assert checked.generator.output_spec.shape == sample
    assert checked.discriminator.output_spec.shape == (1,)
    assert project.dataset and project.dataset.get("name")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_sizes_and_shapes(name):
    total, out_shape, shapes = EXPECTED[name]
    project = load_project(EXAMPLES / name)
    a = task_for(project).analyze(project)  # the task's own warnings (a map output is fine)
    assert a.ok and not a.warnings, [p.describe() for p in a.problems]
    assert a.total_params == total
    assert a.output_spec.shape == out_shape
    for node_id, shape in shapes.items():
        assert a.nodes[node_id].shape == shape, node_id
    assert project.dataset and project.dataset.get("name")


def test_lstm_example_counts_match_torch():
    """Cross-check one non-trivial count against torch's own modules."""
    from torch import nn

    parts = [nn.Embedding(16, 32), nn.LSTM(32, 64), nn.Linear(64, 2)]
    assert sum(p.numel() for m in parts for p in m.parameters()) == 25_730
