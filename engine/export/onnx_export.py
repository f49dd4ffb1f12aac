"""ONNX export: one self-contained ``.onnx`` file, checked with ONNX Runtime.

ONNX is what most serving stacks, mobile runtimes and other frameworks read. The file is
made by torch's dynamo exporter with the weights inside (no external data files), one
input per Input block (named by its node id) with a dynamic batch dimension, and one
output named ``output``. It is then loaded in ONNX Runtime and run on batches of other
sizes than the traced one; more than `TOLERANCE` away from PyTorch fails the export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import ExportError
from ..project import Project
from . import ExportResult
from .model import ExportModel, prepare_model
from .verify import (EXPORT_BATCH, batch_dims, block_failure, cannot_write, compare, first_line,
                     prepare_target, quiet, staged)

FORMAT = "onnx"
OUTPUT_NAME = "output"


def export_onnx(project: Project, out: Path, weights: Path | None = None) -> ExportResult:
    """Write `project`'s model to `out` as ONNX and check it against PyTorch.

    Raises:
        ExportError: the graph has errors, the weights do not fit, a block has no ONNX
            form (named), or ONNX Runtime does not reproduce the model.
    """
    model = prepare_model(project, weights, fmt=FORMAT)
    out = prepare_target(Path(out), FORMAT)
    with staged(out, FORMAT) as tmp:
        opset = _export(model, tmp, out)
        checks = compare(model, _runner(tmp, model.input_ids()), FORMAT, "ONNX Runtime")
    checks["opset"] = opset
    outputs = model.output_ids()
    notes = [f"inputs: {', '.join(model.input_ids())} (batch dimension dynamic); "
             + (f"outputs: {', '.join(outputs)} (one per head, in this order)" if outputs
                else f"output: {OUTPUT_NAME}")]
    return ExportResult(FORMAT, [out], checks, notes)


def _export(model: ExportModel, path: Path, out: Path) -> int | None:
    args = model.example_inputs(EXPORT_BATCH)
    try:
        with quiet():
            program = torch.onnx.export(
                model.module, args, None, dynamo=True, external_data=False,
                dynamic_shapes=batch_dims(args), input_names=model.input_ids(),
                output_names=model.output_ids() or [OUTPUT_NAME], verbose=False)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types
        raise block_failure(model, exc, FORMAT, "ONNX", _export_one) from None
    assert program is not None
    try:
        with quiet():
            program.save(str(path), external_data=False)
    except OSError as exc:  # a full disk, a quota: the place, not the model
        raise cannot_write(exc, FORMAT, out) from None
    except Exception as exc:  # noqa: BLE001 - e.g. a model past protobuf's 2 GB limit
        raise ExportError(f"the ONNX file cannot be written: {first_line(exc)}",
                          fmt=FORMAT) from None
    opsets = getattr(program.model, "opset_imports", None) or {}
    return opsets.get("") if isinstance(opsets, dict) else None


def _export_one(module: torch.nn.Module, args: tuple[Any, ...]) -> None:
    """Export one block alone, in memory: the probe `block_failure` uses to name it."""
    torch.onnx.export(module, args, None, dynamo=True, external_data=False,
                      dynamic_shapes=batch_dims(args), verbose=False)


def _runner(path: Path, input_names: list[str]) -> Callable[[tuple[torch.Tensor, ...]], Any]:
    """Run the file in ONNX Runtime, feeding inputs by name (the session opens on first use,
    so a file it cannot load fails inside the check, with the check's message)."""
    session: list[Any] = []

    def run(inputs: tuple[torch.Tensor, ...]) -> Any:
        if not session:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3  # errors only
            session.append(ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"]))
        wanted = {i.name for i in session[0].get_inputs()}
        feed = {name: tensor.numpy() for name, tensor in zip(input_names, inputs)
                if name in wanted}
        outs = [torch.from_numpy(v) for v in session[0].run(None, feed)]
        return outs[0] if len(outs) == 1 else tuple(outs)

    return run
