"""A run's per-layer statistics over time (its ``stats.jsonl``), in the shapes people look at
them: the gradient norm of every layer in every epoch (vanishing or exploding gradients
read down a column), and one layer's weight or gradient histograms over the captures as
one image (a distribution that widens, collapses or drifts reads along a row).

`torchloom probe --stats` prints these; the Inspect panel's "Weights & gradients" view
draws them. Both read the file through here, so they always agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProbeError
from ..train.layer_stats import read_captures
from ..train.runfiles import STATS_FILE

#: Rows of a histogram image: the value bins shared by every capture.
IMAGE_BINS = 48


@dataclass
class StatsHistory:
    """The captures of one run, oldest first (each one line of stats.jsonl)."""

    captures: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, run_dir: Path) -> "StatsHistory":
        """A run folder's captures. Raises `ProbeError` naming the folder when it has none."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise ProbeError("no such run folder", path=str(run_dir))
        path = run_dir / STATS_FILE
        if not path.is_file():
            raise ProbeError(f"has no {STATS_FILE}: the run recorded no layer statistics "
                             "(trained with stats_every 0, or by an older Torchloom)",
                             path=str(run_dir))
        try:
            return cls(read_captures(path))
        except (OSError, UnicodeDecodeError) as exc:
            raise ProbeError(f"cannot be read ({exc})", path=str(path)) from None

    def add(self, capture: dict[str, Any]) -> None:
        self.captures.append(capture)

    def nodes(self) -> list[str]:
        """Every node with statistics, in the order the captures list them (graph order)."""
        seen: dict[str, None] = {}
        for capture in self.captures:
            for node in capture["nodes"]:
                seen.setdefault(node, None)
        return list(seen)

    def layers(self) -> list[str]:
        """The nodes that have parameters (those with weights and gradients)."""
        return [n for n in self.nodes() if any("weight" in c["nodes"].get(n, {})
                                                for c in self.captures)]

    def epochs(self) -> list[int]:
        return sorted({int(c["epoch"]) for c in self.captures})

    def params(self, node: str) -> int | None:
        for capture in reversed(self.captures):
            entry = capture["nodes"].get(node)
            if entry and "params" in entry:
                return int(entry["params"])
        return None

    def grad_norms(self) -> tuple[list[str], list[int], np.ndarray, np.ndarray]:
        """(layers, epochs, norms [layers, epochs], non-finite counts [layers, epochs]).
        A norm is the mean over the epoch's captures (NaN where the epoch has none, or no
        gradient); a count is the non-finite weights and gradients summed over them."""
        layers, epochs = self.layers(), self.epochs()
        col = {e: j for j, e in enumerate(epochs)}
        row = {n: i for i, n in enumerate(layers)}
        sums = np.zeros((len(layers), len(epochs)))
        seen = np.zeros((len(layers), len(epochs)))
        bad = np.zeros((len(layers), len(epochs)), dtype=np.int64)
        for capture in self.captures:
            j = col[int(capture["epoch"])]
            for node, entry in capture["nodes"].items():
                if node not in row:
                    continue
                i = row[node]
                bad[i, j] += int(entry.get("nonfinite", 0))
                grad = entry.get("grad")
                if grad and grad.get("norm") is not None:
                    sums[i, j] += float(grad["norm"])
                    seen[i, j] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            norms = np.where(seen > 0, sums / np.maximum(seen, 1), np.nan)
        return layers, epochs, norms, bad

    def histogram_image(self, node: str, kind: str = "weight"
                        ) -> tuple[list[int], np.ndarray, np.ndarray, list[int]]:
        """One node's histograms over time: (steps, value edges [IMAGE_BINS + 1], image
        [captures, IMAGE_BINS], non-finite counts per capture). Each capture's own bins are
        spread onto edges shared by all of them (each bin's count split by overlap, as if
        its values were even across it), and each row holds the share of that capture's
        values, so captures of any size compare. `kind` is "weight" or "grad"."""
        rows = [(int(c["step"]), c["nodes"][node][kind]) for c in self.captures
                if (c["nodes"].get(node) or {}).get(kind)]
        if not rows:
            return [], np.zeros(IMAGE_BINS + 1), np.zeros((0, IMAGE_BINS)), []
        lo = min(float(d["min"]) for _, d in rows)
        hi = max(float(d["max"]) for _, d in rows)
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            lo, hi = (lo - 0.5, lo + 0.5) if math.isfinite(lo) else (-0.5, 0.5)
        edges = np.linspace(lo, hi, IMAGE_BINS + 1)
        image = np.zeros((len(rows), IMAGE_BINS))
        for k, (_, d) in enumerate(rows):
            own = np.asarray(d["edges"], dtype=np.float64)
            counts = np.asarray(d["counts"], dtype=np.float64)
            total = counts.sum()
            if total <= 0 or own.size != counts.size + 1:
                continue
            cumulative = np.concatenate([[0.0], np.cumsum(counts)])
            image[k] = np.diff(np.interp(edges, own, cumulative)) / total
        return [s for s, _ in rows], edges, image, [int(d.get("nonfinite", 0)) for _, d in rows]

    def summary(self) -> dict[str, Any]:
        """What ``torchloom probe --stats --json`` prints (a public contract, docs/cli.md)."""
        layers, epochs, norms, bad = self.grad_norms()
        last = self.captures[-1] if self.captures else None
        out_nodes = []
        for node in self.nodes():
            item: dict[str, Any] = {"node": node, "params": self.params(node)}
            if node in layers:
                i = layers.index(node)
                item["grad_norm"] = [None if math.isnan(v) else float(v) for v in norms[i]]
                item["nonfinite"] = [int(v) for v in bad[i]]
                entry = (last or {}).get("nodes", {}).get(node) or {}
                item["weight_std"] = (entry.get("weight") or {}).get("std")
            dead = [c["nodes"][node]["dead_relu"] for c in self.captures
                    if "dead_relu" in (c["nodes"].get(node) or {})]
            if dead:
                item["dead_relu"] = dead[-1]
            out_nodes.append(item)
        return {"captures": len(self.captures),
                "steps": [int(c["step"]) for c in self.captures],
                "epochs": epochs, "nodes": out_nodes, "last": last}
