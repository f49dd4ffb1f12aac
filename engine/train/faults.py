"""Why a run failed, in words that name the setting to change and its value now.

A failure a person can cause while training (a learning rate that diverges, a batch that
does not fit the device, a full disk) ends the run with a `TrainingError` whose message
says what happened, where (step and epoch) and which settings to change. The advice is
picked from the run's own settings, so it never suggests what cannot help: no "lower the
learning rate" when the loss was already NaN before the first update, no "use fp16" on a
CPU or when mixed precision is already on.
"""

from __future__ import annotations

import math

import torch

from ..errors import TrainingError
from .config import TrainConfig

#: Targets larger than this make an mse loss prone to overflow, and are worth naming.
LARGE_TARGET = 1e4


def is_oom(exc: BaseException) -> bool:
    """A device (or host) allocation failure: CUDA's own error type, or the RuntimeError
    text that the CPU, MPS and older CUDA builds raise."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(
        words in text for words in ("out of memory", "can't allocate memory",
                                    "not enough memory"))


def _join(hints: list[str]) -> str:
    return hints[0] if len(hints) == 1 else "; ".join(hints[:-1]) + "; or " + hints[-1]


def _divergence_hints(config: TrainConfig, target_max: float | None) -> list[str]:
    """The settings that make a run diverge, with their values, most likely first."""
    hints = [f"lower the learning rate (now {config.lr:g})"]
    decay = config.lr * config.weight_decay
    if config.optimizer in ("sgd", "adamw") and decay >= 1:
        hints.append(f"lower weight_decay (now {config.weight_decay:g}: with lr "
                     f"{config.lr:g} every step multiplies the weights by {1 - decay:g})")
    if config.optimizer == "sgd" and config.momentum >= 0.95:
        hints.append(f"lower momentum (now {config.momentum:g})")
    if config.amp == "fp16":
        hints.append("set amp to bf16 or off (fp16 overflows above 65504)")
    if target_max is not None and target_max > LARGE_TARGET:
        hints.append(f"scale the targets down (they reach {target_max:.3g}, and {config.loss} "
                     "grows with them)")
    return hints


def loss_not_finite(value: float, step: int, epoch: int, config: TrainConfig, *,
                    target_max: float | None = None, what: str = "the loss") -> TrainingError:
    """The training loss of `step` was NaN or infinite (`what` names it: "the loss", "the
    discriminator loss")."""
    where = f"{what} became NaN or infinite at step {step} (epoch {epoch}; it was {value})"
    if step == 1:  # before any update of this run: the learning rate cannot be the cause
        hints = [h for h in _divergence_hints(config, target_max)
                 if h.startswith(("scale", "set amp"))]
        hints.append("check the data and the blocks of the model for values that overflow")
        return TrainingError(f"{where}, before any weight update: {_join(hints)}",
                             kind="nan", step=step)
    return TrainingError(f"{where}: {_join(_divergence_hints(config, target_max))}",
                         kind="nan", step=step)


def weights_not_finite(node: str, tensor: str, nan: bool, step: int, epoch: int,
                       config: TrainConfig, target_max: float | None = None) -> TrainingError:
    """A weight (or a running statistic) of `node` is no longer finite, though the loss
    was: seen at an epoch's end, before it could reach a checkpoint."""
    what = "NaN" if nan else "infinite"
    return TrainingError(
        f"the weights of node {node} ({tensor}) became {what} by step {step} (epoch {epoch}) "
        f"while the loss was still finite, so no checkpoint was saved: "
        f"{_join(_divergence_hints(config, target_max))}", kind="nan", step=step)


def validation_not_finite(value: float, step: int, epoch: int,
                          config: TrainConfig) -> TrainingError:
    """The weights are finite, yet the validation loss is not."""
    what = "NaN" if math.isnan(value) else "infinite"
    return TrainingError(
        f"the validation loss became {what} after epoch {epoch} (step {step}) while the "
        f"training loss was finite: {_join(_divergence_hints(config, None))}", kind="nan",
        step=step)


def out_of_memory(phase: str, step: int, epoch: int, config: TrainConfig,
                  device: torch.device, amp_on: bool, data_mb: float) -> TrainingError:
    """Out of memory while `phase` ("setting up", "training", "validating", ...)."""
    if phase == "setting up":
        return TrainingError(
            f"out of memory on {device} before the first step, moving the model and the "
            f"training data ({data_mb:,.0f} MB) there: train on the cpu (device cpu), or use "
            "a smaller dataset or model", kind="oom", step=None)
    if phase not in ("training", "validating"):
        return TrainingError(f"out of memory at step {step} while {phase}: close other "
                             "programs that use memory, or use a smaller model", kind="oom",
                             step=step)
    hints = []
    if config.batch_size > 1:
        hints.append(f"try a smaller batch size (set batch_size to {config.batch_size // 2}, "
                     f"now {config.batch_size})")
    if not amp_on:
        hints.append("set amp to bf16 or fp16" if device.type == "cuda" else
                     "set amp to bf16")
    hints.append("use a smaller model")
    during = f"epoch {epoch}" if phase == "training" else f"validating epoch {epoch}"
    return TrainingError(f"out of memory at step {step} with batch size {config.batch_size} "
                         f"on {device} ({during}): {_join(hints)}", kind="oom", step=step)


def release_cached_memory() -> None:
    """Hand the CUDA caching allocator's free blocks back to the driver, so other programs
    (and the next run) see the memory a failed run held. Only where CUDA was started: it
    would otherwise start it."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
