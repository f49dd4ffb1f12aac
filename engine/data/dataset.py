"""The in-memory dataset every loader returns, its train/validation split and normalisation.

Everything is plain tensors on the CPU; the run loop moves them to the device once. Image
folders too big for memory carry a `reader` instead of `x` and are streamed through a
DataLoader. A model with several Input nodes reads an `inputs.Inputs` (one tensor per Input
node id) in place of the one tensor ``x``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import torch

#: Reads samples by index, for data that is not held in memory (large image folders).
Reader = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Dataset:
    """Samples `x` [n, *shape] and their targets `y` [n, ...], as the task asked for them:

    - classification: int64 class indices [n], 0..K-1 (`classes` names them);
    - regression: float32 numbers [n] or [n, K] (`classes` is empty);
    - multi-label: float32 0/1 [n, K] (`classes` names the labels);
    - segmentation: int64 class indices per pixel [n, H, W] (`classes` names them);
    - none (an autoencoder, a GAN): [n, 0], nothing.

    For a model with several Inputs, `x` is an `inputs.Inputs` (see `inputs`).
    """

    x: torch.Tensor | None
    y: torch.Tensor
    name: str
    classes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    reader: Reader | None = None
    sample_shape: tuple[int, ...] | None = None
    sample_dtype: str | None = None
    #: Text data: the tokenizer fitted on the training split (`engine.text.Tokenizer`), which
    #: the run folder saves as ``tokenizer.json``; None for everything else.
    tokenizer: Any = None
    #: Text data: each sample's text as it was read (the preview shows it); None otherwise.
    texts: list[str] | None = None
    #: Data split by position (a text corpus): the first `split_at` samples are the training
    #: split, the rest validation, whatever the seed; None: a seeded random split.
    split_at: int | None = None
    #: Targets under names (a built-in's ``shape`` and ``size``), for the heads of a model
    #: with several outputs to pick from (`engine.heads`); None for most data.
    named: dict[str, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        if self.x is not None and not self.several:
            self.sample_shape = tuple(self.x.shape[1:])
            self.sample_dtype = str(self.x.dtype).removeprefix("torch.")

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def several(self) -> bool:
        """Whether the samples feed several Input nodes (`x` is an `inputs.Inputs`)."""
        from .inputs import Inputs

        return isinstance(self.x, Inputs)

    @property
    def inputs(self) -> dict[str, torch.Tensor] | None:
        """Input node id -> samples, for a model with several Inputs; None for one."""
        return dict(self.x.tensors) if self.several else None  # type: ignore[union-attr]

    @property
    def input_shape(self) -> tuple[int, ...]:
        if self.several:
            raise TypeError(f"{self.name} feeds several Inputs: ask for input_shapes")
        assert self.sample_shape is not None
        return self.sample_shape

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        """One sample's shape per Input node id (several Inputs only)."""
        return self.x.shapes  # type: ignore[union-attr]

    @property
    def dtype(self) -> str:
        assert self.sample_dtype is not None
        return self.sample_dtype

    @property
    def is_classification(self) -> bool:
        """One class per sample (not tags, masks or numbers)."""
        return bool(self.classes) and self.y.dim() == 1 and not self.y.is_floating_point()

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_memory(self) -> bool:
        return self.x is not None

    @property
    def target_shape(self) -> tuple[int, ...]:
        """One sample's target beyond a class index: [K] tags or numbers, [H, W] a mask."""
        return tuple(self.y.shape[1:])

    def class_counts(self) -> list[int]:
        """Samples per class; for tags, samples per label; for masks, pixels per class."""
        if not self.classes or not len(self):
            return []
        if self.y.is_floating_point():  # tags: how many samples carry each label
            return [int(v) for v in self.y.reshape(len(self), -1).sum(0).tolist()]
        return torch.bincount(self.y.flatten(), minlength=self.num_classes).tolist()

    def subset(self, index: torch.Tensor) -> "Dataset":
        x = self.x[index] if self.x is not None else None
        reader = None
        if self.reader is not None:
            parent, mapping = self.reader, index.clone()
            reader = lambda i: parent(mapping[i])  # noqa: E731 - a closure is the point
        texts = [self.texts[i] for i in index.tolist()] if self.texts is not None else None
        return Dataset(x, self.y[index], self.name, list(self.classes), dict(self.info), reader,
                       self.sample_shape, self.sample_dtype, self.tokenizer, texts)

    def with_x(self, x: torch.Tensor) -> "Dataset":
        """The same data with other samples (converted for the Input), keeping the rest."""
        return replace(self, x=x, sample_shape=None, sample_dtype=None)

    def read(self, index: torch.Tensor) -> torch.Tensor:
        """Samples by index, from memory or from disk."""
        if self.x is not None:
            return self.x[index]
        assert self.reader is not None
        return self.reader(index)

    def describe(self) -> dict[str, Any]:
        """What the data panel and `torchloom train` report about the data."""
        if self.several:  # run.json's data.input_shape: a dict only for several Inputs
            shape: Any = {k: list(v) for k, v in self.input_shapes.items()}
            dtype: Any = self.x.dtypes  # type: ignore[union-attr]
        else:
            shape, dtype = list(self.input_shape), self.dtype
        out: dict[str, Any] = {"name": self.name, "samples": len(self),
                               "input_shape": shape, "dtype": dtype,
                               "classes": list(self.classes), "class_counts": self.class_counts()}
        out.update({k: v for k, v in self.info.items() if k not in out})
        return out


