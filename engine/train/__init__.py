"""Training: a Qt-free Trainer with callbacks, checkpoints and exact resume.

Names are imported on first use (PEP 562), so `from torchloom.engine.train.callbacks
import Callback` does not import torch; the command line builds its parser without it.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_WHERE = {
    "BatchReport": "callbacks", "Callback": "callbacks", "EpochReport": "callbacks",
    "TrainResult": "callbacks", "TrainConfig": "config", "list_devices": "config",
    "resolve_device": "config", "TrainingJob": "run", "prepare_training": "run",
    "Trainer": "trainer",
}

__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
