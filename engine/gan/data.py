"""The GAN's data: samples scaled to [-1, 1] for the generator's Tanh, and back.

The generator ends in Tanh, so it makes values in [-1, 1]; the real samples the
discriminator compares them with are scaled to the same range:

    x_model = 2 * (x - low) / (high - low) - 1        x = (x_model + 1) / 2 * (high - low) + low

`low`/`high` are the dataset's declared value range when it has one (built-in image datasets
carry ``pixel_range``: [0, 1] for mnist5k, [0, 16] for digits, so mnist5k pixels map 0 -> -1
and 1 -> 1), else the smallest and largest value of the training data (one range for every
feature). The range is saved in the run's state, so `torchloom sample` maps generated
samples back into the dataset's own units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ..data.dataset import Dataset
from ..data.fit import input_mismatch
from ..errors import DataError


@dataclass(frozen=True)
class DataRange:
    """The dataset's value range, mapped to the model's [-1, 1]."""

    low: float
    high: float
    source: str = "declared"  # "declared" (the dataset's pixel_range) or "measured"

    def to_model(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.low) * (2.0 / (self.high - self.low)) - 1.0

    def to_data(self, x: torch.Tensor) -> torch.Tensor:
        return (x + 1.0) * ((self.high - self.low) / 2.0) + self.low

    def to_json(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "source": self.source}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DataRange":
        return cls(float(data["low"]), float(data["high"]), str(data.get("source", "declared")))


def data_range(data: Dataset, max_samples: int = 20_000) -> DataRange:
    """The declared ``pixel_range``, else the measured min/max (see the module doc)."""
    declared = data.info.get("pixel_range")
    if (isinstance(declared, (list, tuple)) and len(declared) == 2
            and all(isinstance(v, (int, float)) for v in declared) and declared[1] > declared[0]):
        return DataRange(float(declared[0]), float(declared[1]), "declared")
    x = data.read(torch.arange(min(len(data), max_samples))).float()
    low, high = float(x.min()), float(x.max())
    if not high > low:
        raise DataError(f"every value of the data is {low}: a GAN has nothing to learn from "
                        "constant samples")
    return DataRange(low, high, "measured")


def fit_samples(data: Dataset, shape: tuple[int, ...]) -> tuple[Dataset, list[str]]:
    """The data as the discriminator's Input takes it: float samples of `shape` (a missing
    channel dimension is added). Token ids and other shapes are a `DataError`."""
    have = tuple(data.input_shape)
    if data.dtype == "int64" and not data.info.get("pixel_range"):
        raise DataError(f"the data {data.name} holds token ids; the GAN recipe generates float "
                        "samples (images or feature vectors)")
    if input_mismatch(data, shape, "float32") == "shape":
        show = lambda s: "[" + ", ".join(map(str, ("N", *s))) + "]"  # noqa: E731
        raise DataError(f"the data has samples of shape {show(have)} ({data.name}) but the "
                        f"discriminator's Input takes {show(shape)}: set its shape (and the "
                        f"generator's output) to {show(have)}")
    notes = []
    if data.x is not None and (have != shape or data.dtype != "float32"):
        x = data.x.float()
        if have != shape:
            x = x.unsqueeze(1)
            notes.append(f"added a channel dimension: samples {list(have)} -> {list(shape)}")
        data = Dataset(x, data.y, data.name, data.classes, data.info)
    return data, notes
