"""Training: a Qt-free Trainer with callbacks, checkpoints and exact resume."""

from .callbacks import BatchReport, Callback, EpochReport, TrainResult
from .config import TrainConfig, list_devices, resolve_device
from .run import TrainingJob, prepare_training
from .trainer import Trainer

__all__ = ["BatchReport", "Callback", "EpochReport", "TrainConfig", "TrainResult", "Trainer",
           "TrainingJob", "list_devices", "prepare_training", "resolve_device"]
