"""What the run loop asks of a task: the `train_step` side of Keras's `fit`/`train_step`.

The tasks themselves (``engine/tasks/``) sit above the loop and implement this; the loop
only ever calls these hooks, so it never asks which kind of model it trains.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

    from .callbacks import BatchReport, EpochReport
    from .loop import RunLoop


@dataclass(frozen=True)
class Stat:
    """One number a training step records; the loop sums it over the epoch.

    Args:
        name: its key in the running values (``loss``, ``correct``, ``d_loss``...).
        kind: ``"loss"`` (a mean, checked to be finite at every report) or ``"count"`` (a
            whole number per batch, over the samples seen: an accuracy).
        per: for a loss, ``"sample"`` (each batch weighted by its size) or ``"step"``.
        label: how a failure names it ("the loss", "the discriminator loss").
    """

    name: str
    kind: str = "loss"
    per: str = "sample"
    label: str = "the loss"

    @property
    def carry_key(self) -> str:
        """Its running total's key in the trainer state (``loss_sum``, ``correct``)."""
        return f"{self.name}_sum" if self.kind == "loss" else self.name


class TaskHooks(Protocol):
    """The hooks of a task that the run loop calls (see `tasks.base.Task`)."""

    name: str
    stats: tuple[Stat, ...]
    validates: bool
    channels_last: bool
    metric_columns: tuple[str, ...]

    def uses(self, setting: str) -> bool: ...

    def make_optimizers(self, loop: "RunLoop") -> dict[str, torch.optim.Optimizer]: ...

    def targets_to_device(self, y: torch.Tensor) -> torch.Tensor: ...

    def on_setup(self, loop: "RunLoop") -> None: ...

    def train_step(self, loop: "RunLoop", idx: torch.Tensor, row: torch.Tensor) -> None: ...

    def target(self, x: "torch.Tensor", y: "torch.Tensor") -> "torch.Tensor": ...

    def loss(self, loop: "RunLoop", out: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...

    def val_begin(self, loop: "RunLoop") -> dict[str, torch.Tensor]: ...

    def val_batch(self, loop: "RunLoop", sums: dict[str, torch.Tensor], out: torch.Tensor,
                  y: torch.Tensor) -> None: ...

    def val_metrics(self, loop: "RunLoop", sums: dict[str, torch.Tensor],
                    n: int) -> dict[str, Any]: ...

    def batch_report(self, loop: "RunLoop", window: dict[str, float],
                     running: dict[str, float], rate: float) -> "BatchReport": ...

    def epoch_report(self, loop: "RunLoop", epoch: int, running: dict[str, float],
                     scores: dict[str, Any]) -> "EpochReport": ...

    def target_max(self, loop: "RunLoop") -> float | None: ...

    def begin_info(self, loop: "RunLoop") -> dict[str, Any]: ...

    def state_extra(self, loop: "RunLoop") -> dict[str, Any]: ...

    def check_state(self, state: dict[str, Any]) -> None: ...

    def release(self, loop: "RunLoop") -> None: ...
