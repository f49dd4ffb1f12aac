"""Run history: the run folders of a project, their metrics, and how their graphs differ.

A run folder is self-describing (see `checkpoint`): run.json says how it went, metrics.csv
holds its curves, project.json the graph it trained. Nothing here needs torch.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..graph import Graph
from ..project import MAX_FILE_BYTES, Project, loads_project
from ..safe_read import read_limited
from . import runfiles as ckpt


@dataclass
class RunRecord:
    path: Path
    info: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, float | None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        return str(self.info.get("status", "unknown"))

    @property
    def final_val_acc(self) -> float | None:
        for row in reversed(self.metrics):
            if row.get("val_acc") is not None:
                return row["val_acc"]
        return None

    def label(self) -> str:
        acc = self.final_val_acc
        epochs = len(self.metrics)
        text = f"{self.name}  ·  {self.status}  ·  {epochs} epoch{'s' * (epochs != 1)}"
        return text + (f"  ·  val acc {acc:.3f}" if acc is not None else "")

    def project(self) -> Project | None:
        path = self.path / ckpt.PROJECT_FILE
        try:
            return loads_project(read_limited(path, MAX_FILE_BYTES), path=str(path))
        except Exception:  # noqa: BLE001 - a damaged old run is skipped, not fatal
            return None


def read_metrics(run_dir: Path) -> list[dict[str, float | None]]:
    path = run_dir / ckpt.METRICS_FILE
    rows: list[dict[str, float | None]] = []
    try:
        with path.open(newline="") as handle:
            for raw in csv.DictReader(handle):
                rows.append({k: (float(v) if v not in ("", None) else None)
                             for k, v in raw.items() if k})
    except (OSError, ValueError):
        return []
    return rows


def list_runs(runs_dir: Path) -> list[RunRecord]:
    """Every run folder under `runs_dir`, oldest first."""
    if not runs_dir.is_dir():
        return []
    records = []
    for path in sorted(p for p in runs_dir.iterdir() if (p / ckpt.PROJECT_FILE).exists()):
        try:
            info = json.loads(read_limited(path / ckpt.RUN_FILE, ckpt.MAX_RECORD_BYTES))
        except (OSError, ValueError):
            info = {}
        records.append(RunRecord(path, info, read_metrics(path)))
    return records


def graph_diff(a: Graph, b: Graph) -> list[str]:
    """What changed from graph `a` to graph `b`, one line per node, in words."""
    lines: list[str] = []
    ids_a, ids_b = {n.id for n in a.nodes}, {n.id for n in b.nodes}
    for node in b.nodes:
        if node.id not in ids_a:
            lines.append(f"added {node.id} ({node.type})")
    for node in a.nodes:
        if node.id not in ids_b:
            lines.append(f"removed {node.id} ({node.type})")
    for node in b.nodes:
        if node.id not in ids_a:
            continue
        old = a.node(node.id)
        if old.type != node.type:
            lines.append(f"{node.id}: {old.type} -> {node.type}")
            continue
        before, after = old.resolved_params(), node.resolved_params()
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                lines.append(f"{node.id}.{key}: {_show(before.get(key))} -> "
                             f"{_show(after.get(key))}")
    wires_a = {(e.src, e.from_port, e.dst, a.port_of(e)) for e in a.edges}
    wires_b = {(e.src, e.from_port, e.dst, b.port_of(e)) for e in b.edges}
    for src, _out, dst, _port in sorted(wires_b - wires_a, key=repr):
        if src in ids_a and dst in ids_a:
            lines.append(f"wired {src} -> {dst}")
    for src, _out, dst, _port in sorted(wires_a - wires_b, key=repr):
        if src in ids_b and dst in ids_b:
            lines.append(f"unwired {src} -> {dst}")
    return lines


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value)
