"""Training: the Qt-free run loop with callbacks, checkpoints and exact resume. What differs
per kind of model is a task (``engine/tasks/``), which sits above this package.

Names are imported on first use (PEP 562), so `from torchloom.engine.train.callbacks
import Callback` does not import torch; the command line builds its parser without it.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_WHERE = {
    "BatchReport": "callbacks", "Callback": "callbacks", "EpochReport": "callbacks",
    "TrainResult": "callbacks", "TrainConfig": "config", "list_devices": "config",
    "resolve_device": "config", "TrainingJob": "run", "RunLoop": "loop", "Stat": "task_api",
}

__all__ = sorted(_WHERE)


__getattr__ = lazy_exports(__name__, _WHERE)
