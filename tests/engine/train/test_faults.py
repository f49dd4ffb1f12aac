"""Training faults: a loss or weights that are no longer finite, out of memory, a full disk,
and a stop at awkward moments. Each ends the run with a message that names the settings to
change (or with status "stopped"), and leaves a run folder that is consistent: the weights,
the trainer state, metrics.csv and run.json agree, and a resume continues exactly."""

from __future__ import annotations

import csv
import errno
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train import Callback
from torchloom.engine.train import checkpoint as ckpt
from torchloom.engine.train.checkpoint import CheckpointError

from .helpers import mlp_project

STEPS = 45  # per epoch: mlp_project trains 1,437 digits in batches of 32


def job_for(project, tmp_path, name="run", callbacks=(), **kw):
    return prepare_training(project, out_dir=tmp_path / name, callbacks=list(callbacks),
                            report_interval=0, **kw)


def run_info(run_dir):
    return json.loads((run_dir / "run.json").read_text())


def metrics_epochs(run_dir):
    if not (run_dir / "metrics.csv").exists():
        return []
    return [int(row["epoch"]) for row in csv.DictReader((run_dir / "metrics.csv").open())]


def assert_consistent(run_dir, step, epoch, status="stopped"):
    """The checkpoint holds `step`; metrics.csv has exactly the epochs it holds; run.json
    says `status` and names that checkpoint."""
    state = ckpt.load_state(run_dir / "state.pt")
    assert state["step"] == step and state["epoch"] == epoch
    assert metrics_epochs(run_dir) == [row["epoch"] for row in state["history"]]
    assert len(state["history"]) == epoch
    info = run_info(run_dir)
    assert info["status"] == status and info["checkpoint"] == {"epoch": epoch, "step": step}
    assert set(ckpt.load_weights(run_dir / "model.safetensors")) == {
        "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted two-epoch run: what every resumed run must equal exactly."""
    tmp = tmp_path_factory.mktemp("reference")
    result = job_for(mlp_project(tmp), tmp).run()
    return load_file(tmp / "run" / "model.safetensors"), [e.val_acc for e in result.epochs]


def assert_resumes_to(reference, project, run_dir):
    result = prepare_training(project, resume=run_dir).run()
    assert result.status == "finished" and result.step == 2 * STEPS
    weights = load_file(run_dir / "model.safetensors")
    assert all(torch.equal(weights[k], reference[0][k]) for k in weights)
    assert [e.val_acc for e in result.epochs] == reference[1]
    assert metrics_epochs(run_dir) == [1, 2] and run_info(run_dir)["status"] == "finished"


class AtLastStep(Callback):
    """Runs `action(trainer)` at the end of the last training step of the run."""

    def __init__(self, action):
        self.action, self.trainer = action, None

    def on_batch_end(self, report):
        if report.step == report.total_steps:
            self.action(self.trainer)


# ---- a loss or weights that are no longer finite ----------------------------------------


def test_a_diverging_loss_names_the_step_and_the_settings_to_lower(tmp_path):
    project = mlp_project(tmp_path, optimizer="sgd", lr=10.0, momentum=0.0, weight_decay=1.0)
    result = job_for(project, tmp_path).run()
    error = result.error
    assert result.status == "failed" and error.kind == "nan" and 1 < error.step < STEPS
    assert error.message.startswith(
        f"the loss became NaN or infinite at step {error.step} (epoch 1; it was ")
    assert "lower the learning rate (now 10)" in error.message
    assert "lower weight_decay (now 1: with lr 10 every step multiplies the weights by -9)" \
        in error.message
    run = tmp_path / "run"  # failed in epoch 1: no checkpoint, and resume says so
    info = run_info(run)
    assert info["status"] == "failed" and info["message"] == error.message
    assert info["checkpoint"] is None and not (run / "model.safetensors").exists()
    with pytest.raises(CheckpointError, match="model.safetensors: no checkpoint yet"):
        prepare_training(project, resume=run)


def test_an_infinite_loss_before_any_update_blames_the_targets_not_the_learning_rate(
        tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4)).astype(np.float32)
    np.savez(tmp_path / "big.npz", x=x, y=x.sum(axis=1) * 1e20)  # squares past float32
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 1}, "fc")
    g.connect("x", "fc")
    project = Project(g, dataset={"path": "big.npz"}, task="regress",
                      training={"loss": "mse", "epochs": 2})
    save_project(project, tmp_path / "big.json")
    error = job_for(project, tmp_path).run().error
    assert error.kind == "nan" and error.step == 1
    assert "at step 1 (epoch 1; it was inf), before any weight update" in error.message
    assert "scale the targets down (they reach" in error.message
    assert "learning rate" not in error.message


