"""safetensors export: the weights keyed by node id, plus the graph as a JSON sidecar.

The pair is the model as data: ``model.safetensors`` holds every tensor as
``<node id>.<tensor>`` (nothing executable, readable from any language), and
``model.json`` next to it is a Torchloom project with the graph, dataset and training
settings, whose ``"weights"`` names the safetensors file. Opened in Torchloom, the sidecar
is the same model with these weights as its starting point.

The self-check reads both files back: every tensor must equal the model's bit for bit, the
sidecar must load as a project with the same graph, and (when it names the weights) the
model it builds must carry exactly these tensors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ExportError, ExportPathError, ProjectFileError
from ..project import Project, dumps_json, loads_project, project_to_dict
from . import ExportResult
from .model import ExportModel, prepare_model
from .verify import prepare_target, staged

FORMAT = "safetensors"
WEIGHTS_FORMAT = "torchloom-weights"


def export_safetensors(project: Project, out: Path, weights: Path | None = None
                       ) -> ExportResult:
    """Write the weights to `out` and the project to ``<out stem>.json``, then check both.

    Raises:
        ExportError: the graph has errors, the weights do not fit, or the files read back
            differ from the model.
    """
    from safetensors.torch import save

    out = Path(out)
    sidecar = sidecar_path(project, out)
    model = prepare_model(project, weights, fmt=FORMAT)
    out = prepare_target(out, FORMAT)
    tensors = node_keyed(model)
    metadata = {"format": WEIGHTS_FORMAT, "keys": "node id", "project": project.name,
                "graph": sidecar.name, "weights_from": model.weights_from,
                "nodes": json.dumps(model.node_ids)}
    linked = _linkable(model, out)
    data, notes = sidecar_dict(project, out, sidecar, link=linked)
    with staged(out, FORMAT) as tmp_weights, staged(sidecar, FORMAT) as tmp_sidecar:
        tmp_weights.write_bytes(save(tensors, metadata=metadata))
        tmp_sidecar.write_text(dumps_json(data), encoding="utf-8")
        checks = _verify(model, tmp_weights, tmp_sidecar, data, linked)
    return ExportResult(FORMAT, [out, sidecar], checks, notes)


def sidecar_path(project: Project, out: Path) -> Path:
    """``<out stem>.json``, where the graph goes; refused when it is the weights file itself
    or the very project being exported (writing it would replace the person's project).

    Raises:
        ExportPathError: `out` ends in .json, or its sidecar is the project's own file.
    """
    sidecar = out.with_suffix(".json")
    if sidecar == out:
        raise ExportPathError("the weights file must not end in .json: the graph goes there "
                              "(use a .safetensors name)", fmt=FORMAT, path=str(out))
    if project.path is not None and _same_file(sidecar, Path(project.path)):
        suggestion = out.with_name(f"{out.stem}_weights{out.suffix or '.safetensors'}")
        raise ExportPathError(
            f"the graph goes to {sidecar}, which is the project file being exported "
            f"({project.path}): writing it would replace your project. Give -o another "
            f"name, such as {suggestion.name} (the graph then goes to "
            f"{suggestion.with_suffix('.json').name})", fmt=FORMAT, path=str(out))
    return sidecar


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: by resolved path, and by inode when both exist
    (a hard link or a case-insensitive file system)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return a.absolute() == b.absolute()


def node_keyed(model: ExportModel) -> dict[str, torch.Tensor]:
    """The state dict with each module name replaced by its node id."""
    out = {}
    for key, value in model.module.state_dict().items():
        name, _, rest = key.partition(".")
        out[f"{model.node_ids.get(name, name)}.{rest}"] = value.detach().cpu().contiguous()
    return out


def _linkable(model: ExportModel, out: Path) -> bool:
    """Whether a project can name this file as its weights: projects read weights keyed by
    module name, which is the node id unless an id is not a Python name (``conv-1``)."""
    same = all(model.node_ids.get(k.partition(".")[0], k.partition(".")[0])
               == k.partition(".")[0] for k in model.module.state_dict())
    return same and out.suffix == ".safetensors"


def sidecar_dict(project: Project, out: Path, sidecar: Path, link: bool
                 ) -> tuple[dict[str, Any], list[str]]:
    """The project as the sidecar stores it: relative paths (dataset, code files) rewritten
    so they still resolve from the sidecar's folder, and ``"weights"`` naming `out`."""
    data = json.loads(json.dumps(project_to_dict(project)))  # a deep copy
    notes = []
    src = project.path.parent if project.path is not None else project.graph.base_dir
    if src is not None and _moved(Path(src), sidecar.parent):
        if _rebase(data, Path(src), sidecar.parent):
            notes.append("relative paths to the dataset and code files are rewritten to "
                         "resolve from the sidecar's folder")
    data.pop("weights", None)
    if link:
        data["weights"] = out.name
    else:
        reason = ("its name does not end in .safetensors" if out.suffix != ".safetensors"
                  else "some node ids are not Python names")
        notes.append(f"the sidecar does not name the weights file ({reason}): it opens with "
                     "fresh weights")
    return data, notes


def _moved(src: Path, dst: Path) -> bool:
    try:
        return src.resolve() != dst.resolve()
    except OSError:
        return True


def _rebase(data: dict[str, Any], src: Path, dst: Path) -> bool:
    changed = False

    def move(value: Any) -> Any:
        nonlocal changed
        if not isinstance(value, str) or not value or Path(value).is_absolute():
            return value
        changed = True
        target = (src / value).resolve()
        try:
            return Path(os.path.relpath(target, dst.resolve())).as_posix()
        except ValueError:  # another drive (Windows): no relative path exists
            return target.as_posix()

    dataset = data.get("dataset")
    if isinstance(dataset, dict):
        for key in ("path", "labels"):
            if key in dataset:
                dataset[key] = move(dataset[key])
    for node in data.get("graph", {}).get("nodes", []):
        params = node.get("params")
        if node.get("type") == "Code" and isinstance(params, dict) and "file" in params:
            params["file"] = move(params["file"])
    return changed


def _verify(model: ExportModel, weights_file: Path, sidecar: Path, data: dict[str, Any],
            linked: bool) -> dict[str, Any]:
    from safetensors import safe_open
    from safetensors.torch import load

    expected = node_keyed(model)
    try:
        saved = load(weights_file.read_bytes())
        with safe_open(str(weights_file), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own types
        raise ExportError(f"the written weights cannot be read back ({exc})",
                          fmt=FORMAT) from None
    _same_tensors(expected, saved, "the weights file")
    if metadata.get("format") != WEIGHTS_FORMAT:
        raise ExportError("the written weights lost their metadata", fmt=FORMAT)
    try:
        loaded = loads_project(sidecar.read_bytes(), path=str(sidecar))
    except ProjectFileError as exc:
        raise ExportError(f"the sidecar does not load as a project ({exc.describe()})",
                          fmt=FORMAT) from None
    if json.loads(json.dumps(project_to_dict(loaded))) != data:
        raise ExportError("the sidecar does not read back as the graph it was written from",
                          fmt=FORMAT)
    if linked:  # the pair opens as the same model: build it from the files alone
        loaded.weights = str(weights_file.resolve())
        loaded.graph.base_dir = sidecar.parent.resolve()  # where its code paths now point
        rebuilt = prepare_model(loaded, fmt=FORMAT).module.state_dict()
        _same_tensors(model.module.state_dict(), rebuilt, "the project the sidecar opens")
    return {"tensors": len(saved), "tensors_equal": True,
            "elements": sum(t.numel() for t in saved.values()),
            "sidecar_loads": True, "weights_linked": linked}


def _same_tensors(expected: dict[str, torch.Tensor], got: dict[str, torch.Tensor],
                  what: str) -> None:
    missing = sorted(set(expected) ^ set(got))
    if missing:
        raise ExportError(f"the export does not reproduce the model: {what} has different "
                          f"tensors ({', '.join(missing[:4])})", fmt=FORMAT)
    for key, value in expected.items():
        if not torch.equal(value.cpu(), got[key].cpu()):
            raise ExportError(f"the export does not reproduce the model: {what} holds a "
                              f"different {key}", fmt=FORMAT)
