"""Where a language model is surprised: the loss of every token of a validation passage.

A low loss is a token the model saw coming; a high one, a token it did not. The Evaluate
view colours the passage by it, so a person reads where the model has learned the text
(inside words) and where it has not (the first letter of a name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from ..errors import ProbeError

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from .loaded import TrainedModel


@dataclass
class TokenLossEval:
    """`tokens[i]` (as text) and the loss in nats with which the model predicted it from
    the tokens before it; `trained` stays for the Generate controls beside the passage."""

    tokens: list[str]
    losses: list[float]
    trained: Any = field(default=None, repr=False)

    @property
    def mean(self) -> float:
        return sum(self.losses) / len(self.losses) if self.losses else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(min(self.mean, 700.0))


def token_losses(trained: "TrainedModel", data: "Dataset", windows: int = 3) -> TokenLossEval:
    """The per-token loss over the first `windows` validation windows, in text order."""
    if len(data) == 0:
        raise ProbeError("the split has no text to evaluate")
    if trained.tokenizer is None:
        raise ProbeError("the run has no tokenizer.json to read the text back with")
    x = data.x[:windows]
    y = data.y[:windows]
    model = trained.model
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x.to(trained.device)).float().cpu()
    finally:
        model.train(was_training)
    loss = F.cross_entropy(out.flatten(0, 1), y.flatten(), reduction="none")
    return TokenLossEval(trained.tokenizer.tokens(y.flatten()), loss.tolist(), trained)
