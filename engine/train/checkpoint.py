"""A run folder: weights, trainer state, metrics and the graph that made them.

    model.safetensors   weights, keyed "<node id>.<tensor>"; nothing executable
    state.pt            optimizer, schedule, epoch, step, RNG states; read weights_only=True
    metrics.csv         one row per epoch
    project.json        the project as it was trained (graph snapshot and settings)
    run.json            status, device, dataset description, normalisation, timings

Every file is written atomically, so a crash mid-save leaves the previous checkpoint whole.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from ..errors import ProjectFileError, TorchloomError
from ..fileio import atomic_write_bytes, atomic_write_text
from ..project import Project, dumps_project, loads_project
from .callbacks import METRIC_COLUMNS, EpochReport

from .runfiles import METRICS_FILE, MODEL_FILE, PROJECT_FILE, RUN_FILE, STATE_FILE

__all__ = ["METRICS_FILE", "MODEL_FILE", "PROJECT_FILE", "RUN_FILE", "STATE_FILE"]


class CheckpointError(TorchloomError):
    """A run folder is missing a file or holds one that cannot be read."""


def save_weights(model: nn.Module, path: Path, node_ids: dict[str, str]) -> None:
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {"format": "torchloom-weights", "nodes": json.dumps(node_ids)}
    atomic_write_bytes(path, save_safetensors(tensors, metadata=metadata))


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_safetensors(path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no weights file") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own types
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def save_state(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no trainer state (was the run stopped before its first "
                              "checkpoint?)") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"{path}: the trainer state cannot be read ({exc})") from None


def write_metrics(path: Path, history: list[EpochReport]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=METRIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for report in history:
        writer.writerow({k: ("" if v is None else _round(v)) for k, v in report.row().items()})
    atomic_write_text(path, out.getvalue())


def _round(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def save_project_copy(run_dir: Path, project: Project) -> None:
    atomic_write_text(run_dir / PROJECT_FILE, dumps_project(project))


def read_project_copy(run_dir: Path) -> Project:
    path = run_dir / PROJECT_FILE
    try:
        return loads_project(path.read_bytes(), path=str(path))
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir}: not a run folder (no {PROJECT_FILE})") from None
    except ProjectFileError as exc:
        raise CheckpointError(exc.describe()) from None


def load_matching(model: nn.Module, saved: dict[str, torch.Tensor],
                  node_ids: dict[str, str]) -> tuple[list[str], list[str]]:
    """Copy saved weights into `model` for every node whose tensors all match by name and
    shape; the rest keep their fresh initialisation.

    Returns (loaded node ids, re-initialised node ids). This is what keeps trained weights
    across graph edits: ids are stable, so unchanged blocks find their tensors again.
    """
    by_module: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in model.state_dict().items():
        by_module.setdefault(key.split(".", 1)[0], {})[key] = value
    loaded, fresh = [], []
    with torch.no_grad():
        for name, tensors in by_module.items():
            node = node_ids.get(name, name)
            if all(k in saved and saved[k].shape == v.shape for k, v in tensors.items()):
                for k, v in tensors.items():
                    v.copy_(saved[k])
                loaded.append(node)
            else:
                fresh.append(node)
    return loaded, fresh
