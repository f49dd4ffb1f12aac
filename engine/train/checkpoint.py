"""A run folder: weights, trainer state, metrics and the graph that made them.

    model.safetensors   weights, keyed "<node id>.<tensor>"; nothing executable
    state.pt            optimizer, schedule, epoch, step, RNG states; read weights_only=True
    checkpoint.json     written last: the step, and the size and sha256 of the two above
    metrics.csv         one row per epoch
    project.json        the project as it was trained (graph snapshot and settings)
    run.json            status, device, dataset description, normalisation, timings
    best/               ``"keep": "best"``: the best epoch's model.safetensors and its
                        checkpoint.json record (see `best`), which users of the run load
    stats.jsonl         per-layer weight and gradient statistics, a line per capture
                        (`layer_stats`); appended, so a crash may cut its last line short,
                        which readers skip
    tensorboard/        ``"tensorboard": true``: TensorBoard event files (`tensorboard`)

Every other file is written atomically, so each is whole, old or new. A checkpoint is two files,
though, and a crash between them would pair new weights with an old trainer state; hence
`checkpoint.json`, written after both: loading (resume, warm start, probes, export) checks
that the files are the ones it records and refuses an interrupted checkpoint with a
`CheckpointError` instead of loading it. Run folders from before the marker (no
``checkpoint.json``, and weights without a ``step`` in their metadata) still load.

Nothing in a run folder is executed: weights are safetensors, the state is read with
``torch.load(weights_only=True)``, which refuses any pickle that names a function or class
outside torch's allow-list.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import pickle  # noqa: S403 - only for its exception type
import re
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from ..errors import ProjectFileError, TorchloomError
from ..fileio import atomic_write_bytes, atomic_write_text
from ..project import MAX_FILE_BYTES, Project, dumps_project, loads_project
from ..safe_read import FileTooBigError, NotAFileError, open_regular, read_limited, size_text
from .callbacks import METRIC_COLUMNS, EpochReport
from .runfiles import (CHECKPOINT_FILE, MAX_RECORD_BYTES, METRICS_FILE, MODEL_FILE, PROJECT_FILE,
                       RUN_FILE, STATE_FILE)

__all__ = ["CHECKPOINT_FILE", "METRICS_FILE", "MODEL_FILE", "PROJECT_FILE", "RUN_FILE",
           "STATE_FILE"]

CHECKPOINT_FORMAT = "torchloom-checkpoint"
STATE_FORMAT = "torchloom-state"  # the run loop's state_dict format
#: safetensors refuses headers above 100 MB; so does the header peek here.
_MAX_HEADER = 100 * 1024 * 1024
#: Weights and trainer states are read whole; above this a file is refused before reading.
MAX_WEIGHTS_BYTES = 16 * 2**30


class CheckpointError(TorchloomError):
    """A run folder is missing a file or holds one that cannot be read."""


# ---- writing -----------------------------------------------------------------------------


def file_record(data: bytes) -> dict[str, Any]:
    """What checkpoint.json records of one file."""
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def save_weights(model: nn.Module, path: Path, node_ids: dict[str, str],
                 step: int | None = None) -> dict[str, Any]:
    """Write the weights as safetensors; returns the file's record. `step` marks them as
    part of a checkpoint (which must then be completed by `checkpoint.json`)."""
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {"format": "torchloom-weights", "nodes": json.dumps(node_ids)}
    if step is not None:
        metadata["step"] = str(int(step))
    data = save_safetensors(tensors, metadata=metadata)
    atomic_write_bytes(path, data)
    return file_record(data)


def save_state(path: Path, state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getvalue()
    atomic_write_bytes(path, data)
    return file_record(data)


def save_checkpoint(run_dir: Path, model: nn.Module, node_ids: dict[str, str],
                    state: dict[str, Any]) -> None:
    """Weights, then trainer state, then `checkpoint.json` naming both: a crash anywhere in
    between leaves a marker that does not match (or none), which loading refuses."""
    step = int(state["step"])
    files = {MODEL_FILE: save_weights(model, run_dir / MODEL_FILE, node_ids, step=step),
             STATE_FILE: save_state(run_dir / STATE_FILE, state)}
    write_json(run_dir / CHECKPOINT_FILE, {"format": CHECKPOINT_FORMAT, "version": 1,
                                           "step": step, "epoch": int(state["epoch"]),
                                           "files": files})


# ---- reading -----------------------------------------------------------------------------


def load_weights(path: Path) -> dict[str, torch.Tensor]:
    """Read safetensors weights. A run folder's model.safetensors must belong to its last
    complete checkpoint (see `check_complete`)."""
    missing = "no weights file"
    if path.name == MODEL_FILE and (path.parent / PROJECT_FILE).exists():  # a run folder
        missing = ("no checkpoint yet: the run stopped or failed before it wrote its first "
                   "one (they are written at each epoch's end and on Stop), so there is "
                   "nothing to resume; start a new run")
    data = _read(path, missing)
    if path.name == MODEL_FILE and _is_run_folder(path.parent):
        check_complete(path.parent, MODEL_FILE, data)
    try:
        return load_safetensors(data)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own types
        raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from None


def load_state(path: Path) -> dict[str, Any]:
    """Read a trainer state with ``weights_only=True``: tensors and plain data only; a pickle
    that would call anything else is refused, never run."""
    data = _read(path, "no trainer state (was the run stopped before its first checkpoint?)")
    if path.name == STATE_FILE:
        check_complete(path.parent, STATE_FILE, data)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"{path}: the trainer state cannot be read "
                              f"({_load_failure(exc)})") from None
    if not (isinstance(state, dict) and state.get("format") == STATE_FORMAT
            and all(isinstance(state.get(k), int) for k in ("epoch", "step", "step_in_epoch"))):
        raise CheckpointError(f"{path}: not a Torchloom trainer state")
    return state


def _load_failure(exc: Exception) -> str:
    """torch.load's reason in a few words. Its own message for a refused pickle explains
    how to load the file anyway, unsafely: a person must not be told that here."""
    text = str(exc)
    refused = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    if refused:
        return (f"it would call {refused.group(1)}, which a trainer state never does: refused, "
                "since loading it could run code")
    if isinstance(exc, pickle.UnpicklingError):
        detail = re.search(r"WeightsUnpickler error: ([^\n]+?)(?:\.|$)", text, re.M)
        return ("refused by the safe loader: " + detail.group(1) if detail
                else "not a file torch saved")
    if isinstance(exc, EOFError):
        return "the file is empty or ends too early"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.split(". ")[0].rstrip(".")


def check_complete(run_dir: Path, name: str, data: bytes) -> None:
    """Raise `CheckpointError` unless `data` (the bytes of `name` in `run_dir`) belongs to
    the checkpoint that `checkpoint.json` records.

    Without a checkpoint.json, weights that carry a step were written by a checkpoint that
    never finished (every checkpoint since the marker exists writes one); weights without a
    step are a run folder from before the marker, each of its files whole, and load.
    """
    marker = run_dir / CHECKPOINT_FILE
    model = data if name == MODEL_FILE else run_dir / MODEL_FILE
    if not marker.exists():
        step = written_step(model)
        if step is not None:
            raise _interrupted(run_dir, step, f"{CHECKPOINT_FILE} was never written")
        return
    record = read_marker(marker)
    if record["files"].get(name) != file_record(data):
        step = written_step(model)
        raise _interrupted(run_dir, step if step is not None else record["step"],
                           f"its {name} is not the one {CHECKPOINT_FILE} records")


def read_marker(path: Path) -> dict[str, Any]:
    """The parsed checkpoint.json, checked."""
    try:
        marker = json.loads(read_limited(path, MAX_RECORD_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise CheckpointError(f"{path}: damaged ({reason}): the checkpoint cannot be trusted; "
                              "resume from an earlier run or start fresh") from None
    files = marker.get("files") if isinstance(marker, dict) else None
    if not (isinstance(marker, dict) and marker.get("format") == CHECKPOINT_FORMAT
            and isinstance(marker.get("step"), int) and isinstance(marker.get("epoch"), int)
            and isinstance(files, dict)):
        raise CheckpointError(f"{path}: not a Torchloom checkpoint record")
    return marker


def written_step(model: bytes | Path) -> int | None:
    """The step stored in a safetensors file's metadata (checkpoints write one), from its
    header alone; None for weights without one, or a file that is not safetensors."""
    try:
        if isinstance(model, Path):
            with open_regular(model) as handle:
                head = handle.read(8)
                size = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
                header = handle.read(size) if 0 < size <= _MAX_HEADER else b""
        else:
            size = struct.unpack("<Q", model[:8])[0] if len(model) >= 8 else 0
            header = model[8:8 + size] if 0 < size <= _MAX_HEADER else b""
        meta = json.loads(header).get("__metadata__") or {}
        return int(meta["step"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def _interrupted(run_dir: Path, step: int, detail: str) -> CheckpointError:
    return CheckpointError(f"the checkpoint in {run_dir} was interrupted while being written "
                           f"(step {step}; {detail}): resume from an earlier run or start "
                           "fresh")


def _is_run_folder(folder: Path) -> bool:
    return (folder / CHECKPOINT_FILE).exists() or (folder / STATE_FILE).exists()


def _read(path: Path, missing: str, limit: int = MAX_WEIGHTS_BYTES) -> bytes:
    try:
        return read_limited(path, limit)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {missing}") from None
    except NotAFileError as exc:
        raise CheckpointError(f"{path}: is {exc.kind}, not a file") from None
    except FileTooBigError:
        raise CheckpointError(f"{path}: is larger than {size_text(limit)}, the most Torchloom "
                              "reads as weights or a trainer state") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def write_metrics(path: Path, history: list[EpochReport],
                  columns: tuple[str, ...] = METRIC_COLUMNS) -> None:
    """metrics.csv: one row per epoch, the task's `columns` (a contract: people plot these
    files), each from the report's fields or its task-specific `extra`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for report in history:
        writer.writerow({k: ("" if v is None else _round(v))
                         for k, v in report.row(columns).items()})
    atomic_write_text(path, out.getvalue())


