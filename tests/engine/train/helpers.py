"""Small projects and callbacks for the training tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project
from torchloom.engine.train import Callback


def mlp_project(tmp_path: Path, dropout: float = 0.2, epochs: int = 2, **training) -> Project:
    """An MLP with dropout on the digits, saved in tmp_path (so runs/ lands there)."""
    g = Graph()
    g.add_node("Input", {"shape": [1, 8, 8]}, "x")
    prev = "x"
    for node_id, type_name, params in (("flat", "Flatten", {}),
                                       ("fc1", "Linear", {"out_features": 32}),
                                       ("relu", "ReLU", {}), ("drop", "Dropout", {"p": dropout}),
                                       ("fc2", "Linear", {"out_features": 10})):
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    project = Project(g, name="mlp", dataset={"name": "digits"},
                      training={"epochs": epochs, "batch_size": 32, "seed": 3, **training})
    save_project(project, tmp_path / "mlp.json")
    return project


def regression_project(tmp_path: Path, **training) -> Project:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0])).astype(np.float32)
    np.savez(tmp_path / "reg.npz", x=x, y=y)
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 1}, "fc")
    g.connect("x", "fc")
    project = Project(g, name="reg", dataset={"path": "reg.npz"}, task="regress",
                      training={"loss": "mse", "epochs": 3, "batch_size": 16} | training)
    save_project(project, tmp_path / "reg.json")
    return project


class Recorder(Callback):
    def __init__(self, stop_at: int | None = None) -> None:
        self.events: list[tuple[str, object]] = []
        self.stop_at = stop_at
        self.trainer = None

    def on_train_begin(self, info):
        self.events.append(("begin", info))

    def on_batch_end(self, report):
        self.events.append(("batch", report))
        if self.stop_at is not None and report.step >= self.stop_at and self.trainer:
            self.trainer.stop()

    def on_epoch_end(self, report):
        self.events.append(("epoch", report))

    def on_finished(self, result):
        self.events.append(("finished", result))

    def on_failed(self, error):
        self.events.append(("failed", error))

    def kinds(self):
        return [kind for kind, _ in self.events]

    def of(self, kind):
        return [value for k, value in self.events if k == kind]
