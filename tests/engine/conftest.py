"""Engine test fixtures shared across folders: the examples' exports, made once a run."""

from __future__ import annotations

import os

import pytest

from .example_exports import ExampleExports


@pytest.fixture(scope="session")
def example_exports(tmp_path_factory) -> ExampleExports:
    """Under pytest-xdist every worker has a temporary folder of its own inside the run's
    folder: the exports go into the run's folder, so one worker's export serves all."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    return ExampleExports(root / "example-exports")
