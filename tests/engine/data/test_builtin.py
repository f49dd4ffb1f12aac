"""Built-in datasets: offline, seeded, fast, the documented sizes and chance levels."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.data import BUILTINS, load_dataset
from torchloom.engine.data.generators import make_retrieval, make_sequences
from torchloom.engine.errors import DataError


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_loads_with_its_declared_shape_and_targets(name):
    # how fast they load is bench/startup.py's to measure, never a pass/fail here
    entry = BUILTINS[name]
    data = load_dataset({"name": name}, task=entry.targets)
    assert data.input_shape == entry.input_shape and data.dtype == entry.dtype
    assert data.num_classes == entry.classes and data.target_shape == entry.target_shape
    if entry.targets == "classification":
        counts = data.class_counts()
        assert min(counts) > 0.5 * max(counts), counts  # roughly balanced: chance is 1/K
    if entry.targets == "classification":
        assert data.info["chance_accuracy"] == pytest.approx(entry.chance, abs=1e-4)
    else:  # an accuracy by chance means nothing for numbers, tags or masks
        assert "chance_accuracy" not in data.info
    assert len(load_dataset({"name": name}, task="none")) == len(data)  # an autoencoder's


def test_mnist5k_is_the_real_subset():
    data = load_dataset({"name": "mnist5k"})
    assert len(data) == 5000 and data.class_counts() == [500] * 10
    assert 0.0 <= float(data.x.min()) and float(data.x.max()) <= 1.0
    assert 0.10 < float(data.x.mean()) < 0.16  # MNIST's mean ink is about 0.13


def test_digits_is_sklearns():
    data = load_dataset({"name": "digits"})
    assert len(data) == 1797 and float(data.x.max()) == 16.0


@pytest.mark.parametrize("name", ["shapes", "sequences", "retrieval", "waves"])
def test_generators_are_seeded(name):
    kind = BUILTINS[name].targets
    a = load_dataset({"name": name, "n": 50, "seed": 1}, task=kind)
    b = load_dataset({"name": name, "n": 50, "seed": 1}, task=kind)
    c = load_dataset({"name": name, "n": 50, "seed": 2}, task=kind)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
    assert len(a) == 50


def test_sequences_need_order_not_counts():
    x, y = make_sequences(500)
    assert ((x == 0).sum(1) == 1).all() and ((x == 1).sum(1) == 1).all()
    first_a = (x == 0).float().argmax(1) < (x == 1).float().argmax(1)
    assert torch.equal(first_a.long(), y)


def test_retrieval_label_is_the_value_of_the_queried_key():
    x, y = make_retrieval(300)
    pairs, query = x[:, :-1], x[:, -1] - 16 * 8
    keys, values = pairs // 8, pairs % 8
    for i in range(300):
        (where,) = (keys[i] == query[i]).nonzero(as_tuple=True)
        assert len(where) == 1 and values[i, where[0]] == y[i]


@pytest.mark.parametrize("spec,needle", [
    ({"name": "cifar10"}, "no built-in dataset 'cifar10'"),
    ({"name": "shapes", "n": -5}, "n must be a whole number"),
    ({"name": "mnist5k", "n": 100}, "only applies to generated"),
    ({}, "no dataset chosen"),
    (None, "no dataset chosen"),
])
def test_bad_builtin_specs(spec, needle):
    with pytest.raises(DataError, match=needle):
        load_dataset(spec)


def test_a_builtin_asked_for_other_targets_names_the_task_it_is_for():
    with pytest.raises(DataError, match="holds classification targets: it is for the "
                                        "classify task"):
        load_dataset({"name": "digits"}, task="regression")
    with pytest.raises(DataError, match="it is for the segment task"):
        load_dataset({"name": "shape_masks"}, task="classification")


def test_shape_scenes_masks_and_tags_agree():
    from torchloom.engine.data.generators import make_shape_scenes

    x, masks, tags = make_shape_scenes(200, seed=3)
    assert x.shape == (200, 3, 32, 32) and masks.shape == (200, 32, 32)
    for kind in range(3):  # a scene is tagged with a kind exactly when its mask shows it
        assert torch.equal(tags[:, kind].bool(), (masks == kind + 1).flatten(1).any(1))
    assert (tags.sum(1) >= 1).all()
