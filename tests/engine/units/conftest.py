"""Each units test gets its own user-data folder, so block-library files do not leak."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLOOM_DATA_DIR", str(tmp_path / "userdata"))
