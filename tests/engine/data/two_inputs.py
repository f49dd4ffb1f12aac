"""A generated two-input dataset and the project that reads it, shared by the tests.

Each sample is an image [1, 8, 8] showing one of K shapes (a horizontal bar, a vertical bar,
a diagonal) in noise, and a vector [K] holding a number 0..K-1 as a noisy one-hot. Its class
is (shape + number) mod K: the shape and the number are drawn independently, so either one
alone says nothing about the class (chance is 1/K) and a model must read both Inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project

K = 3


def two_input_arrays(n: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    shape, number = rng.integers(0, K, n), rng.integers(0, K, n)
    img = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    rows = np.arange(8)
    for i in range(n):
        if shape[i] == 0:
            img[i, 0, 3:5, :] += 1
        elif shape[i] == 1:
            img[i, 0, :, 3:5] += 1
        else:
            img[i, 0, rows, rows] += 1
    meta = (np.eye(K)[number] + rng.normal(0, 0.1, (n, K))).astype(np.float32)
    return {"img": img, "meta": meta, "y": ((shape + number) % K).astype(np.int64),
            "shape": shape, "number": number}


def write_two_inputs(folder: Path, name: str = "two.npz", drop: tuple[str, ...] = (),
                     n: int = 600, seed: int = 0) -> Path:
    """The dataset as an NPZ with arrays img, meta and y (less those in `drop`)."""
    arrays = two_input_arrays(n, seed)
    path = folder / name
    np.savez(path, **{k: v for k, v in arrays.items()
                      if k in ("img", "meta", "y") and k not in drop})
    return path


def two_input_graph(img_shape: list[int] | None = None) -> Graph:
    """Input img -> Flatten, Input meta; Concat -> Linear 64 -> ReLU -> Linear K."""
    g = Graph()
    g.add_node("Input", {"shape": img_shape or [1, 8, 8]}, "img")
    g.add_node("Input", {"shape": [K]}, "meta")
    g.add_node("Flatten", {}, "flat")
    g.connect("img", "flat")
    g.add_node("Concat", {"dim": 0}, "cat")
    g.connect("flat", "cat")
    g.connect("meta", "cat")
    g.add_node("Linear", {"out_features": 64}, "fc1")
    g.connect("cat", "fc1")
    g.add_node("ReLU", {}, "relu")
    g.connect("fc1", "relu")
    g.add_node("Linear", {"out_features": K}, "fc2")
    g.connect("relu", "fc2")
    return g


TRAINING = {"epochs": 12, "batch_size": 32, "seed": 0, "lr": 0.003, "val_split": 0.2}


def two_input_project(folder: Path, data: str = "two.npz", graph: Graph | None = None,
                      **training) -> Project:
    """The two-input classifier reading `data`, saved as two.json in `folder`."""
    project = Project(graph or two_input_graph(), name="two", dataset={"path": data},
                      training={**TRAINING, **training})
    save_project(project, folder / "two.json")
    return project
