"""The learning-rate finder: a short sweep that says which rate to train with.

Leslie Smith's range test, as fastai runs it: from `start` to `end` the rate grows
exponentially, one optimisation step per batch, on a model built afresh from the project
(as training builds it, from its initial weights if it has some) and thrown away after; the
project and its runs are never touched and nothing is written. The loss is smoothed by an
exponential moving average with bias correction (`SMOOTHING`); the sweep stops early once
the smoothed loss passes `DIVERGED` times the lowest so far, or is no longer finite.

The suggestion is the rate at the steepest descent of the smoothed curve (the most negative
slope of loss against log10 of the rate) between the sweep's start and the curve's lowest
point; when that stretch has fewer than 3 points, it is the lowest point's rate divided by 10.
`LrFindResult.rule` says which rule gave it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from ..errors import TrainingError
from .batches import epoch_permutation
from .finetune import scaled_rate

#: Weight of the running average per step: 0.9 smooths over about ten batches, enough for
#: a 100-step sweep to show a curve without lagging behind a divergence by much.
SMOOTHING = 0.9
#: The sweep has diverged once the smoothed loss is this many times its lowest.
DIVERGED = 4.0
#: Steps at the start not yet trusted to be the lowest point (the average is settling).
SETTLE = 3


@dataclass
class LrFindResult:
    """The sweep: the rates tried, the smoothed loss after each, and the suggestion."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    suggested_lr: float | None = None
    #: "steepest" or "min/10": which rule gave `suggested_lr` (see the module's words)
    rule: str = ""
    #: why the sweep ended before its last step: "diverged", "stopped" or None
    ended: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"lrs": self.lrs, "losses": self.losses, "suggested_lr": self.suggested_lr,
                "rule": self.rule, "ended": self.ended}


def sweep_rates(start: float, end: float, steps: int) -> list[float]:
    """`steps` rates from `start` to `end`, evenly spaced on a log scale."""
    if steps == 1:
        return [start]
    return [start * (end / start) ** (i / (steps - 1)) for i in range(steps)]


def check_range(start: float, end: float, steps: int) -> None:
    """Raise `TrainingError` naming the option that is wrong."""
    if not (math.isfinite(start) and start > 0):
        raise TrainingError(f"lr-find start must be a rate above 0, got {start}", kind="config")
    if not (math.isfinite(end) and end > start):
        raise TrainingError(f"lr-find end must be above start ({start}), got {end}",
                            kind="config")
    if not 2 <= steps <= 100_000:
        raise TrainingError(f"lr-find steps must be from 2 to 100000, got {steps}",
                            kind="config")


def suggest(lrs: list[float], losses: list[float]) -> tuple[float | None, str]:
    """(rate, rule) from a smoothed curve, by the rules the module names."""
    if not lrs:
        return None, ""
    low = min(range(len(losses)), key=losses.__getitem__)
    if low + 1 < 3:
        return lrs[low] / 10, "min/10"
    logs = [math.log10(lr) for lr in lrs[:low + 1]]
    slopes = [(losses[i + 1] - losses[i - 1]) / (logs[i + 1] - logs[i - 1])
              for i in range(1, low)]
    if not slopes:
        return lrs[low] / 10, "min/10"
    steepest = min(range(len(slopes)), key=slopes.__getitem__) + 1
    return lrs[steepest], "steepest"


def sweep_lr(loop: Any, *, start: float = 1e-7, end: float = 10.0, steps: int = 100,
             on_step: Callable[[int, int, float, float], None] | None = None,
             stop: threading.Event | None = None) -> LrFindResult:
    """Sweep the rate on `loop`'s model (a `RunLoop` prepared without a run folder, whose
    model is thrown away after: `tasks.prepare.find_lr` makes one) and suggest one.

    Args:
        on_step: called after each step with (step, steps, rate, smoothed loss), on the
            calling thread (the GUI's worker); keep it cheap.
        stop: set from any thread to end the sweep before its next step.

    Raises:
        TrainingError: a bad range, or a task with more than one optimizer (a GAN).
    """
    check_range(start, end, steps)
    assert loop.run_dir is None, "the finder never writes a run folder"
    loop._setup()  # the run loop's own: data and model on the device, the optimizer
    try:
        if list(loop.optimizers) != [""]:
            raise TrainingError(f"the learning-rate finder takes a model with one optimizer; "
                                f"a {loop.task.name} project trains {len(loop.optimizers)}",
                                kind="config")
        return _sweep(loop, sweep_rates(start, end, steps), on_step, stop)
    finally:
        loop._release()


def _sweep(loop: Any, rates: list[float], on_step: Any, stop: Any) -> LrFindResult:
    result = LrFindResult()
    optimizer = loop.optimizers[""]
    n, size = len(loop.split.train), loop.config.batch_size
    row = torch.zeros(len(loop.task.stats), device=loop.device, dtype=torch.float64)
    average, best = 0.0, math.inf
    order: list[torch.Tensor] = []
    for i, lr in enumerate(rates):
        if stop is not None and stop.is_set():
            result.ended = "stopped"
            break
        if not order:  # another pass over the training split, shuffled as training does
            perm = epoch_permutation(loop.config.seed, i, n).to(loop.device)
            order = [perm[s:s + size] for s in loop.starts]
        for group in optimizer.param_groups:  # block lr_scale groups keep their ratio
            group["lr"] = scaled_rate(group, lr)
        loop.step_in_epoch = 0
        loop.task.train_step(loop, order.pop(0), row)
        loss = float(row[0])
        if not math.isfinite(loss):
            result.ended = "diverged"
            break
        average = SMOOTHING * average + (1 - SMOOTHING) * loss
        smoothed = average / (1 - SMOOTHING ** (i + 1))
        result.lrs.append(lr)
        result.losses.append(smoothed)
        if on_step is not None:
            on_step(i + 1, len(rates), lr, smoothed)
        if i >= SETTLE and smoothed > DIVERGED * best:
            result.ended = "diverged"
            break
        best = min(best, smoothed)
    result.suggested_lr, result.rule = suggest(result.lrs, result.losses)
    return result