@pytest.mark.parametrize("val_split", [0.2, 0.0])  # caught by validation, or at the save
def test_nan_weights_with_a_finite_loss_name_the_node_and_never_reach_a_checkpoint(
        tmp_path, val_split):
    def poison(trainer):  # the last update of epoch 2 leaves a NaN weight, the loss was fine
        with torch.no_grad():
            trainer.model.fc1.weight[3, 5] = float("nan")

    hook = AtLastStep(poison)
    job = job_for(mlp_project(tmp_path, val_split=val_split), tmp_path, callbacks=[hook])
    hook.trainer = job.trainer
    result = job.run()
    steps = job.trainer.total_steps // 2  # 45, or 57 without a validation split
    assert result.status == "failed" and result.error.kind == "nan"
    assert f"the weights of node fc1 (fc1.weight) became NaN by step {2 * steps} (epoch 2) " \
        "while the loss was still finite, so no checkpoint was saved" in result.error.message
    assert "lower the learning rate (now 0.001)" in result.error.message
    run = tmp_path / "run"
    assert_consistent(run, steps, 1, status="failed")
    assert torch.isfinite(load_file(run / "model.safetensors")["fc1.weight"]).all()


# ---- out of memory ----------------------------------------------------------------------


OOM_ERRORS = {
    "cuda": lambda: torch.cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 7.79 GiB total capacity)"),
    "older cuda": lambda: RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"),
    "cpu": lambda: RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to "
                                "allocate 8589934592 bytes. Error code 12"),
}


@pytest.mark.parametrize("kind", list(OOM_ERRORS))
def test_out_of_memory_in_epoch_2_frees_memory_and_keeps_the_epoch_1_checkpoint(
        tmp_path, monkeypatch, kind, reference):
    project = mlp_project(tmp_path)
    job = job_for(project, tmp_path)
    trainer, forward = job.trainer, job.model.forward

    def forward_until_oom(x):
        if trainer.model.training and trainer.step == STEPS + 4:  # the 5th step of epoch 2
            raise OOM_ERRORS[kind]()
        return forward(x)

    monkeypatch.setattr(job.model, "forward", forward_until_oom)
    emptied = []  # the CUDA cache is emptied where CUDA runs (pretend it does)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    result = job.run()
    monkeypatch.undo()
    error = result.error
    assert result.status == "failed" and error.kind == "oom" and error.step == STEPS + 5
    assert error.message == (
        "out of memory at step 50 with batch size 32 on cpu (epoch 2): try a smaller batch "
        "size (set batch_size to 16, now 32); set amp to bf16; or use a smaller model")
    assert emptied == [1] and not trainer.optimizers[""].state
    assert all(p.grad is None for p in job.model.parameters())
    assert trainer._x_train is None and trainer._x_val is None
    run = tmp_path / "run"
    assert_consistent(run, STEPS, 1, status="failed")
    assert run_info(run)["message"] == error.message
    assert_resumes_to(reference, project, run)  # the kept checkpoint continues exactly


def oom_in_validation(job, fits):
    """Validation batches larger than `fits` samples run out of memory."""
    forward, sizes = job.model.forward, []

    def forward_small_eval(x):
        if not job.model.training:
            sizes.append(len(x))
            if len(x) > fits:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory.")
        return forward(x)

    job.model.forward = forward_small_eval
    return sizes


def test_out_of_memory_in_validation_halves_the_validation_batch_first(tmp_path):
    job = job_for(mlp_project(tmp_path, epochs=1), tmp_path)
    sizes = oom_in_validation(job, fits=100)
    result = job.run()
    assert result.status == "finished" and job.trainer.val_batch_size == 64
    assert sizes[:4] == [359, 256, 128, 64]  # 359 validation samples: 512 -> 256 -> 128 -> 64
    assert max(sizes[4:]) == 64 and sum(sizes[3:]) == 359
    reference = prepare_training(mlp_project(tmp_path, epochs=1), save=False).run()
    assert result.final.val_acc == reference.final.val_acc
    assert result.final.val_loss == pytest.approx(reference.final.val_loss, rel=1e-6)


def test_out_of_memory_in_validation_at_the_batch_size_stops_the_run(tmp_path):
    job = job_for(mlp_project(tmp_path, epochs=1), tmp_path)
    sizes = oom_in_validation(job, fits=16)
    error = job.run().error
    assert sizes == [359, 256, 128, 64, 32]  # never below batch_size
    assert error.kind == "oom" and error.message.startswith(
        "out of memory at step 45 with batch size 32 on cpu (validating epoch 1): try a "
        "smaller batch size (set batch_size to 16, now 32)")


