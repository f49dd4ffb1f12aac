"""Small graph and file builders shared by the engine tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torchloom.engine.graph import Graph


def chain(*specs: tuple[str, str, dict[str, Any]] | tuple[str, str],
          shape: list[int] | None = None, dtype: str = "float32") -> Graph:
    """An Input named ``x`` followed by a straight chain of (id, type[, params])."""
    g = Graph()
    g.add_node("Input", {"shape": shape or [1, 28, 28], "dtype": dtype}, "x")
    prev = "x"
    for spec in specs:
        node_id, type_name, *rest = spec
        g.add_node(type_name, rest[0] if rest else {}, node_id)
        g.connect(prev, node_id)
        prev = node_id
    return g


def project_text(nodes: list[dict], edges: list[dict], **top: Any) -> str:
    data = {"format": "torchloom-project", "version": 1, "name": "t",
            "graph": {"nodes": nodes, "edges": edges}, **top}
    return json.dumps(data)


def write_project(tmp_path: Path, filename: str, nodes: list[dict], edges: list[dict],
                  **top: Any) -> Path:
    path = tmp_path / filename
    path.write_text(project_text(nodes, edges, **top))
    return path


def edge(src: str, dst: str, port: str | None = None) -> dict[str, str]:
    out = {"from": src, "to": dst}
    if port:
        out["to_port"] = port
    return out


def pets_with_broken_images(tmp_path: Path) -> Path:
    """A tiny image-folder project (two classes of 8x8 pictures) with three files that are
    not readable images: cat/empty.png, cat/text.png, dog/cut.png."""
    from PIL import Image

    root = tmp_path / "pets"
    for k, name in enumerate(("cat", "dog")):
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.new("RGB", (8, 8), (k * 200, i * 50, 90)).save(root / name / f"{i}.png")
    (root / "dog" / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(12))
    (root / "cat" / "empty.png").write_bytes(b"")
    (root / "cat" / "text.png").write_text("not a picture")
    return write_project(
        tmp_path, "pets.json",
        [{"id": "x", "type": "Input", "params": {"shape": [3, 8, 8]}},
         {"id": "flat", "type": "Flatten", "params": {}},
         {"id": "fc", "type": "Linear", "params": {"out_features": 2}}],
        [edge("x", "flat"), edge("flat", "fc")],
        dataset={"path": "pets", "image_size": [8, 8]},
        training={"epochs": 1, "batch_size": 4, "val_split": 0.25, "device": "cpu"})
