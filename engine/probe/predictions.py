"""Predictions on a whole split: accuracy, the confusion matrix, per-class metrics and the
mistakes the model is most sure of.

The evaluate panel and `torchloom probe` read these; the numbers are computed here once, in
plain torch, so the panel, the command line and the tests agree to the last digit (the
tests check them against scikit-learn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..errors import ProbeError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .loaded import TrainedModel


@dataclass
class ClassMetrics:
    """Precision, recall and F1 of one class; 0.0 where a ratio has nothing to divide by
    (a class never predicted has no precision), as scikit-learn's ``zero_division=0``."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


def confusion_matrix(target: torch.Tensor, pred: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[K, K] int64 counts: row = true class, column = predicted class.

    Raises:
        ProbeError: a class index outside 0..num_classes-1, or lengths that differ.
    """
    target = target.reshape(-1).long().cpu()
    pred = pred.reshape(-1).long().cpu()
    if target.shape != pred.shape:
        raise ProbeError(f"{len(target)} targets but {len(pred)} predictions")
    for what, values in (("target", target), ("prediction", pred)):
        if len(values) and (int(values.min()) < 0 or int(values.max()) >= num_classes):
            raise ProbeError(f"a {what} class index is outside 0..{num_classes - 1}")
    flat = torch.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def class_metrics(cm: torch.Tensor, classes: list[str]) -> list[ClassMetrics]:
    """One `ClassMetrics` per class from a confusion matrix (rows true, columns predicted).

    F1 is ``2 tp / (2 tp + fp + fn)``, which equals the harmonic mean of precision and recall
    where both are defined and gives scikit-learn's value where one is not.
    """
    cm = cm.long()
    tp = cm.diagonal()
    predicted = cm.sum(dim=0)  # column sums: how often each class was predicted
    support = cm.sum(dim=1)  # row sums: how often each class is the truth
    out = []
    for k in range(cm.shape[0]):
        t, p, s = int(tp[k]), int(predicted[k]), int(support[k])
        name = classes[k] if k < len(classes) else str(k)
        denominator = p + s  # 2 tp + fp + fn
        out.append(ClassMetrics(name, t / p if p else 0.0, t / s if s else 0.0,
                                2 * t / denominator if denominator else 0.0, s))
    return out


@dataclass
class Predictions:
    """Softmax probabilities [n, K] with the targets [n] and the class names."""

    probs: torch.Tensor
    target: torch.Tensor
    classes: list[str]

    @classmethod
    def from_logits(cls, logits: torch.Tensor, target: torch.Tensor,
                    classes: list[str]) -> "Predictions":
        """From raw model outputs [n, K] (the softmax is taken here, in float32)."""
        return cls(torch.softmax(logits.detach().float().cpu(), dim=-1),
                   target.detach().long().cpu(), list(classes))

    def __len__(self) -> int:
        return int(self.target.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.probs.shape[1])

    @property
    def pred(self) -> torch.Tensor:
        return self.probs.argmax(dim=1)

    @property
    def confidence(self) -> torch.Tensor:
        return self.probs.max(dim=1).values

    @property
    def accuracy(self) -> float:
        """Fraction right; 0.0 for no samples."""
        if len(self) == 0:
            return 0.0
        return float((self.pred == self.target).double().mean())

    def confusion(self) -> torch.Tensor:
        return confusion_matrix(self.target, self.pred, self.num_classes)

    def metrics(self) -> list[ClassMetrics]:
        return class_metrics(self.confusion(), self.classes)

    def _most_confident(self, mask: torch.Tensor) -> torch.Tensor:
        index = torch.nonzero(mask).flatten()
        # stable, so equally confident samples keep their order in the split
        order = torch.sort(self.confidence[index], descending=True, stable=True).indices
        return index[order]

    def cell(self, true: int, pred: int) -> torch.Tensor:
        """Indices of the samples of class `true` predicted as `pred`, most confident first:
        what a click on a confusion-matrix cell shows."""
        return self._most_confident((self.target == true) & (self.pred == pred))

    def mistakes(self, k: int | None = 20) -> torch.Tensor:
        """Indices of wrong predictions, most confident first (the ones that most deserve a
        look: a confident mistake is often a mislabelled sample); all of them for k=None."""
        wrong = self._most_confident(self.pred != self.target)
        return wrong if k is None else wrong[:k]


def predict(trained: "TrainedModel", data: "Dataset", batch_size: int = 512) -> Predictions:
    """Run the trained model over every sample of `data` (eval mode, no gradients).

    Samples are read and normalised a batch at a time, so a split streamed from disk never
    has to fit in memory at once.

    Raises:
        ProbeError: regression data (no classes), an empty split, or outputs that do not
            have one score per class.
    """
    if not data.classes:
        raise ProbeError("predictions need class labels; this dataset is a regression")
    from .evaluations import model_outputs

    out = model_outputs(trained, data, batch_size)
    if out.dim() != 2 or out.shape[1] != len(data.classes):
        shown = "[" + ", ".join(["N", *map(str, out.shape[1:])]) + "]"
        raise ProbeError(f"the model's output is {shown}, not one score per class "
                         f"([N, {len(data.classes)}])")
    return Predictions.from_logits(out, data.y, data.classes)
