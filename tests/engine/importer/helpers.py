"""Shared helpers for the import tests: the sample user models and a reference copy of each."""

from __future__ import annotations

from pathlib import Path

import torch

from torchloom.engine.export.model import prepare_model
from torchloom.engine.importer import ImportResult, import_module
from torchloom.engine.importer.source import load_model
from torchloom.engine.project import load_project

MODELS = Path(__file__).resolve().parent / "models"


def source(name: str) -> str:
    """``models/<file>.py:<Class>`` for a ``file:Class`` name."""
    file, cls = name.split(":")
    return f"{MODELS / file}.py:{cls}"


def imported(tmp_path: Path, name: str, shape: list[int], dtype: str = "float32",
             kwargs: dict | None = None, seed: int = 0) -> tuple[ImportResult, torch.nn.Module]:
    """Import a sample model and build an identical reference instance of it.

    Both are constructed right after seeding the global RNG, so they hold the same weights:
    the reference is what the person's own code computes.
    """
    torch.manual_seed(seed)
    result = import_module(source(name), tmp_path / f"{name.split(':')[1].lower()}.json",
                           input_shapes=[shape], input_dtypes=[dtype], kwargs=kwargs)
    torch.manual_seed(seed)
    reference = load_model(source(name), kwargs).module
    return result, reference


def reloaded_model(result: ImportResult) -> torch.nn.Module:
    """The project as written to disk, compiled, with its initial weights loaded."""
    project = load_project(result.project.path)
    return prepare_model(project).module


def batch(shape: list[int], dtype: str = "float32", n: int = 4, high: int = 16,
          seed: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if dtype == "int64":
        return torch.randint(0, high, (n, *shape), generator=gen)
    return torch.randn((n, *shape), generator=gen)


def outputs(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


def seeded_outputs(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """Every tensor the model returns (one, a tuple's, a dict's values in key order), run
    in eval mode right after seeding the global RNG: a model that samples (a VAE's
    ``randn_like``) draws the same noise in the source and in the import."""
    model.eval()
    torch.manual_seed(1234)
    with torch.no_grad():
        out = model(x)
    items = list(out.values()) if isinstance(out, dict) else (
        list(out) if isinstance(out, (tuple, list)) else [out])
    return [t for t in items if t is not None]


def types(result: ImportResult) -> list[tuple[str, str]]:
    return [(n.id, n.type) for n in result.project.graph.nodes]


def write_model(folder: Path, body: str, name: str = "user_model.py") -> Path:
    """A person's model file: torch imports, then `body`."""
    path = folder / name
    path.write_text("import torch\nfrom torch import nn\nimport torch.nn.functional as F\n\n\n"
                    + body)
    return path


def import_text(tmp_path: Path, body: str, cls: str, shape: list[int], dtype: str = "float32",
                seed: int = 0) -> tuple[ImportResult, torch.nn.Module]:
    """Import a class written in `body`; also return a reference instance (same weights)."""
    path = write_model(tmp_path, body)
    torch.manual_seed(seed)
    result = import_module(f"{path}:{cls}", tmp_path / "imported.json", input_shapes=[shape],
                           input_dtypes=[dtype])
    torch.manual_seed(seed)
    return result, load_model(f"{path}:{cls}").module
