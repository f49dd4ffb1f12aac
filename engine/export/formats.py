"""The one-graph exporters by format name: what `Task.export` calls for a task with one
network. Each loads lazily, so naming a format does not import onnx or torch.export."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..project import Project

if TYPE_CHECKING:
    from . import ExportResult


def export_graph_project(project: Project, fmt: str, out: Path, weights: Path | None,
                         note: str | None = None) -> "ExportResult":
    """Export the project's one graph as `fmt`; `note` (what the model was trained for, as
    its task words it) goes into the python file's docstring."""
    if fmt == "python":
        from .python_code import export_python

        return export_python(project, out, weights, note=note)
    if fmt == "onnx":
        from .onnx_export import export_onnx

        return export_onnx(project, out, weights)
    if fmt == "pt2":
        from .pt2_export import export_pt2

        return export_pt2(project, out, weights)
    if fmt == "safetensors":
        from .safetensors_export import export_safetensors

        return export_safetensors(project, out, weights)
    if fmt == "torchrun":
        from .torchrun_export import export_torchrun

        return export_torchrun(project, out, weights)
    raise ExportError(f"unknown format {fmt!r}", fmt=fmt)
