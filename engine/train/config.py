"""Training settings and devices.

The settings are the project's ``"training"`` object (declared once, in
`project.TRAINING_FIELDS`) plus command-line or GUI overrides, checked together here.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

import torch

from ..errors import TrainingError
from ..params import ParamValueError
from ..project import DEFAULT_DEVICE, TRAINING_FIELDS, Project


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 0.001
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    step_size: int = 10
    gamma: float = 0.1
    warmup_steps: int = 100
    max_lr: float = 0.01
    plateau_patience: int = 2
    loss: str = "cross_entropy"
    val_split: float = 0.2
    seed: int = 0
    device: str = DEFAULT_DEVICE
    amp: str = "off"
    clip_grad_norm: float = 0.0
    #: {} for off; checked against the task's metrics by `early_stop.EarlyStopping`
    early_stopping: dict[str, Any] = field(default_factory=dict)
    #: "last", or "best": also keep the best epoch's weights by `keep_metric` (see `best`)
    keep: str = "last"
    keep_metric: str = "val_loss"
    #: batches per optimisation step (see `accumulate`)
    accumulate: int = 1
    #: capture per-layer statistics every this many steps (0: off; `train.layer_stats`)
    stats_every: int = 50
    #: write TensorBoard event files (`train.tensorboard`)
    tensorboard: bool = False
    # GAN only (see engine/tasks/gan.py):
    betas: tuple[float, float] = (0.5, 0.999)
    d_steps: int = 1
    label_smoothing: float = 0.0

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "TrainConfig":
        """Check every known value against its declaration; unknown keys are ignored."""
        clean: dict[str, Any] = {}
        for name, decl in TRAINING_FIELDS.items():
            if name in values:
                try:
                    clean[name] = decl.validate(values[name])
                except ParamValueError as exc:
                    raise TrainingError(f"training setting {name} {exc}", kind="config") from None
        if "device" in values:
            clean["device"] = str(values["device"])
        return cls(**clean)

    @classmethod
    def from_project(cls, project: Project, **overrides: Any) -> "TrainConfig":
        values = project.training_config()
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.from_dict(values)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (tuples as lists), for run.json and the trainer state."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


#: Every setting a run may be given: the declared ones and the free-text device.
SETTING_NAMES: tuple[str, ...] = (*TRAINING_FIELDS, "device")


def closest_setting(name: object) -> str | None:
    """The known setting `name` is most likely a typo of (`epoch` -> `epochs`), or None."""
    close = difflib.get_close_matches(str(name), SETTING_NAMES, n=1)
    return close[0] if close else None


def check_setting_names(names: Iterable[str]) -> None:
    """Refuse a setting this version does not know, before anything loads. A project file
    keeps unknown keys (a newer Torchloom may read them), but an override is typed by a
    person now, so ``epoch=1`` must not silently train the project's 20 epochs."""
    for name in names:
        if name not in SETTING_NAMES:
            close = closest_setting(name)
            hint = f": did you mean '{close}'?" if close else ""
            raise TrainingError(f"unknown training setting '{str(name)[:40]}'{hint} (the "
                                f"settings: {', '.join(SETTING_NAMES)})", kind="config")


def cuda_count() -> int:
    try:
        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken driver means no usable GPU
        return 0


def list_devices() -> list[dict[str, Any]]:
    """`cpu` and every CUDA device, with its name and memory, for the device chooser."""
    devices: list[dict[str, Any]] = [{"id": "cpu", "name": "CPU", "memory_gb": None}]
    for i in range(cuda_count()):
        props = torch.cuda.get_device_properties(i)
        devices.append({"id": f"cuda:{i}", "name": props.name,
                        "memory_gb": round(props.total_memory / 2**30, 1)})
    return devices


def device_name_problem(name: str) -> str | None:
    """Why `name` is not a device name at all (whatever this machine has), or None: `check`
    says it before a run, on any machine."""
    name = (name or DEFAULT_DEVICE).strip().lower()
    if name in ("auto", "cpu", "cuda"):
        return None
    if name.startswith("cuda:"):
        if name.split(":", 1)[1].isdigit():
            return None
        return f"device '{name}' is not a device name: use cpu, cuda or cuda:N"
    return f"device '{name}' is not a device name: use auto, cpu, cuda or cuda:N"


def resolve_device(name: str) -> torch.device:
    """``auto`` is the first GPU if there is one, else the CPU. Unknown or absent devices
    are a `TrainingError` that says what is there."""
    problem = device_name_problem(name)
    if problem:
        raise TrainingError(problem, kind="device")
    name = (name or DEFAULT_DEVICE).strip().lower()
    count = cuda_count()
    if name == "auto":
        return torch.device("cuda:0" if count else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        index = 0 if name == "cuda" else name.split(":", 1)[1]
        if int(index) >= count:
            found = f"{count} CUDA device(s) found" if count else "no CUDA device was found"
            raise TrainingError(f"device '{name}' is not available ({found}): use cpu or auto",
                                kind="device")
        return torch.device(f"cuda:{int(index)}")
    raise AssertionError(name)  # pragma: no cover - device_name_problem refused it


def check_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `amp`, or None for full precision."""
    if amp == "off":
        return None
    if amp == "fp16":
        if device.type != "cuda":
            raise TrainingError("amp fp16 needs a CUDA device: use bf16 on the CPU, or off",
                                kind="config")
        return torch.float16
    return torch.bfloat16
