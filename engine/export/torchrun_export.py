"""The `torchrun` export: a folder that trains the project on many processes, torch alone.

It is the path past one machine. The folder holds ``train.py`` (DistributedDataParallel,
see `torchrun_template`), ``model.py`` (the `python` export), ``data.npz`` (the project's
data already prepared the way the run loop prepares it: fitted to the Input, split with the
project's seed, normalised with the training split's statistics) and ``init.pt`` (the
weights a Torchloom run would start from), so the script needs no Torchloom and a run on N
processes starts where a Torchloom run starts.

Nothing is trained during the export. It checks what it wrote instead: the script
compiles, the model file reproduces the compiled model exactly, the data and the starting
weights read back unchanged. Files are staged in a hidden folder and moved into place only
after those checks.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from ..errors import ExportError, ExportPathError, TorchloomError
from ..project import Project
from .model import prepare_model
from .python_code import python_source, verify_python_file
from .torchrun_template import CONFIG_KEYS, render_readme, render_train_script

if TYPE_CHECKING:
    from ..data import Split
    from . import ExportResult

FMT = "torchrun"
FILES = ("train.py", "model.py", "data.npz", "init.pt", "README.txt")
_ARRAYS = ("x_train", "y_train", "x_val", "y_val")


def export_torchrun(project: Project, out: Path, weights: Path | None = None) -> "ExportResult":
    """Write the training folder for `project` into `out` (created if needed).

    Args:
        out: the folder; files of the same names in it are replaced.
        weights: a run folder or ``.safetensors`` file to start training from (default: the
            project's initial weights, else the seeded initialisation Torchloom uses).

    Raises:
        ExportError: the graph, the data or the settings cannot make a training script.
    """
    from ..tasks import task_for
    from . import ExportResult

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportPathError("is a file: the torchrun export writes a folder (give -o a "
                              "folder name)", fmt=FMT, path=str(out))
    task = task_for(project)
    if FMT not in task.export_formats:  # its train.py has a classifier's or a regressor's loss
        raise ExportError(
            f"the torchrun script trains classification and regression models (one loss on "
            f"one target); a {task.title.lower()} project ({task.name}) does not export as "
            f"torchrun yet: export {', '.join(task.export_formats)} instead", fmt=FMT)
    model = prepare_model(project, weights, fmt=FMT)
    inputs = model.input_ids()
    if len(inputs) >= 2:  # its train.py and data.npz hold one x per split
        raise ExportError(f"the torchrun export trains a model with one Input; this one has "
                          f"{len(inputs)} ({', '.join(inputs)}): export python, onnx or pt2 "
                          "instead", fmt=FMT)
    config = _training_config(project)
    split, notes = _split(project)
    arrays = data_arrays(split, task.targets_to_device)
    created = not out.exists()  # a folder this export makes goes again if the export fails
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".torchloom-export-", dir=out))
    except OSError as exc:
        _remove_if_empty(out, created)
        raise ExportPathError(f"cannot create or write to the folder "
                              f"({exc.strerror or exc})", fmt=FMT, path=str(out)) from None
    try:
        files = {
            "train.py": render_train_script(project.name, config).encode("utf-8"),
            "model.py": python_source(model).encode("utf-8"),
            "data.npz": _npz_bytes(arrays),
            "init.pt": _state_bytes(model.module.state_dict()),
            "README.txt": render_readme(project.name).encode("utf-8"),
        }
        for name, data in files.items():
            (stage / name).write_bytes(data)
        checks = _verify(stage, model, arrays)
        for name in FILES:
            os.replace(stage / name, out / name)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_if_empty(out, created)
        raise ExportPathError(f"cannot write there ({exc.strerror or exc})", fmt=FMT,
                              path=str(out)) from None
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_if_empty(out, created)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    checks.update({"train_samples": int(len(arrays["y_train"])),
                   "val_samples": int(len(arrays["y_val"]))})
    notes = [*notes, f"run it: cd {out} && torchrun --nproc-per-node 2 train.py --device cpu"]
    if project.training_config().get("amp", "off") != "off":
        notes.append("the script trains in full precision (the project's amp setting is "
                     "not carried over)")
    return ExportResult(FMT, [out / name for name in FILES], checks, notes)


def _training_config(project: Project) -> dict[str, Any]:
    from ..train.config import TrainConfig

    try:
        config = TrainConfig.from_project(project).to_json()
    except TorchloomError as exc:
        raise ExportError(exc.describe(), fmt=FMT) from None
    from ..compile import module_names
    from ..train.finetune import BlockTraining

    names = module_names(n.id for n in project.graph.nodes)
    blocks = BlockTraining.of(project, {name: node_id for node_id, name in names.items()})
    config.update(frozen=list(blocks.frozen), lr_scales=dict(blocks.scales))
    return {key: config[key] for key in CONFIG_KEYS}


def _split(project: Project) -> tuple["Split", list[str]]:
    """The data exactly as training prepares it (the project's task loads it)."""
    from ..tasks import task_for
    from ..train.config import TrainConfig

    if not project.dataset:
        raise ExportError("the project has no dataset: choose one before exporting a "
                          "training script", fmt=FMT)
    try:
        config = TrainConfig.from_project(project)
        split, notes, _ = task_for(project).load_split(project, config)
        return split, notes
    except TorchloomError as exc:
        raise ExportError(exc.describe(), fmt=FMT) from None


def data_arrays(split: "Split", targets: Callable[[torch.Tensor], torch.Tensor],
                chunk: int = 4096) -> dict[str, np.ndarray]:
    """The splits as the run loop feeds them: inputs normalised (float32) or token ids
    (int64), targets as the task gives them to its loss (`targets(y)`: int64 classes, or a
    regression's float32 rows)."""
    norm = split.normalization
    arrays: dict[str, np.ndarray] = {}
    for part, data in (("train", split.train), ("val", split.val)):
        pieces = [data.read(torch.arange(i, min(i + chunk, len(data))))
                  for i in range(0, len(data), chunk)]
        x = (torch.cat(pieces) if pieces
             else torch.zeros((0, *data.input_shape), dtype=getattr(torch, data.dtype)))
        if norm is not None and x.is_floating_point():
            x = norm.apply(x)
        y = targets(data.y)
        arrays[f"x_{part}"] = x.contiguous().numpy()
        arrays[f"y_{part}"] = y.contiguous().numpy()
    if norm is not None:
        arrays["mean"], arrays["std"] = norm.mean.numpy(), norm.std.numpy()
    if split.full.classes:
        arrays["classes"] = np.array([str(c) for c in split.full.classes], dtype=str)
    return arrays


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _state_bytes(state: dict[str, torch.Tensor]) -> bytes:
    buffer = io.BytesIO()
    torch.save({k: v.detach().to("cpu").contiguous() for k, v in state.items()}, buffer)
    return buffer.getvalue()


def _verify(folder: Path, model: Any, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The script compiles, model.py reproduces the model, data and weights read back."""
    script = folder / "train.py"
    try:
        compile(script.read_text(encoding="utf-8"), "train.py", "exec")
    except SyntaxError as exc:  # pragma: no cover - the template is fixed text
        raise ExportError(f"the training script does not compile: {exc}", fmt=FMT) from None
    checks = verify_python_file(folder / "model.py", model, shown=folder.parent / "model.py")
    with np.load(folder / "data.npz", allow_pickle=False) as saved:
        for key, value in arrays.items():
            back = saved[key]
            if back.dtype != value.dtype or not np.array_equal(back, value):
                raise ExportError(f"data.npz does not read back: {key} differs", fmt=FMT)
    for key in _ARRAYS:
        if arrays[key].dtype not in (np.float32, np.int64):
            raise ExportError(f"data.npz holds {key} as {arrays[key].dtype}; the script "
                              "expects float32 or int64", fmt=FMT)
    init = torch.load(folder / "init.pt", map_location="cpu", weights_only=True)
    expected = model.module.state_dict()
    if list(init) != list(expected) or not all(torch.equal(init[k], expected[k])
                                               for k in expected):
        raise ExportError("init.pt does not read back as the model's weights", fmt=FMT)
    return {"script_compiles": True, "data_roundtrip": True, **checks}


def _remove_if_empty(folder: Path, created: bool) -> None:
    """A failed export leaves no empty folder it made (a folder that was there stays)."""
    if created:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: whatever was put there meanwhile is kept
