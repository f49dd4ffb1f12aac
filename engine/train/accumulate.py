"""One optimisation step, and gradient accumulation (``"accumulate": N``).

With N > 1 the optimizer steps once every N batches of an epoch, on the sum of their
gradients with each batch's loss weighted by its share of the group's samples (1/N for
batches of one size), so batch size B with N equals one step on a batch of B × N, the same
samples in the same order, up to float rounding. An epoch's last group may hold fewer
batches; it steps at the epoch's end all the same. Schedules count optimizer steps
(`schedule_position`), so warm-up and cosine spans mean the same updates whatever N is.

A stop lands at a group boundary (`at_boundary`): gradients half accumulated are not part
of a checkpoint, so stopping there keeps resume exact. Under fp16 the scaled losses add up
in the gradients and GradScaler unscales, clips and steps once per group, as torch's AMP
recipe for accumulation does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch


@dataclass(frozen=True)
class Accumulation:
    """How an epoch's batches (of `sizes` samples each) group into optimizer steps."""

    every: int
    sizes: Sequence[int]

    def _group(self, i: int) -> range:
        start = i - i % self.every
        return range(start, min(start + self.every, len(self.sizes)))

    def at_boundary(self, i: int) -> bool:
        """Whether batch `i` of the epoch starts a group (no gradients held from before)."""
        return i % self.every == 0

    def steps_here(self, i: int) -> bool:
        """Whether the optimizer steps after batch `i`: the last of its group."""
        return (i + 1) % self.every == 0 or i == len(self.sizes) - 1

    def weight(self, i: int) -> float:
        """Batch `i`'s share of its group's samples: what its (mean) loss is scaled by."""
        group = self._group(i)
        return self.sizes[i] / sum(self.sizes[j] for j in group)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.sizes) / self.every)

    def schedule_position(self, step: int, total_steps: int, epoch: int, i: int
                          ) -> tuple[int, int]:
        """(optimizer step, optimizer steps in the run) for batch `i` of epoch `epoch`, as
        the schedules take them; the loop's own batch counters when every batch steps."""
        if self.every == 1:
            return step, total_steps
        epochs = total_steps // max(len(self.sizes), 1)
        return epoch * self.steps_per_epoch + i // self.every, epochs * self.steps_per_epoch


def update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, *, scaler: Any,
           clip: float, accumulation: Accumulation, i: int) -> None:
    """Backward for batch `i`'s `loss`, and the step when its group is complete."""
    if accumulation.at_boundary(i):
        optimizer.zero_grad(set_to_none=True)
    if accumulation.every > 1:
        loss = loss * accumulation.weight(i)
    if scaler is not None:
        scaler.scale(loss).backward()
    else:
        loss.backward()
    if not accumulation.steps_here(i):
        return
    if clip > 0:
        if scaler is not None:
            scaler.unscale_(optimizer)  # clip the true gradients, not scaled ones
        params = [p for group in optimizer.param_groups for p in group["params"]
                  if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, clip)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
