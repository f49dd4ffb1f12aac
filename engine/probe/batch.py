"""The probe batch: a few validation samples per class, fixed for the whole run.

Fixed and seeded so that live probes during training show the *same* samples changing, and
stored in the run folder (``probe.npz``) so the inspect panel and `torchloom probe` show
them later without loading the dataset again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any
from pathlib import Path

import numpy as np
import torch

from ..data.dataset import Dataset
from ..data.inputs import Inputs
from ..errors import ProbeError
from ..fileio import atomic_write_bytes
from ..safe_read import check_regular


@dataclass
class ProbeBatch:
    """Raw samples (not normalised) with their targets.

    `index` holds each sample's position in the validation split; it is -1 for samples a
    person brought (``--input``). For a model with several Inputs, `x` is an `Inputs`,
    saved as ``input_0``, ``input_1``... with their node ids in ``inputs``.
    """

    x: Any
    y: torch.Tensor
    index: torch.Tensor
    classes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x) if isinstance(self.x, Inputs) else int(self.x.shape[0])

    def head(self, k: int) -> "ProbeBatch":
        return ProbeBatch(self.x[:k], self.y[:k], self.index[:k], list(self.classes))

    def label(self, i: int) -> str:
        """How the sample is named in lists: ``#3 (square)``."""
        y = self.y[i]
        if self.classes and y.dim() == 0 and 0 <= int(y) < len(self.classes):
            return f"#{i} ({self.classes[int(y)]})"
        return f"#{i}"

    def save(self, path: Path) -> None:
        buffer = io.BytesIO()
        if isinstance(self.x, Inputs):
            samples = {f"input_{i}": t.numpy() for i, t in enumerate(self.x.values())}
            samples["inputs"] = np.array(self.x.keys(), dtype=np.str_)
        else:
            samples = {"x": self.x.numpy()}
        np.savez(buffer, **samples, y=self.y.numpy(), index=self.index.numpy(),
                 classes=np.array(self.classes, dtype=np.str_))
        atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> "ProbeBatch":
        try:
            check_regular(path)
            with np.load(path, allow_pickle=False) as data:
                if "inputs" in data:
                    x: Any = Inputs({str(key): torch.from_numpy(data[f"input_{i}"])
                                     for i, key in enumerate(data["inputs"])})
                else:
                    x = torch.from_numpy(data["x"])
                y, index = data["y"], data["index"]
                classes = [str(c) for c in data["classes"]] if "classes" in data else []
        except FileNotFoundError:
            raise ProbeError("no probe batch in this run folder", path=str(path)) from None
        except Exception as exc:  # noqa: BLE001 - numpy raises many types for a bad file
            raise ProbeError(f"the probe batch cannot be read ({exc})", path=str(path)) from None
        return cls(x, torch.from_numpy(y), torch.from_numpy(index), classes)


def choose_probe_batch(val: Dataset, per_class: int = 2, seed: int = 0,
                       max_samples: int = 32) -> ProbeBatch:
    """`per_class` samples of each class (in class order), or `per_class * 4` samples for
    regression, drawn with `seed`. At most `max_samples`: probing costs one forward pass on
    this batch, so its size bounds the cost of every live probe."""
    n = len(val)
    generator = torch.Generator().manual_seed(seed + 7919)
    order = torch.randperm(n, generator=generator)
    if val.is_classification:
        picked: list[int] = []
        y = val.y[order]
        for c in range(val.num_classes):
            picked += order[y == c][:per_class].tolist()
        index = torch.tensor(picked[:max_samples], dtype=torch.int64)
    else:
        index = order[: min(per_class * 4, max_samples)]
    return ProbeBatch(val.read(index).clone(), val.y[index].clone(), index, list(val.classes))
