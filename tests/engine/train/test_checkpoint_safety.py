"""A checkpoint interrupted mid-write is detected and never loaded; old run folders still load.

A checkpoint is three atomic writes: model.safetensors, state.pt, then checkpoint.json (the
step and the sha256 of the two). The tests crash the process (an exception no handler
catches, like a kill) after each of those writes and then resume, warm start and probe.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import save

from torchloom.engine.errors import ProbeError
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.train import checkpoint as ckpt
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import mlp_project

STEPS_PER_EPOCH = 45  # digits, batch 32, val_split 0.2


class Crash(BaseException):
    """Stands in for SIGKILL: nothing in the trainer catches it, nothing after it runs."""


def crash_after(monkeypatch, name: str | None) -> None:
    """Make the next checkpoint die right after `name` is written (None: before any)."""
    real_bytes, real_text = ckpt.atomic_write_bytes, ckpt.atomic_write_text

    def check(path) -> None:
        if Path(path).name == name:
            raise Crash(name)

    def write_bytes(path, data):
        if name is None:
            raise Crash("before")
        real_bytes(path, data)
        check(path)

    def write_text(path, text):
        real_text(path, text)
        check(path)

    monkeypatch.setattr(ckpt, "atomic_write_bytes", write_bytes)
    monkeypatch.setattr(ckpt, "atomic_write_text", write_text)


def one_epoch_run(tmp_path: Path):
    project = mlp_project(tmp_path, epochs=1)
    job = prepare_training(project, out_dir=tmp_path / "run")
    assert job.run().status == "finished"
    return project, tmp_path / "run"


def test_a_checkpoint_records_its_step_and_its_files(tmp_path):
    _, run = one_epoch_run(tmp_path)
    marker = json.loads((run / ckpt.CHECKPOINT_FILE).read_text())
    assert marker["format"] == "torchloom-checkpoint"
    assert (marker["step"], marker["epoch"]) == (STEPS_PER_EPOCH, 1)
    for name in (ckpt.MODEL_FILE, ckpt.STATE_FILE):
        assert marker["files"][name] == ckpt.file_record((run / name).read_bytes())
    with safe_open(run / ckpt.MODEL_FILE, "pt") as handle:
        assert handle.metadata()["step"] == str(STEPS_PER_EPOCH)


@pytest.mark.parametrize("crash", [ckpt.MODEL_FILE, ckpt.STATE_FILE])
def test_an_interrupted_checkpoint_is_refused_by_resume_warm_start_and_probes(
        tmp_path, monkeypatch, crash):
    project, run = one_epoch_run(tmp_path)
    job = prepare_training(project, resume=run, overrides={"epochs": 2})
    crash_after(monkeypatch, crash)
    with pytest.raises(Crash):
        job.run()  # dies writing the checkpoint of step 90
    monkeypatch.undo()
    interrupted = (f"the checkpoint in {run} was interrupted while being written "
                   f"(step {2 * STEPS_PER_EPOCH}")
    with pytest.raises(ckpt.CheckpointError, match=r"start fresh$") as caught:
        prepare_training(project, resume=run, overrides={"epochs": 3})
    assert caught.value.message.startswith(interrupted)
    with pytest.raises(ckpt.CheckpointError, match="interrupted while being written"):
        prepare_training(project, init_from=run, out_dir=tmp_path / "warm")
    with pytest.raises(ProbeError, match="interrupted while being written"):
        load_trained(run)
    assert not (tmp_path / "warm").exists()


def test_a_first_checkpoint_interrupted_before_its_record_is_refused(tmp_path, monkeypatch):
    project = mlp_project(tmp_path, epochs=1)
    job = prepare_training(project, out_dir=tmp_path / "run")
    crash_after(monkeypatch, ckpt.STATE_FILE)
    with pytest.raises(Crash):
        job.run()
    monkeypatch.undo()
    run = tmp_path / "run"
    assert (run / ckpt.MODEL_FILE).exists() and (run / ckpt.STATE_FILE).exists()
    assert not (run / ckpt.CHECKPOINT_FILE).exists()
    with pytest.raises(ckpt.CheckpointError, match="checkpoint.json was never written"):
        prepare_training(project, resume=run)
    with pytest.raises(ProbeError, match="interrupted"):
        load_trained(run)


@pytest.mark.parametrize("crash", [None, ckpt.CHECKPOINT_FILE])
def test_a_crash_before_or_after_the_whole_checkpoint_resumes(tmp_path, monkeypatch, crash):
    """Before the first write, the previous checkpoint is whole; after the record, the new
    one is (metrics.csv, written after it, is not part of the checkpoint)."""
    project, run = one_epoch_run(tmp_path)
    job = prepare_training(project, resume=run, overrides={"epochs": 2})
    crash_after(monkeypatch, crash)
    with pytest.raises(Crash):
        job.run()
    monkeypatch.undo()
    resumed = prepare_training(project, resume=run, overrides={"epochs": 3})
    expected = STEPS_PER_EPOCH if crash is None else 2 * STEPS_PER_EPOCH
    assert resumed.resumed and resumed.notes[-1] == f"resuming {run} at step {expected}"
    assert load_trained(run).model is not None


def test_a_damaged_record_or_swapped_weights_are_refused(tmp_path):
    project, run = one_epoch_run(tmp_path)
    (tmp_path / "b").mkdir()
    other = prepare_training(mlp_project(tmp_path / "b", epochs=1, seed=5),
                             out_dir=tmp_path / "other")
    other.run()
    marker = (run / ckpt.CHECKPOINT_FILE).read_bytes()
    (run / ckpt.CHECKPOINT_FILE).write_text('{"format": "torchloom-checkpoint", "ste')
    with pytest.raises(ckpt.CheckpointError, match="checkpoint.json: damaged"):
        prepare_training(project, resume=run, overrides={"epochs": 2})
    (run / ckpt.CHECKPOINT_FILE).write_bytes(marker)
    # The same step and the same size, but another run's weights: not this checkpoint's.
    (run / ckpt.MODEL_FILE).write_bytes((tmp_path / "other" / ckpt.MODEL_FILE).read_bytes())
    with pytest.raises(ckpt.CheckpointError, match="model.safetensors is not the one"):
        prepare_training(project, resume=run, overrides={"epochs": 2})


def test_a_run_folder_from_before_the_record_still_resumes_and_probes(tmp_path):
    """Older Torchloom wrote no checkpoint.json and no step in the weights' metadata."""
    project, run = one_epoch_run(tmp_path)
    (run / ckpt.CHECKPOINT_FILE).unlink()
    with safe_open(run / ckpt.MODEL_FILE, "pt") as handle:
        meta = handle.metadata()
        weights = {key: handle.get_tensor(key) for key in handle.keys()}
    del meta["step"]
    (run / ckpt.MODEL_FILE).write_bytes(save(weights, metadata=meta))  # as it was written
    assert ckpt.written_step(run / ckpt.MODEL_FILE) is None
    assert load_trained(run).model is not None
    resumed = prepare_training(project, resume=run, overrides={"epochs": 2})
    assert resumed.resumed and resumed.run().status == "finished"
    assert (run / ckpt.CHECKPOINT_FILE).exists()  # from its next checkpoint on, recorded


