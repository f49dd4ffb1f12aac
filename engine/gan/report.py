"""`torchloom summary` for a GAN project: both graphs, their totals and every problem.

A one-graph task's output is `summary.Summary.to_json` and `format_table`; a GAN's JSON
wraps one such object per graph under ``"graphs"`` (see docs/cli.md). ``"recipe": "gan"``
stays beside ``"task"`` for scripts written before tasks.
"""

from __future__ import annotations

from typing import Any

from ..project import Project
from ..summary import Summary, shape_json, summarize, table_lines
from .checks import GanAnalysis, analyze_gan


def gan_summaries(project: Project, checked: GanAnalysis | None = None
                  ) -> tuple[GanAnalysis, dict[str, Summary]]:
    """The GAN checks (`checked`: the task's, with the project file's own keys checked
    too) and one `Summary` per graph (generator first)."""
    checked = checked if checked is not None else analyze_gan(project)
    graphs = project.graphs()
    return checked, {key: summarize(graphs[key], key, analysis)
                     for key, analysis in checked.analyses.items()}


def gan_summary_json(project: Project, checked: GanAnalysis | None = None) -> dict[str, Any]:
    checked, summaries = gan_summaries(project, checked)
    graphs = {}
    for key, summary in summaries.items():
        body = summary.to_json()
        body.pop("name", None)
        graphs[key] = body
    return {
        "name": project.name,
        "task": "gan",
        "recipe": "gan",
        "total_params": sum(s.analysis.total_params for s in summaries.values()),
        "trainable_params": sum(s.analysis.trainable_params for s in summaries.values()),
        "latent_shape": shape_json(checked.latent_shape),
        "sample_shape": shape_json(checked.sample_shape),
        "graphs": graphs,
        "errors": [e.to_dict() for e in checked.errors],
        "warnings": [w.to_dict() for w in checked.warnings],
    }


def gan_summary_lines(project: Project, path: str, checked: GanAnalysis | None = None
                      ) -> tuple[GanAnalysis, list[str]]:
    """The text `torchloom summary` prints, and the checks (whose errors it prints after)."""
    checked, summaries = gan_summaries(project, checked)
    lines = [f"{project.name}  ({path})  ·  task gan"]
    latent = _shape(checked.latent_shape)
    sample = _shape(checked.sample_shape)
    lines.append(f"recipe gan: latent {latent} -> generator -> sample {sample} -> "
                 "discriminator -> [N, 1] logit")
    for key, summary in summaries.items():
        lines += ["", key, *table_lines(summary)]
    total = sum(s.analysis.total_params for s in summaries.values())
    lines += ["", f"total params {total:,} (generator "
              f"{summaries['generator'].analysis.total_params:,}, discriminator "
              f"{summaries['discriminator'].analysis.total_params:,})"]
    lines += [f"warning: {problem.describe()}" for problem in checked.warnings]
    return checked, lines


def _shape(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "[" + ", ".join(["N", *map(str, shape)]) + "]"
