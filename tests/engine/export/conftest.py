"""Shared fixtures for the export tests: the example projects and their reference models,
loaded once per session, and run folders with weights a test can recognise."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch

from torchloom.engine.export.model import ExportModel, prepare_model
from torchloom.engine.project import Project, load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.train.checkpoint import MODEL_FILE, save_project_copy, save_weights

from ..example_exports import ONE_MODEL_EXAMPLES

#: The one-model examples: every format exports them. A GAN project has two networks and
#: only the python export writes it (tests/engine/gan/test_gan_export.py).
EXAMPLES = ONE_MODEL_EXAMPLES


class Examples:
    """Example projects and their compiled reference models, each made once.

    Exports only read them, so one copy serves every test."""

    def __init__(self) -> None:
        self._projects: dict[str, Project] = {}
        self._models: dict[str, ExportModel] = {}

    def project(self, name: str) -> Project:
        if name not in self._projects:
            self._projects[name] = load_project(examples_dir() / f"{name}.json")
        return self._projects[name]

    def model(self, name: str) -> ExportModel:
        """The compiled model with the weights an export of the project carries."""
        if name not in self._models:
            self._models[name] = prepare_model(self.project(name))
        return self._models[name]


@pytest.fixture(scope="session")
def examples() -> Examples:
    return Examples()


@pytest.fixture
def make_run() -> Callable[[Project, Path], Path]:
    """A run folder as training leaves it (model.safetensors + project.json), with weights
    moved away from the fresh initialisation so that exporting them is visible."""

    def make(project: Project, folder: Path) -> Path:
        model = prepare_model(project)
        gen = torch.Generator().manual_seed(11)
        with torch.no_grad():
            for tensor in model.module.state_dict().values():
                if tensor.is_floating_point():
                    tensor.add_(0.1 * torch.randn(tensor.shape, generator=gen))
        folder.mkdir(parents=True, exist_ok=True)
        save_weights(model.module, folder / MODEL_FILE, model.node_ids)
        save_project_copy(folder, project)
        return folder

    return make
