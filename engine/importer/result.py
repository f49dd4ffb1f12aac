"""What an import did, for the person: the report lines the command line prints, and the same
as one JSON object."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project import Project

#: Outputs further apart than this mean the import does not reproduce the model.
TOLERANCE = 1e-4


@dataclass
class ImportResult:
    project: Project
    files: list[Path]
    #: nodes that are catalogue blocks (Inputs not counted)
    mapped: int
    code_nodes: list[str]
    #: nodes whose weights did not carry over and start fresh
    fresh: list[str]
    params_original: int
    params_imported: int
    outputs_identical: bool | None = None
    max_abs_diff: float | None = None
    #: why each Code node is code
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: graph problems left on the canvas (the person fixes them there)
    errors: list[str] = field(default_factory=list)
    mismatch: str | None = None

    @property
    def reproduces(self) -> bool:
        """The imported graph computes what the module computes (within `TOLERANCE`)."""
        return (self.mismatch is None and self.max_abs_diff is not None
                and self.max_abs_diff <= TOLERANCE)

    @property
    def ok(self) -> bool:
        return not self.errors and self.reproduces

    @property
    def outputs(self) -> list[str]:
        """The nodes the model ends in, in the order it returns them (its heads, for
        several)."""
        return list(self.project.heads) or self.project.graph.output_ids()

    @property
    def project_path(self) -> Path:
        """Where the project file was written."""
        assert self.project.path is not None
        return self.project.path

    def report_lines(self) -> list[str]:
        return self.lines()

    def lines(self) -> list[str]:
        nodes = len(self.project.graph)
        out = [f"imported {self.project.name}: {nodes} nodes, {self.mapped} mapped to blocks, "
               f"{len(self.code_nodes)} code node(s)"]
        out += [f"  code: {reason}" for reason in self.reasons]
        if not self.reasons:
            out += [f"  code: {node}" for node in self.code_nodes]
        same = "same" if self.params_original == self.params_imported else "DIFFERENT"
        out.append(f"parameters: {self.params_original:,} in the module, "
                   f"{self.params_imported:,} on the canvas ({same})")
        if self.fresh:
            out.append(f"weights: start fresh for {', '.join(self.fresh)}")
        elif self.project.weights:
            out.append(f"weights: all carried over ({self.project.weights})")
        if self.mismatch is not None:
            out.append(f"check: {self.mismatch}")
        elif self.max_abs_diff is not None:
            verdict = ("identical" if self.outputs_identical else
                       "close" if self.reproduces else "DIFFERENT")
            out.append(f"check: outputs {verdict} (max abs difference "
                       f"{self.max_abs_diff:.3g})")
        dataset = self.project.dataset
        out.append(f"dataset: {dataset['name']} (matches the input shape)" if dataset else
                   "dataset: not set (no built-in matches the input): choose one in the app")
        out += [f"note: {note}" for note in self.notes]
        out += [f"error: {err}" for err in self.errors]
        out += [f"wrote {path}" for path in self.files]
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "project": self.project.name,
                "files": [str(p) for p in self.files], "nodes": len(self.project.graph),
                "mapped": self.mapped, "code_nodes": self.code_nodes,
                "code_reasons": self.reasons, "fresh_weights": self.fresh,
                "params_original": self.params_original,
                "params_imported": self.params_imported,
                "outputs_identical": self.outputs_identical,
                "max_abs_diff": self.max_abs_diff, "mismatch": self.mismatch,
                "dataset": self.project.dataset, "outputs": self.outputs, "notes": self.notes,
                "errors": self.errors}
