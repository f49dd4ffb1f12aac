"""torch.export (``.pt2``): the model as an ExportedProgram, for deployment and AOT tools.

A ``.pt2`` holds the traced ATen graph and the weights, with a dynamic batch dimension;
ExecuTorch, AOTInductor and `torch.export.load` read it, no Python class needed. The
self-check loads the file back with `torch.export.load` and compares it with the compiled
model on batches of other sizes than the traced one.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import ExportError
from ..project import Project
from . import ExportResult
from .model import ExportModel, prepare_model
from .verify import (EXPORT_BATCH, batch_dims, block_failure, cannot_write, compare, first_line,
                     prepare_target, quiet, staged)

FORMAT = "pt2"


def export_pt2(project: Project, out: Path, weights: Path | None = None) -> ExportResult:
    """Write `project`'s model to `out` with `torch.export.save` and check the reloaded file.

    Raises:
        ExportError: the graph has errors, the weights do not fit, a block cannot be traced
            by torch.export (named), or the reloaded program does not reproduce the model.
    """
    model = prepare_model(project, weights, fmt=FORMAT)
    out = prepare_target(Path(out), FORMAT)
    with staged(out, FORMAT) as tmp:
        program = _export(model)
        try:
            buffer = io.BytesIO()  # saved by name, the archive's top folder would be tmp's
            with quiet():
                torch.export.save(program, buffer)
        except Exception as exc:  # noqa: BLE001 - e.g. a constant torch cannot serialise
            raise ExportError(f"the program cannot be saved: {first_line(exc)}",
                              fmt=FORMAT) from None
        try:
            tmp.write_bytes(buffer.getvalue())
        except OSError as exc:  # a full disk, a quota: the place, not the model
            raise cannot_write(exc, FORMAT, out) from None
        checks = compare(model, _runner(tmp), FORMAT, "the reloaded program")
    heads = model.output_ids()
    notes = [f"inputs: {', '.join(model.input_ids())} (batch dimension dynamic)"
             + (f"; returns a tuple: {', '.join(heads)} (one per head)" if heads else ""),
             "load with torch.export.load(path).module(); it may unpickle parts of a file, "
             "so load only .pt2 files you trust"]
    return ExportResult(FORMAT, [out], checks, notes)


def _export(model: ExportModel) -> torch.export.ExportedProgram:
    args = model.example_inputs(EXPORT_BATCH)
    try:
        with quiet():
            return torch.export.export(model.module, args, dynamic_shapes=batch_dims(args))
    except Exception as exc:  # noqa: BLE001 - torch.export raises many types
        raise block_failure(model, exc, FORMAT, "torch.export", _export_one) from None


def _export_one(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
    torch.export.export(module, args, dynamic_shapes=batch_dims(args))


def _runner(path: Path) -> Callable[[tuple[torch.Tensor, ...]], Any]:
    loaded: list[torch.nn.Module] = []

    def run(inputs: tuple[torch.Tensor, ...]) -> Any:
        if not loaded:
            with quiet():
                loaded.append(torch.export.load(str(path)).module())
        with torch.no_grad():
            return loaded[0](*inputs)

    return run