def test_a_lone_weights_file_outside_a_run_folder_needs_no_record(tmp_path):
    """A project's own weights file (an import, a copy of a run's weights) is no checkpoint."""
    _, run = one_epoch_run(tmp_path)
    copy = tmp_path / "start" / ckpt.MODEL_FILE
    copy.parent.mkdir()
    copy.write_bytes((run / ckpt.MODEL_FILE).read_bytes())
    assert ckpt.load_weights(copy).keys() == {"fc1.weight", "fc1.bias", "fc2.weight",
                                               "fc2.bias"}


def test_a_stray_state_file_stops_resume_but_not_the_weights_probe_and_export_read(tmp_path):
    """As docs/cli.md says: resume needs both files as the record has them; probe and
    export read only the weights, and those are the recorded ones."""
    from torchloom.engine.export import export_project

    project, run = one_epoch_run(tmp_path)
    (run / ckpt.STATE_FILE).write_bytes((run / ckpt.STATE_FILE).read_bytes() + b"\0")
    with pytest.raises(ckpt.CheckpointError, match="state.pt is not the one"):
        prepare_training(project, resume=run, overrides={"epochs": 2})
    assert load_trained(run).model is not None
    result = export_project(project, "safetensors", tmp_path / "w.safetensors", weights=run)
    assert result.files
