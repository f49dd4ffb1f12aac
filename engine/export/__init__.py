"""Export: the project's model as files other tools read, each verified after writing.

    python       a standalone .py (torch only) with a Model class and build()
    onnx         one .onnx file, checked with ONNX Runtime
    pt2          a torch.export ExportedProgram, checked by reloading it
    safetensors  the weights keyed by node id, plus the graph as a JSON project
    torchrun     a folder with a DistributedDataParallel training script

`export_project` is the one entry point (the command line and the GUI both call it): it asks
the project's task what export means for it (a GAN writes both networks as python and refuses
the one-model formats; the one-graph tasks take every format, `formats.export_graph_project`).
The formats load lazily, so importing this package does not import onnx or the exporters.
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
    from ..tasks import task_for

    out = Path(out)
    weights = Path(weights) if weights is not None else None
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return task_for(project).export(project, fmt, out, weights)


__all__ = ["FORMATS", "ExportResult", "export_project"]