@dataclass
class Normalization:
    """Per-channel (images) or per-feature statistics of the training split.

    Applied as (x - mean) / std. Computed on the training split only, so validation
    accuracy is not flattered by statistics it helped make.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean.to(x.device)) / self.std.to(x.device)

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.flatten().tolist(), "std": self.std.flatten().tolist(),
                "shape": list(self.mean.shape)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Normalization":
        shape = data["shape"]
        return cls(torch.tensor(data["mean"]).reshape(shape),
                   torch.tensor(data["std"]).reshape(shape))


def normalization_for(train: Dataset, max_samples: int = 20_000) -> Any:
    """Statistics of float inputs; None for token ids. Images [C, H, W] get one value per
    channel, everything else one per feature (last dimension). Several Inputs get an
    `inputs.InputsNormalization`, each Input's statistics computed the same way."""
    if train.several:
        from .inputs import InputsNormalization

        count = min(len(train), max_samples)
        x = train.read(torch.arange(count))
        return InputsNormalization({k: _statistics(t) for k, t in x.items()})
    if train.dtype != "float32" or len(train) == 0:
        return None
    count = min(len(train), max_samples)
    return _statistics(train.read(torch.arange(count)))


def _statistics(samples: torch.Tensor) -> Normalization | None:
    if samples.dtype != torch.float32 or len(samples) == 0:
        return None
    x = samples.double()
    shape = tuple(samples.shape[1:])
    if len(shape) == 3:
        dims, keep = (0, 2, 3), (shape[0], 1, 1)
    else:
        dims, keep = tuple(range(x.dim() - 1)), (1,) * (len(shape) - 1) + (shape[-1],)
    mean = x.mean(dim=dims).reshape(keep)
    std = x.std(dim=dims, unbiased=False).reshape(keep)
    std = torch.where(std < 1e-8, torch.ones_like(std), std)
    return Normalization(mean.float(), std.float())


@dataclass
class Split:
    """The training and validation parts of a dataset, and how inputs are normalised."""

    train: Dataset
    val: Dataset
    #: one per Input (an `inputs.InputsNormalization`) for several Inputs
    normalization: Any
    full: Dataset

    def describe(self) -> dict[str, Any]:
        out = self.full.describe()
        out.update({"train_samples": len(self.train), "val_samples": len(self.val),
                    "normalization": self.normalization.to_json() if self.normalization else None})
        return out


def split_indices(n: int, val_split: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, validation) sample indices of a seeded random split, each sorted. Text
    loaders call it before `split_dataset` does, to fit their tokenizer on the training
    samples only: the same n, fraction and seed give the same split."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    n_val = 0 if val_split <= 0 else min(n - 1, max(1, math.floor(n * val_split + 0.5)))
    return order[n_val:].sort().values, order[:n_val].sort().values


def split_dataset(data: Dataset, val_split: float, seed: int) -> Split:
    """A seeded random split; `val_split` is the fraction held out for validation.

    At least one sample stays on each side when `val_split` > 0. Data that was split by
    position when it was read (`Dataset.split_at`, a text corpus) keeps that split.
    """
    n = len(data)
    if data.split_at is not None:
        train_idx, val_idx = torch.arange(data.split_at), torch.arange(data.split_at, n)
    else:
        train_idx, val_idx = split_indices(n, val_split, seed)
    train, val = data.subset(train_idx), data.subset(val_idx)
    return Split(train, val, normalization_for(train), data)
