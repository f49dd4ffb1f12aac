"""Export: the project's model as files other tools read, each verified after writing.

    python       a standalone .py (torch only) with a Model class and build()
    onnx         one .onnx file, checked with ONNX Runtime
    pt2          a torch.export ExportedProgram, checked by reloading it
    safetensors  the weights keyed by node id, plus the graph as a JSON project
    torchrun     a folder with a DistributedDataParallel training script

`export_project` is the one entry point (the command line and the GUI both call it). The
formats load lazily, so importing this package does not import onnx or the exporters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..project import Project

FORMATS = ("python", "onnx", "pt2", "safetensors", "torchrun")


@dataclass
class ExportResult:
    """What an export wrote and how it proved the files reproduce the model.

    `checks` holds the verification's numbers (``max_abs_diff``, ``batch_sizes``,
    ``outputs_identical``, ``tensors_equal``...); `notes` are lines for the person (where
    the weights came from, what a loader needs to know).
    """

    format: str
    files: list[Path]
    checks: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"format": self.format, "files": [str(f) for f in self.files],
                "checks": self.checks, "notes": list(self.notes)}


def export_project(project: Project, fmt: str, out: Path, *, weights: Path | None = None
                   ) -> ExportResult:
    """Export `project` as `fmt` to `out` (a file; a folder for torchrun) and verify it.

    Args:
        weights: a run folder or a .safetensors file; default the project's initial
            weights, else a fresh seeded initialisation.

    Raises:
        ExportError: an unknown format, a graph with errors, weights that do not fit, a
            block the format cannot express (named), or an export that does not
            reproduce the model.
    """
    out = Path(out)
    weights = Path(weights) if weights is not None else None
    if project.is_gan and fmt in FORMATS:  # two networks: python writes both, see gan.export
        from ..gan.export import export_gan

        return export_gan(project, fmt, out, weights)
    if fmt == "python":
        from .python_code import export_python

        return export_python(project, out, weights)
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
    raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "ExportResult", "export_project"]
