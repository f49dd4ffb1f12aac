"""Splits and normalisation: seeded, and statistics from the training part only."""

from __future__ import annotations

import torch

from torchloom.engine.data.dataset import Dataset, split_dataset


def toy(n=100, shape=(3, 4, 4)):
    x = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, *shape).clone()
    return Dataset(x, torch.arange(n) % 2, "toy", ["a", "b"])


def test_split_sizes_and_seed():
    data = toy()
    a, b = split_dataset(data, 0.2, 0), split_dataset(data, 0.2, 0)
    assert (len(a.train), len(a.val)) == (80, 20)
    assert torch.equal(a.val.y, b.val.y) and torch.equal(a.train.x, b.train.x)
    c = split_dataset(data, 0.2, 1)
    assert not torch.equal(a.val.x, c.val.x)
    whole = torch.cat([a.train.x[:, 0, 0, 0], a.val.x[:, 0, 0, 0]]).sort().values
    assert torch.equal(whole, torch.arange(100, dtype=torch.float32))


def test_normalisation_comes_from_the_training_split_only():
    split = split_dataset(toy(), 0.2, 0)
    train_values = split.train.x[:, 0, 0, 0]
    assert split.normalization.mean.shape == (3, 1, 1)
    assert torch.allclose(split.normalization.mean.flatten(), train_values.mean().expand(3))
    assert torch.allclose(split.normalization.std.flatten(),
                          train_values.std(unbiased=False).expand(3))
    normed = split.normalization.apply(split.train.x)
    assert abs(float(normed.mean())) < 1e-5


def test_token_data_is_not_normalised():
    data = Dataset(torch.randint(0, 9, (20, 5)), torch.arange(20) % 2, "t", ["a", "b"])
    assert split_dataset(data, 0.25, 0).normalization is None


def test_zero_val_split_keeps_everything_for_training():
    split = split_dataset(toy(10), 0.0, 0)
    assert (len(split.train), len(split.val)) == (10, 0)
