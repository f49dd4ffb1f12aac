"""A .pt2 from elsewhere must not run code when imported: pickles inside are refused."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from torchloom.engine.errors import ModelImportError
from torchloom.engine.export import export_project
from torchloom.engine.importer import import_module
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir


class _Payload:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def _rewrite(src: Path, dst: Path, change) -> None:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for info in old.infolist():
            data = change(info.filename, old.read(info.filename))
            new.writestr(info, data)


@pytest.fixture
def program(tmp_path) -> Path:
    path = tmp_path / "digits.pt2"
    export_project(load_project(examples_dir() / "mlp_digits.json"), "pt2", path)
    return path


def test_a_weight_stored_as_a_pickle_is_refused_unread(program, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt2"

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("model_weights_config.json"):
            config = json.loads(data)
            first = next(iter(config["config"]))
            config["config"][first]["use_pickle"] = True
            return json.dumps(config).encode()
        if name.endswith("weights/weight_0"):
            return pickle.dumps(_Payload(marker))
        return data

    _rewrite(program, evil, change)
    with pytest.raises(ModelImportError, match="pickle"):
        import_module(evil, tmp_path / "evil.json")
    assert not marker.exists() and not (tmp_path / "evil.json").exists()


def test_pickled_sample_inputs_do_not_run(program, tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt2"
    _rewrite(program, evil, lambda name, data: pickle.dumps(_Payload(marker))
             if name.endswith("sample_inputs/model.pt") else data)
    with pytest.raises(ModelImportError):
        import_module(evil, tmp_path / "evil.json")
    assert not marker.exists()
    assert os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD") is None  # put back as it was


def test_a_file_that_is_not_an_archive_says_so(tmp_path):
    bad = tmp_path / "x.pt2"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelImportError, match="not a readable torch.export program"):
        import_module(bad, tmp_path / "x.json")


def test_a_torch_save_file_named_pt2_is_one_clear_line_without_a_traceback(tmp_path):
    """torch.export logs the failed load's whole traceback as a warning; a person sees only
    what the file is and what to do."""
    import subprocess
    import sys

    import torch

    path = tmp_path / "weights.pt2"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    done = subprocess.run([sys.executable, "-m", "torchloom.engine.cli", "import", str(path),
                           "-o", str(tmp_path / "out.json")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "is a torch.save file" in done.stderr and "torch.export.save" in done.stderr
