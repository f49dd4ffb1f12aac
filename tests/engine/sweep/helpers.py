"""A classifier small enough that a sweep of several trials trains in seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project


def tiny_project(tmp_path: Path, epochs: int = 2, **training) -> Project:
    """Three classes of 4-number samples that a small MLP separates in a few epochs at a
    good learning rate (and not at all at a hopeless one), saved as tmp_path/tiny.json."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype(np.float32)
    y = (x @ rng.normal(size=(4, 3))).argmax(axis=1).astype(np.int64)
    np.savez(tmp_path / "tiny.npz", x=x, y=y)
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 16}, "fc1")
    g.add_node("ReLU", {}, "relu")
    g.add_node("Dropout", {"p": 0.1}, "drop")
    g.add_node("Linear", {"out_features": 3}, "fc2")
    for a, b in (("x", "fc1"), ("fc1", "relu"), ("relu", "drop"), ("drop", "fc2")):
        g.connect(a, b)
    project = Project(g, name="tiny", dataset={"path": "tiny.npz"},
                      training={"epochs": epochs, "batch_size": 32, "seed": 1,
                                "device": "cpu", **training})
    save_project(project, tmp_path / "tiny.json")
    return project
