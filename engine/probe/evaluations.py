"""What the Evaluate tab shows for the tasks other than classification, computed here once
in plain torch so the panel, the command line and the tests agree (the tests check them
against scikit-learn): a regression's predictions against the truth, a multi-label model's
metrics per label at a threshold, a segmentation's IoU per class and its masks, an
autoencoder's reconstructions.

Each task's `evaluate` builds its own from the model's outputs on the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..errors import ProbeError
from ..data.inputs import shown_samples
from ..train.inputs import call
from .predictions import ClassMetrics, class_metrics, confusion_matrix

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .loaded import TrainedModel


def model_outputs(trained: "TrainedModel", data: "Dataset", batch_size: int = 256
                  ) -> torch.Tensor:
    """The model's outputs on every sample of `data` (eval mode, no gradients), on the CPU,
    read and normalised a batch at a time."""
    n = len(data)
    if n == 0:
        raise ProbeError("the split has no samples to evaluate")
    model = trained.model
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch_size):
                index = torch.arange(start, min(start + batch_size, n))
                out = call(model, trained.prepare(data.read(index)))
                chunks.append((out[0] if isinstance(out, tuple) else out).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(chunks)


@dataclass
class RegressionEval:
    """Predictions [n, K] beside the true targets [n, K], one column per target."""

    pred: torch.Tensor
    target: torch.Tensor
    names: list[str]

    @property
    def residuals(self) -> torch.Tensor:
        return self.pred - self.target

    def mae(self) -> list[float]:
        """Mean absolute error per target."""
        return self.residuals.abs().double().mean(0).tolist()

    def r2(self) -> list[float]:
        """R² per target (1 - residual / total sum of squares; 0 for a constant target)."""
        y = self.target.double()
        total = ((y - y.mean(0)) ** 2).sum(0)
        residual = (self.residuals.double() ** 2).sum(0)
        return torch.where(total > 0, 1 - residual / total.clamp_min(1e-300),
                           torch.zeros_like(total)).tolist()


@dataclass
class LabelEval:
    """Per-label probabilities [n, K] beside the 0/1 truth [n, K]."""

    probs: torch.Tensor
    target: torch.Tensor
    names: list[str]

    def predicted(self, threshold: float = 0.5) -> torch.Tensor:
        return self.probs >= threshold

    def per_label(self, threshold: float = 0.5) -> list[ClassMetrics]:
        """Precision, recall and F1 of each label at `threshold` (as scikit-learn's
        ``average=None, zero_division=0``)."""
        pred, truth = self.predicted(threshold), self.target > 0.5
        out = []
        for k, name in enumerate(self.names):
            cm = confusion_matrix(truth[:, k].long(), pred[:, k].long(), 2)
            out.append(class_metrics(cm, ["no", name])[1])
        return out

    def micro_f1(self, threshold: float = 0.5) -> float:
        pred, truth = self.predicted(threshold), self.target > 0.5
        tp = int((pred & truth).sum())
        wrong = int((pred ^ truth).sum())
        return 2 * tp / (2 * tp + wrong) if tp + wrong else 1.0

    def exact(self, threshold: float = 0.5) -> float:
        """The share of samples with every label right."""
        return float((self.predicted(threshold) == (self.target > 0.5)).all(1).double().mean())


@dataclass
class MaskEval:
    """Predicted masks [n, H, W] beside the true ones, with the inputs [n, C, H, W]."""

    x: torch.Tensor
    pred: torch.Tensor
    target: torch.Tensor
    classes: list[str]

    def confusion(self) -> torch.Tensor:
        return confusion_matrix(self.target, self.pred, len(self.classes))

    def iou(self) -> list[float | None]:
        """IoU per class; None for a class neither the masks nor the model show."""
        cm = self.confusion().double()
        hits = cm.diagonal()
        union = cm.sum(0) + cm.sum(1) - hits
        return [float(h / u) if u > 0 else None for h, u in zip(hits, union)]

    def miou(self) -> float:
        shown = [v for v in self.iou() if v is not None]
        return sum(shown) / len(shown) if shown else 0.0

    def pixel_acc(self) -> float:
        return float((self.pred == self.target).double().mean())

    def sample_iou(self) -> torch.Tensor:
        """Each sample's mean IoU over the classes it shows or is predicted to show."""
        k = len(self.classes)
        out = []
        for p, t in zip(self.pred, self.target):
            cm = torch.bincount((t * k + p).flatten(), minlength=k * k).reshape(k, k).double()
            hits = cm.diagonal()
            union = cm.sum(0) + cm.sum(1) - hits
            out.append(float((hits[union > 0] / union[union > 0]).mean()))
        return torch.tensor(out)


@dataclass
class ReconstructionEval:
    """The inputs beside what the model made of them (in the data's units)."""

    x: torch.Tensor
    recon: torch.Tensor

    def errors(self) -> torch.Tensor:
        """Each sample's mean squared error."""
        return ((self.recon - self.x.float()) ** 2).flatten(1).mean(1)

    def worst_first(self) -> torch.Tensor:
        return torch.argsort(self.errors(), descending=True)


def regression(trained: "TrainedModel", data: "Dataset") -> RegressionEval:
    target = data.y.float().reshape(len(data), -1)
    pred = model_outputs(trained, data).reshape(target.shape)
    names = list(data.info.get("targets") or [f"target {k}" for k in range(target.shape[1])])
    return RegressionEval(pred, target, names)


def labels(trained: "TrainedModel", data: "Dataset") -> LabelEval:
    return LabelEval(model_outputs(trained, data).sigmoid(), data.y.float(), list(data.classes))


def masks(trained: "TrainedModel", data: "Dataset", limit: int = 512) -> MaskEval:
    data = data if len(data) <= limit else data.subset(torch.arange(limit))
    out = model_outputs(trained, data)
    return MaskEval(shown_samples(data.read(torch.arange(len(data)))), out.argmax(1), data.y,
                    [data.classes[k] if k < len(data.classes) else str(k)
                     for k in range(out.shape[1])])


def reconstructions(trained: "TrainedModel", data: "Dataset", loss: str,
                    limit: int = 512) -> ReconstructionEval:
    data = data if len(data) <= limit else data.subset(torch.arange(limit))
    out = model_outputs(trained, data)
    return ReconstructionEval(data.read(torch.arange(len(data))),
                              out.sigmoid() if loss == "bce" else out)


__all__ = ["LabelEval", "MaskEval", "ReconstructionEval", "RegressionEval", "labels", "masks",
           "model_outputs", "reconstructions", "regression"]
