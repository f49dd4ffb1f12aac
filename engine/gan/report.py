"""`torchloom summary` for a GAN project: both graphs, their totals and every problem.

The classifier's output (`summary.Summary.to_json`, `format_table`) is left exactly as it is;
a GAN's JSON wraps one such object per graph under ``"graphs"`` (see docs/cli.md).
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from ..project import Project
from ..summary import Summary, format_table, shape_json, summarize
from .checks import GanAnalysis, analyze_gan

EXIT_OK, EXIT_GRAPH = 0, 1


def gan_summaries(project: Project) -> tuple[GanAnalysis, dict[str, Summary]]:
    """The GAN checks and one `Summary` per graph (generator first)."""
    checked = analyze_gan(project)
    graphs = project.graphs()
    return checked, {key: summarize(graphs[key], key, analysis)
                     for key, analysis in checked.analyses.items()}


def gan_summary_json(project: Project) -> dict[str, Any]:
    checked, summaries = gan_summaries(project)
    graphs = {}
    for key, summary in summaries.items():
        body = summary.to_json()
        body.pop("name", None)
        graphs[key] = body
    return {
        "name": project.name,
        "recipe": "gan",
        "total_params": sum(s.analysis.total_params for s in summaries.values()),
        "trainable_params": sum(s.analysis.trainable_params for s in summaries.values()),
        "latent_shape": shape_json(checked.latent_shape),
        "sample_shape": shape_json(checked.sample_shape),
        "graphs": graphs,
        "errors": [e.to_dict() for e in checked.errors],
        "warnings": [w.to_dict() for w in checked.warnings],
    }


def gan_summary(project: Project, path: str, as_json: bool,
                out: Callable[..., None]) -> int:
    """Print the summary; returns the exit code (1 when either graph has errors)."""
    checked, summaries = gan_summaries(project)
    if as_json:
        out(json.dumps(gan_summary_json(project), ensure_ascii=False))
    else:
        out(f"{project.name}  ({path})")
        latent = _shape(checked.latent_shape)
        sample = _shape(checked.sample_shape)
        out(f"recipe gan: latent {latent} -> generator -> sample {sample} -> discriminator -> "
            "[N, 1] logit")
        for key, summary in summaries.items():
            out()
            out(key)
            out(format_table(summary))
        out()
        total = sum(s.analysis.total_params for s in summaries.values())
        out(f"total params {total:,} (generator "
            f"{summaries['generator'].analysis.total_params:,}, discriminator "
            f"{summaries['discriminator'].analysis.total_params:,})")
        for problem in checked.warnings:
            out(f"warning: {problem.describe()}")
    for problem in checked.errors:
        out(problem.describe(), sys.stderr if as_json else sys.stdout)
    return EXIT_GRAPH if checked.errors else EXIT_OK


def _shape(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "[" + ", ".join(["N", *map(str, shape)]) + "]"