def _round(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return round(value, 6) if isinstance(value, float) else value


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def save_project_copy(run_dir: Path, project: Project) -> None:
    atomic_write_text(run_dir / PROJECT_FILE, dumps_project(project))


def read_project_copy(run_dir: Path) -> Project:
    path = run_dir / PROJECT_FILE
    try:
        return loads_project(read_limited(path, MAX_FILE_BYTES), path=str(path))
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"{run_dir}: not a run folder (no {PROJECT_FILE})") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ProjectFileError as exc:
        raise CheckpointError(exc.describe()) from None


def project_copy_or_none(run_dir: Path) -> Project | None:
    """The run's project copy, or None when it has none or it cannot be read (weights put
    in a folder by hand): for following renames, where no copy means keys as they are."""
    try:
        return read_project_copy(run_dir)
    except CheckpointError:
        return None


def node_of(key: str, node_ids: dict[str, str]) -> tuple[str, str]:
    """The node a state-dict key belongs to: (its module prefix, how a person names it).
    ``fc1.weight`` is node ``fc1``; in a model of several graphs (a GAN's pair),
    ``generator.fc1.weight`` is ``generator: fc1``."""
    parts = key.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix in node_ids:
            graph = ".".join(parts[:cut - 1])
            return prefix, f"{graph}: {node_ids[prefix]}" if graph else node_ids[prefix]
    return parts[0], parts[0]


def load_matching(model: nn.Module, saved: dict[str, torch.Tensor],
                  node_ids: dict[str, str]) -> tuple[list[str], list[str]]:
    """Copy saved weights into `model` for every node whose tensors all match by name and
    shape; the rest keep their fresh initialisation.

    Returns (loaded nodes, re-initialised nodes), named as `node_of` names them. This is
    what keeps trained weights across graph edits: ids are stable, so unchanged blocks find
    their tensors again.
    """
    by_node: dict[str, dict[str, torch.Tensor]] = {}
    labels: dict[str, str] = {}
    for key, value in model.state_dict().items():
        prefix, label = node_of(key, node_ids)
        by_node.setdefault(prefix, {})[key] = value
        labels[prefix] = label
    loaded, fresh = [], []
    with torch.no_grad():
        for prefix, tensors in by_node.items():
            if all(k in saved and saved[k].shape == v.shape for k, v in tensors.items()):
                for k, v in tensors.items():
                    v.copy_(saved[k])
                loaded.append(labels[prefix])
            else:
                fresh.append(labels[prefix])
    return loaded, fresh
