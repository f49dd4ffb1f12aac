"""A tiny GAN on a tiny .npz dataset: trains in well under a second, for the tests that
need a run folder but not digits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir

GAN_EXAMPLE = examples_dir() / "gan_mnist.json"


def chain_graph(shape: list[int], *layers: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    nodes = [{"id": "in", "type": "Input", "params": {"shape": shape}}]
    edges, prev = [], "in"
    for node_id, type_name, params in layers:
        nodes.append({"id": node_id, "type": type_name, "params": params})
        edges.append({"from": prev, "to": node_id})
        prev = node_id
    return {"nodes": nodes, "edges": edges}


def tiny_gan(folder: Path, n: int = 96, high: float = 255.0, **training: Any) -> Path:
    """A GAN project on `n` 1x4x4 "images" with values in [0, high] (no declared range, so
    it is measured), latent 8, and its data file, in `folder`. Returns the project path."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    x = (rng.random((n, 1, 4, 4)) * high).astype(np.float32)
    x[:, 0, 0, 0], x[0, 0, 1, 1] = 0.0, high
    np.savez(folder / "data.npz", x=x, y=np.zeros(n, dtype=np.int64))
    generator = chain_graph([8], ("g1", "Linear", {"out_features": 16}),
                            ("ga", "LeakyReLU", {"negative_slope": 0.2}),
                            ("g2", "Linear", {"out_features": 16}), ("gt", "Tanh", {}),
                            ("img", "Unflatten", {"dim": 1, "unflattened_size": [1, 4, 4]}))
    discriminator = chain_graph([1, 4, 4], ("flat", "Flatten", {}),
                                ("d1", "Linear", {"out_features": 16}),
                                ("da", "LeakyReLU", {"negative_slope": 0.2}),
                                ("logit", "Linear", {"out_features": 1}))
    settings = {"epochs": 2, "batch_size": 16, "lr": 0.001, "seed": 3, "device": "cpu",
                **training}
    data = {"format": "torchloom-project", "version": 1, "name": "tiny gan", "task": "gan",
            "generator": generator, "discriminator": discriminator,
            "dataset": {"path": "data.npz"}, "training": settings}
    path = folder / "tiny_gan.json"
    path.write_text(json.dumps(data))
    return path


def example_copy(folder: Path, edit: Any = None) -> Path:
    """gan_mnist.json copied into `folder` (runs go next to it), optionally edited."""
    folder.mkdir(parents=True, exist_ok=True)
    data = json.loads(GAN_EXAMPLE.read_text())
    if edit is not None:
        edit(data)
    path = folder / "gan_mnist.json"
    path.write_text(json.dumps(data))
    return path


def load(path: Path):
    return load_project(path)


def set_param(data: dict[str, Any], graph: str, node: str, **params: Any) -> None:
    for item in data[graph]["nodes"]:
        if item["id"] == node:
            item.setdefault("params", {}).update(params)
            return
    raise KeyError(node)