def test_out_of_memory_moving_the_data_says_the_data_does_not_fit(tmp_path, monkeypatch):
    job = job_for(mlp_project(tmp_path), tmp_path)

    def no_room(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(job.trainer, "_to_device", no_room)
    error = job.run().error
    assert error.kind == "oom" and error.message.startswith(
        "out of memory on cpu before the first step, moving the model and the training data")
    assert "train on the cpu" in error.message and "batch" not in error.message


# ---- a full disk --------------------------------------------------------------------------


def test_a_full_disk_at_a_checkpoint_is_a_training_error_and_never_loads_half(
        tmp_path, monkeypatch):
    real_save = ckpt.save_state

    def full_in_epoch_2(path, state):  # the weights of step 90 are written, the state not
        if state["step"] > STEPS:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, state)

    monkeypatch.setattr(ckpt, "save_state", full_in_epoch_2)
    project = mlp_project(tmp_path)
    result = job_for(project, tmp_path).run()
    assert result.status == "failed" and result.error.kind == "io"
    assert result.error.message == ("saving the checkpoint failed at step 90: No space left "
                                    "on device")
    run = tmp_path / "run"
    info = run_info(run)
    assert info["status"] == "failed" and info["checkpoint"] is None  # none whole any more
    with pytest.raises(CheckpointError, match="interrupted while being written"):
        prepare_training(project, resume=run)  # half a checkpoint is refused, never loaded


# ---- a stop at awkward moments ------------------------------------------------------------


def test_stop_during_the_first_batch_lands_after_it(tmp_path, reference):
    project = mlp_project(tmp_path)
    job = job_for(project, tmp_path)
    calls = []

    def stop_in_forward(module, args, output):
        calls.append(module.training)
        job.trainer.stop()

    job.model.register_forward_hook(stop_in_forward)
    result = job.run()
    assert result.status == "stopped" and result.step == 1 and calls == [True]
    run = tmp_path / "run"
    assert_consistent(run, 1, 0)
    assert ckpt.load_state(run / "state.pt")["step_in_epoch"] == 1
    job.model._forward_hooks.clear()
    assert_resumes_to(reference, project, run)


def test_stop_during_validation_lands_within_one_batch(tmp_path, reference):
    project = mlp_project(tmp_path)
    job = job_for(project, tmp_path)
    job.trainer.val_batch_size = 64  # 359 validation samples: 6 batches
    calls = []

    def stop_in_validation(module, args, output):
        if not module.training:
            calls.append(len(args[0]))
            job.trainer.stop()

    job.model.register_forward_hook(stop_in_validation)
    result = job.run()
    assert result.status == "stopped" and result.step == STEPS and calls == [64]
    assert result.epochs == []  # epoch 1 is trained, not yet validated: no row
    run = tmp_path / "run"
    assert_consistent(run, STEPS, 0)
    assert ckpt.load_state(run / "state.pt")["step_in_epoch"] == STEPS
    job.model._forward_hooks.clear()
    assert_resumes_to(reference, project, run)  # validates epoch 1, then trains epoch 2


def test_stop_during_a_checkpoint_write_lands_after_it(tmp_path, monkeypatch, reference):
    project = mlp_project(tmp_path)
    job = job_for(project, tmp_path)
    real_save, writes = ckpt.save_state, []

    def save_and_stop(path, state):  # the stop arrives between the weights and the state
        writes.append(state["step"])
        job.trainer.stop()
        return real_save(path, state)

    monkeypatch.setattr(ckpt, "save_state", save_and_stop)
    result = job.run()
    monkeypatch.undo()
    assert result.status == "stopped" and result.step == STEPS and writes == [STEPS, STEPS]
    run = tmp_path / "run"
    assert_consistent(run, STEPS, 1)
    assert_resumes_to(reference, project, run)


def test_an_image_that_goes_bad_while_streaming_is_a_training_error_naming_it(tmp_path):
    from PIL import Image

    for k, name in enumerate(("dark", "light")):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (6, 6), 30 + 180 * k + i).save(tmp_path / "imgs" / name / f"{i}.png")
    g = Graph()
    g.add_node("Input", {"shape": [1, 6, 6]}, "x")
    g.add_node("Flatten", {}, "flat")
    g.add_node("Linear", {"out_features": 2}, "fc")
    g.connect("x", "flat")
    g.connect("flat", "fc")
    project = Project(g, dataset={"path": "imgs", "image_size": [6, 6], "color": "gray",
                                  "max_in_memory_bytes": 1},  # read from disk per batch
                      training={"epochs": 2, "batch_size": 4, "val_split": 0.0})
    save_project(project, tmp_path / "p.json")
    job = job_for(project, tmp_path)
    (tmp_path / "imgs" / "light" / "2.png").write_bytes(b"not a png any more")
    result = job.run()
    assert result.status == "failed" and result.error.kind == "data"
    assert result.error.message.startswith("training stopped at step ")
    assert "light/2.png: cannot be decoded any more" in result.error.message
