"""Hyperparameter sweeps with Optuna: what to vary (`space`) and the study loop (`run`).

Optuna is imported when a sweep runs, not when this package is, so the command line's
parser and the GUI start without it.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_WHERE = {
    "SweepParam": "space", "parse_param": "space", "parse_space": "space",
    "apply_values": "space", "run_sweep": "run", "SweepControl": "run",
    "SweepResult": "run", "TrialRecord": "run", "study_path": "run",
    "choose_metric": "run",
}

__all__ = sorted(_WHERE)

__getattr__ = lazy_exports(__name__, _WHERE)
