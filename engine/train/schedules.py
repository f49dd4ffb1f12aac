"""Learning-rate schedules, each a pure function of where the run is.

The rate at a step follows from the settings, the step, the epoch and the epochs already
validated, never from a scheduler object's own state: a resumed run gets exactly the rates
an uninterrupted one would, and the checkpoint needs nothing more than it has.

- ``constant``: `lr` throughout.
- ``cosine``: from `lr` down to zero over the run.
- ``step``: `lr` times `gamma` every `step_size` epochs.
- ``warmup_cosine``: up from `lr / warmup_steps` to `lr` over `warmup_steps` steps, then
  cosine to zero over the rest.
- ``onecycle``: as torch's OneCycleLR: from `max_lr / 25` up to `max_lr` over the first 30 %
  of the steps, then down to `max_lr / 250000`, both halves cosine.
- ``plateau``: `lr` times `gamma` each time the validation loss has not improved for
  `plateau_patience` epochs (as torch's ReduceLROnPlateau, relative threshold 1e-4).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

#: The settings each schedule reads besides `lr` (the settings panel shows only these).
SCHEDULE_SETTINGS: dict[str, tuple[str, ...]] = {
    "step": ("step_size", "gamma"),
    "warmup_cosine": ("warmup_steps",),
    "onecycle": ("max_lr",),
    "plateau": ("gamma", "plateau_patience"),
}

#: OneCycleLR's defaults in torch: the share of steps spent rising, and the divisors.
ONECYCLE_RISE, ONECYCLE_START_DIV, ONECYCLE_FINAL_DIV = 0.3, 25.0, 1e4
PLATEAU_THRESHOLD = 1e-4


def _cos(start: float, end: float, fraction: float) -> float:
    return end + (start - end) * 0.5 * (1 + math.cos(math.pi * min(max(fraction, 0.0), 1.0)))


def learning_rate(config: Any, step: int, total_steps: int, epoch: int,
                  val_losses: Sequence[float | None] = ()) -> float:
    """The rate for optimisation step `step` (0-based) of `total_steps`, in epoch `epoch`
    (0-based), after the epochs whose validation losses are `val_losses`."""
    kind, lr = config.schedule, config.lr
    if kind == "cosine" and total_steps:
        return _cos(lr, 0.0, step / total_steps)
    if kind == "step":
        return lr * config.gamma ** (epoch // config.step_size)
    if kind == "warmup_cosine" and total_steps:
        warm = min(config.warmup_steps, total_steps)
        if step < warm:
            return lr * (step + 1) / warm
        return _cos(lr, 0.0, (step - warm) / max(total_steps - warm, 1))
    if kind == "onecycle" and total_steps:
        top = config.max_lr
        start, end = top / ONECYCLE_START_DIV, top / ONECYCLE_START_DIV / ONECYCLE_FINAL_DIV
        rise = ONECYCLE_RISE * total_steps - 1  # torch's own arithmetic, in floats
        if step <= rise:
            return _cos(start, top, step / rise if rise > 0 else 1.0)
        return _cos(top, end, (step - rise) / max(total_steps - 1 - rise, 1))
    if kind == "plateau":
        return lr * config.gamma ** plateau_reductions(val_losses, config.plateau_patience)
    return lr


def plateau_reductions(val_losses: Sequence[float | None], patience: int) -> int:
    """How many times the rate has been reduced after these epochs: once each time
    `patience` epochs in a row did not beat the best loss by the relative threshold, the
    count of bad epochs then starting again (torch's ReduceLROnPlateau in "min" mode)."""
    best, bad, cuts = math.inf, 0, 0
    for loss in val_losses:
        if loss is None or not math.isfinite(loss):
            continue
        if loss < best * (1 - PLATEAU_THRESHOLD):
            best, bad = loss, 0
        else:
            bad += 1
        if bad > patience:
            cuts, bad = cuts + 1, 0
    return cuts
