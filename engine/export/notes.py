"""Notes an export adds about the weights it carries: what a person loading the file must
know that the file itself cannot say. The command line and the Python API add the same."""

from __future__ import annotations

import json
from pathlib import Path

from . import ExportResult


def add_run_notes(result: ExportResult, weights: Path | None) -> None:
    """A model file exported from a run expects its inputs as training fed them."""
    if result.format in ("python", "onnx", "pt2") and weights is not None:
        result.notes.extend(normalization_note(Path(weights)))


def normalization_note(run_dir: Path) -> list[str]:
    """Training fed the model normalised inputs; an exported model expects them too."""
    from ..safe_read import read_limited
    from ..train.runfiles import MAX_RECORD_BYTES, RUN_FILE

    try:
        info = json.loads(read_limited(run_dir / RUN_FILE, MAX_RECORD_BYTES))
        norm = info["data"]["normalization"]
        mean, std = list(norm["mean"]), list(norm["std"])
    except (OSError, ValueError, KeyError, TypeError):  # no run.json, or no normalisation
        return []
    per = "channel" if len(norm.get("shape") or []) == 3 else "feature"
    return [f"the model was trained on normalised inputs: feed it (x - mean) / std, per "
            f"{per}, with mean {_few(mean)} and std {_few(std)} (all values: "
            f"{run_dir / RUN_FILE}, data.normalization)"]


def _few(values: list[float]) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:4])
    return f"[{shown}{', ...' if len(values) > 4 else ''}]"
