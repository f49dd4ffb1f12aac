"""Augmentation as batch operations (issue 22, part 3): what each one does to a batch, that
masks move with their images, that the draws repeat, and the clear refusals."""

from __future__ import annotations

import re

import pytest
import torch

from torchloom.engine.data.augment import AUGMENTATIONS, fit_problem, parse
from torchloom.engine.data.augment_ops import Augmenter
from torchloom.engine.data.dataset import Normalization
from torchloom.engine.errors import DataError

GEOMETRIC = [name for name, a in AUGMENTATIONS.items() if a.geometric]


def blocks(n: int = 6, h: int = 24, w: int = 32,
           classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose first channel is their mask: big blocks of one class each, so that a
    geometric augmentation that moves both alike keeps them equal almost everywhere."""
    gen = torch.Generator().manual_seed(0)
    coarse = torch.randint(1, classes, (n, h // 8, w // 8), generator=gen)
    mask = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    x = torch.stack([mask.float(), torch.rand(n, h, w, generator=gen)], 1)
    return x, mask


def test_parse_fills_defaults_in_running_order_and_takes_true_for_the_defaults():
    chosen = parse({"noise": {"std": 0.1}, "hflip": True, "vflip": False, "crop": {}})
    assert list(chosen) == ["hflip", "crop", "noise"]  # the declaration's order, not the file's
    assert chosen == {"hflip": {"p": 0.5}, "crop": {"padding": 4}, "noise": {"std": 0.1}}


@pytest.mark.parametrize("spec, where, words", [
    ({"hflipp": {}}, "dataset.augment.hflipp", "did you mean hflip?"),
    ({"hflip": {"p": 2}}, "dataset.augment.hflip.p", "must be a number >= 0.0 and <= 1.0"),
    ({"crop": {"pad": 4}}, "dataset.augment.crop.pad", "it takes padding"),
    ({"crop": 4}, "dataset.augment.crop", "must be an object of its parameters"),
    (["hflip"], "dataset.augment", "must be an object"),
])
def test_a_bad_setting_names_its_key(spec, where, words):
    with pytest.raises(DataError) as caught:
        parse(spec)
    assert caught.value.where == where and words in caught.value.message


@pytest.mark.parametrize("name", GEOMETRIC)
def test_a_mask_moves_with_its_image(name):
    x, mask = blocks()
    params = {"p": 1.0} if name in ("hflip", "vflip") else {}
    out, moved = Augmenter(parse({name: params}), seed=1)(x, mask, step=0)
    assert moved.shape == mask.shape and moved.dtype == mask.dtype
    assert not torch.equal(moved, mask)  # it did move
    agree = (out[:, 0].round().long() == moved).float().mean()
    # flips and crops move whole pixels: equal everywhere; the warps blend only at edges
    assert agree == 1.0 if name in ("hflip", "vflip", "crop") else agree > 0.9


def test_flips_with_certainty_mirror_and_with_no_chance_do_nothing():
    x, mask = blocks()
    out, moved = Augmenter(parse({"hflip": {"p": 1.0}}), 0)(x, mask, 0)
    assert torch.equal(out, x.flip(-1)) and torch.equal(moved, mask.flip(-1))
    out, _ = Augmenter(parse({"vflip": {"p": 0.0}}), 0)(x, mask, 0)
    assert torch.equal(out, x)


def test_a_crop_keeps_the_size_and_shifts_by_at_most_the_padding():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(50, 1, 1, 1)
    out, _ = Augmenter(parse({"crop": {"padding": 1}}), 0)(x, torch.zeros(50), 0)
    assert out.shape == x.shape
    # each crop is the image moved by -1, 0 or 1 in each direction: its centre 2x2 holds
    # the original values 5, 6, 9, 10 shifted by one of the nine offsets
    offsets = {int(out[i, 0, 1, 1] - 5) for i in range(50)}
    assert offsets <= {-5, -4, -3, -1, 0, 1, 3, 4, 5} and len(offsets) > 3


def test_the_same_seed_and_step_draw_the_same_and_the_global_generator_is_untouched():
    x, mask = blocks()
    spec = parse({"hflip": {}, "affine": {}, "noise": {}, "cutout": {}})
    before = torch.get_rng_state()
    a = Augmenter(spec, 7)(x, mask, 3)
    b = Augmenter(spec, 7)(x, mask, 3)
    c = Augmenter(spec, 7)(x, mask, 4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert torch.equal(torch.get_rng_state(), before)  # dropout's stream goes on as before


def test_brightness_scales_the_raw_pixels_not_the_normalised_ones():
    norm = Normalization(torch.tensor([0.5, 0.2]).view(2, 1, 1), torch.tensor([0.25, 0.1])
                         .view(2, 1, 1))
    raw = torch.rand(4, 2, 5, 5) + 0.1
    out, _ = Augmenter(parse({"brightness": {"amount": 0.5}}), 0, norm)(norm.apply(raw),
                                                                       torch.zeros(4), 0)
    back = out * norm.std + norm.mean
    factor = back / raw
    per_sample = factor.flatten(1)
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-5)
    assert ((per_sample[:, 0] >= 0.5) & (per_sample[:, 0] <= 1.5)).all()
    assert not torch.allclose(per_sample[:, 0], torch.ones(4))


def test_contrast_keeps_each_image_mean_and_cutout_blanks_a_square():
    x = torch.rand(8, 3, 16, 16)
    out, _ = Augmenter(parse({"contrast": {"amount": 0.5}}), 0)(x, torch.zeros(8), 0)
    assert torch.allclose(out.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1e-5)
    out, _ = Augmenter(parse({"cutout": {"size": 0.25}}), 0)(x + 1, torch.zeros(8), 0)
    blanked = (out == 0).all(1).flatten(1).sum(1)  # pixels zero in every channel
    assert (blanked > 0).all() and (blanked <= 16).all()  # a 4x4 square, clipped at edges


@pytest.mark.parametrize("name", ["mixup", "cutmix"])
def test_mixing_gives_soft_labels_that_weigh_like_the_images(name):
    x = torch.stack([torch.full((1, 8, 8), float(c)) for c in range(4)] * 4)  # class c: all c
    y = torch.arange(4).repeat(4)
    out, soft = Augmenter(parse({name: {"alpha": 1.0}}), 2, num_classes=4)(x, y, 0)
    assert soft.shape == (16, 4) and torch.allclose(soft.sum(1), torch.ones(16))
    # the mean pixel of a mixed image is the label-weighted mean of the classes
    assert torch.allclose(out.mean((1, 2, 3)), soft @ torch.arange(4.0), atol=1e-5)


def test_with_both_mixers_each_batch_takes_one():
    x, y = torch.rand(16, 1, 8, 8), torch.randint(0, 3, (16,))
    aug = Augmenter(parse({"mixup": {}, "cutmix": {}}), 0, num_classes=3)
    kinds = set()
    for step in range(12):
        out, _ = aug(x, y, step)
        # cutmix pastes whole pixels: every pixel is one of the two images' own
        kinds.add("cutmix" if any(bool(torch.isin(out[i], x).all()) for i in range(16))
                  else "mixup")
    assert kinds == {"mixup", "cutmix"}


@pytest.mark.parametrize("spec, shape, is_float, several, targets, words", [
    ({"hflip": {}}, (32,), False, False, "classification", "cannot augment token ids"),
    ({"crop": {}}, (64,), True, False, "regression", "needs images [channels, height, width]"),
    ({"mixup": {}}, (3, 32, 32), True, False, "segmentation", "it is for classification"),
    ({"hflip": {}}, (), True, True, "classification", "this model has several Inputs"),
])
def test_an_augmentation_that_does_not_fit_the_data_says_why(spec, shape, is_float, several,
                                                             targets, words):
    problem = fit_problem(parse(spec), shape, is_float, several, targets)
    assert problem is not None and words in problem.message
    assert problem.where == f"dataset.augment.{next(iter(spec))}"


def test_noise_works_on_any_numbers():
    assert fit_problem(parse({"noise": {}}), (64,), True, False, "regression") is None
    x = torch.zeros(4, 64)
    out, _ = Augmenter(parse({"noise": {"std": 1.0}}), 0)(x, torch.zeros(4), 0)
    assert 0.5 < float(out.std()) < 1.5


def test_the_format_documents_every_augmentation_and_parameter():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "project-format.md").read_text()
    section = doc.split("### `dataset.augment`", 1)[1].split("\n### ", 1)[0]
    for name, aug in AUGMENTATIONS.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")),
                   None)
        assert row is not None, name
        for key, param in aug.params.items():
            shown = re.search(rf"`{key}` \(([0-9.]+)\)", row)
            assert shown is not None and float(shown.group(1)) == param.default, (name, key)
