"""A project's summary as a value: what `torchloom summary` prints, for a notebook cell.

The numbers are `torchloom summary --json`'s (the task builds them, `engine.summary`
counts them), the text is its table, so the notebook, the command line and the GUI agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..project import Project


@dataclass(frozen=True)
class ProjectSummary:
    """`nodes` are the ``--json`` rows (id, type, output_shape as ``["N", ...]``, dtype,
    params, flops); for a GAN they carry a ``graph`` key too. `errors` and `warnings` are
    one line each, as the command line prints them. `json` is the whole ``--json`` object."""

    name: str
    task: str
    total_params: int
    trainable_params: int
    flops: int | None
    output_shape: list[Any] | None
    nodes: list[dict[str, Any]]
    errors: list[str]
    warnings: list[str]
    json: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)

    @property
    def ok(self) -> bool:
        """Whether the project has no errors (it compiles and can train)."""
        return not self.errors

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        shape = "?" if self.output_shape is None else \
            "[" + ", ".join(map(str, self.output_shape)) + "]"
        problems = f", {len(self.errors)} error(s)" if self.errors else ""
        return (f"ProjectSummary({self.name!r}, task {self.task}, {len(self.nodes)} nodes, "
                f"{self.total_params:,} params, output {shape}{problems})")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """A notebook cell shows the table, as `torchloom summary` prints it."""
        printer.text(self.text)


def summarize_project(project: Project) -> ProjectSummary:
    from ..cli.output import one_line
    from ..tasks import task_for

    task = task_for(project)
    data = task.summary_json(project)
    analysis, lines = task.summary_lines(project, str(project.path or "not saved"))
    errors = [problem.describe() for problem in analysis.errors]
    graphs = data.get("graphs") or {}
    nodes = list(data.get("nodes") or [])
    for key, part in graphs.items():  # a project of several graphs (a GAN's two)
        nodes += [{**row, "graph": key} for row in part.get("nodes", [])]
    flops = data.get("flops")
    if flops is None and graphs:
        flops = sum(int(part.get("flops") or 0) for part in graphs.values())
    return ProjectSummary(
        name=project.name, task=project.task, total_params=int(data.get("total_params", 0)),
        trainable_params=int(data.get("trainable_params", 0)), flops=flops,
        output_shape=data.get("output_shape", data.get("sample_shape")), nodes=nodes,
        errors=errors, warnings=[problem.describe() for problem in analysis.warnings],
        # the table as `torchloom summary` prints it: ids escaped, one row a line
        json=data, text="\n".join(one_line(line) for line in [*lines, *errors]))
