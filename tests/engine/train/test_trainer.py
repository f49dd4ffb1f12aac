"""The Trainer: callbacks, stop, checkpoints, exact resume, warm starts and failures."""

from __future__ import annotations

import csv
import json
import threading
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from torchloom.engine.errors import TorchloomError, TrainingError
from torchloom.engine.project import load_project
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import Recorder, mlp_project, regression_project


def job_for(project, tmp_path, name="run", stop_at=None, **kw):
    recorder = Recorder(stop_at)
    job = prepare_training(project, out_dir=tmp_path / name, callbacks=[recorder], **kw)
    recorder.trainer = job.trainer
    return job, recorder


def test_callbacks_in_order_with_reports_per_interval(tmp_path):
    job, rec = job_for(mlp_project(tmp_path), tmp_path, report_interval=1e9)
    result = job.run()
    assert result.status == "finished" and len(result.epochs) == 2
    kinds = rec.kinds()
    assert kinds[0] == "begin" and kinds[-1] == "finished"
    assert kinds.count("epoch") == 2 and kinds.count("batch") == 2  # one per epoch at most
    info = rec.of("begin")[0]
    assert info["steps_per_epoch"] == 45 and info["total_steps"] == 90
    batch = rec.of("batch")[-1]
    assert batch.step == 90 and batch.epoch == 2 and 0 <= batch.accuracy <= 1
    epoch = rec.of("epoch")[-1]
    assert epoch.val_acc > 0.6 and epoch.train_loss > 0 and epoch.samples_per_s > 0


def test_stop_takes_effect_within_one_batch_and_leaves_a_checkpoint(tmp_path):
    job, rec = job_for(mlp_project(tmp_path), tmp_path, stop_at=7, report_interval=0)
    result = job.run()
    assert result.status == "stopped" and result.step == 7
    assert rec.kinds()[-1] == "finished"
    state = torch.load(tmp_path / "run" / "state.pt", weights_only=True)
    assert (state["epoch"], state["step_in_epoch"], state["step"]) == (0, 7, 7)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "stopped"


def test_stop_from_another_thread(tmp_path):
    job, rec = job_for(mlp_project(tmp_path, epochs=200), tmp_path, report_interval=0.01)
    done = []
    worker = threading.Thread(target=lambda: done.append(job.run()))
    worker.start()
    while not rec.of("batch"):
        time.sleep(0.01)
    at = job.trainer.step
    job.trainer.stop()
    worker.join(timeout=60)
    # the stop lands within one batch: the step in progress ends, no other begins (counted
    # in steps, not seconds: a busy machine must not turn this red)
    assert not worker.is_alive() and done[0].status == "stopped"
    assert at <= done[0].step <= at + 1


def test_checkpoint_files(tmp_path):
    project = mlp_project(tmp_path)
    job, _ = job_for(project, tmp_path)
    job.run()
    run = tmp_path / "run"
    weights = load_file(run / "model.safetensors")
    assert set(weights) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    with safe_open(run / "model.safetensors", "pt") as handle:
        assert json.loads(handle.metadata()["nodes"])["fc1"] == "fc1"
    state = torch.load(run / "state.pt", weights_only=True)
    assert state["format"] == "torchloom-state" and state["epoch"] == 2
    assert "optimizer" in state and state["rng"]["cpu"].dtype == torch.uint8
    rows = list(csv.DictReader((run / "metrics.csv").open()))
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                             "seconds", "samples_per_s"]
    assert [r["epoch"] for r in rows] == ["1", "2"]
    snapshot = load_project(run / "project.json")
    assert [n.id for n in snapshot.graph.nodes] == [n.id for n in project.graph.nodes]
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["data"]["name"] == "digits"
    assert info["data"]["normalization"]["shape"] == [1, 1, 1]


@pytest.mark.parametrize("stop_at", [20, 45, 60])  # mid-epoch 1, its last step, mid-epoch 2
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, stop_at):
    project = mlp_project(tmp_path, dropout=0.3, epochs=2)
    whole, _ = job_for(project, tmp_path, "whole")
    reference = whole.run()
    part, _ = job_for(project, tmp_path, "part", stop_at=stop_at, report_interval=0)
    assert part.run().status == "stopped"
    resumed = prepare_training(project, resume=tmp_path / "part")
    assert resumed.resumed and resumed.run_dir == tmp_path / "part"
    result = resumed.run()
    assert result.status == "finished" and result.step == reference.step
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "part" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [e.val_acc for e in result.epochs] == [e.val_acc for e in reference.epochs]


def test_resuming_a_finished_run_asks_for_more_epochs(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    job_for(project, tmp_path)[0].run()
    with pytest.raises(TrainingError, match="already finished 1 of 1 epochs"):
        prepare_training(project, resume=tmp_path / "run")
    more = prepare_training(project, resume=tmp_path / "run", overrides={"epochs": 2})
    assert more.run().epochs[-1].epoch == 2


def test_a_mid_epoch_resume_with_another_batch_size_is_refused_and_says_which(tmp_path):
    project = mlp_project(tmp_path, epochs=2)
    part, _ = job_for(project, tmp_path, "part", stop_at=20, report_interval=0)
    assert part.run().status == "stopped"
    with pytest.raises(TrainingError, match="middle of epoch 1 .*resume with batch_size 32"):
        prepare_training(project, resume=tmp_path / "part", overrides={"batch_size": 16})
    assert json.loads((tmp_path / "part" / "run.json").read_text())["status"] == "stopped"
    result = prepare_training(project, resume=tmp_path / "part").run()
    assert result.status == "finished" and result.epochs[-1].epoch == 2


def test_a_new_batch_size_applies_from_the_next_epoch_after_an_epoch_end(tmp_path):
    project = mlp_project(tmp_path, epochs=2)
    part, _ = job_for(project, tmp_path, "part", stop_at=45, report_interval=0)  # epoch 1's end
    assert part.run().status == "stopped"
    job = prepare_training(project, resume=tmp_path / "part", overrides={"batch_size": 64})
    result = job.run()
    assert result.status == "finished" and [e.epoch for e in result.epochs] == [1, 2]
    assert result.step == 45 + len(job.trainer.starts)  # epoch 2 in batches of 64


def test_resuming_a_run_without_a_checkpoint_says_there_is_nothing_to_resume(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    job_for(project, tmp_path)[0].run()
    for name in ("model.safetensors", "state.pt", "checkpoint.json"):
        (tmp_path / "run" / name).unlink()  # as a run that failed before its first one
    with pytest.raises(TorchloomError, match="no checkpoint yet.*nothing to resume"):
        prepare_training(project, resume=tmp_path / "run")


def test_warm_start_keeps_unchanged_nodes(tmp_path):
    project = mlp_project(tmp_path)
    job_for(project, tmp_path)[0].run()
    trained = load_file(tmp_path / "run" / "model.safetensors")
    project.graph.set_param("fc2", "out_features", 12)  # an edit: fc2 changes shape
    job = prepare_training(project, resume=tmp_path / "run", out_dir=tmp_path / "warm")
    assert job.reinitialized == ["fc2"] and not job.resumed
    assert torch.equal(job.model.fc1.weight.detach(), trained["fc1.weight"])
    assert not torch.equal(job.model.fc2.weight.detach()[:10], trained["fc2.weight"])
    assert "re-initialised fc2" in job.notes[-1]


def test_nan_loss_stops_with_the_step_and_the_process_survives(tmp_path):
    project = regression_project(tmp_path, optimizer="sgd", lr=10.0, momentum=0.0)
    job, rec = job_for(project, tmp_path, report_interval=0)
    result = job.run()
    assert result.status == "failed" and result.error.kind == "nan"
    assert f"at step {result.error.step}" in result.error.message
    assert "lower the learning rate (now 10)" in result.error.message
    assert rec.kinds()[-1] == "failed"


def test_out_of_memory_suggests_a_smaller_batch(tmp_path, monkeypatch):
    job, rec = job_for(mlp_project(tmp_path), tmp_path)

    def boom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(job.model, "forward", boom)
    result = job.run()
    assert result.status == "failed" and result.error.kind == "oom"
    assert "out of memory at step 1 with batch size 32" in result.error.message
    assert "smaller batch size" in result.error.message


def test_regression_with_mse_learns(tmp_path):
    result = prepare_training(regression_project(tmp_path, lr=0.1, epochs=20), save=False).run()
    assert result.status == "finished" and result.final.val_acc is None
    assert result.final.val_loss < 0.1 * result.epochs[0].train_loss


def test_bf16_on_cpu_and_fp16_refused(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    assert prepare_training(project, overrides={"amp": "bf16"}, save=False).run().status == \
        "finished"
    with pytest.raises(TrainingError, match="fp16 needs a CUDA device"):
        prepare_training(project, overrides={"amp": "fp16"}, save=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU message")
def test_cuda_without_a_gpu_says_so(tmp_path):
    with pytest.raises(TrainingError, match="no CUDA device was found"):
        prepare_training(mlp_project(tmp_path), overrides={"device": "cuda"}, save=False)


def test_cosine_schedule_decays_to_zero(tmp_path):
    job, rec = job_for(mlp_project(tmp_path, schedule="cosine"), tmp_path, report_interval=0)
    job.run()
    lrs = [b.lr for b in rec.of("batch")]
    assert lrs[0] == pytest.approx(0.001, rel=0.01) and lrs[-1] < 1e-6
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_conv_models_train_channels_last(tmp_path):
    project = load_project(__import__("torchloom.engine.resources", fromlist=["x"])
                           .examples_dir() / "mnist_cnn.json")
    job = prepare_training(project, overrides={"epochs": 1, "batch_size": 512}, save=False)
    job.trainer.stop()  # set up, then stop before the first batch
    assert job.run().status == "stopped" and job.trainer.channels_last
    assert job.model.conv1.weight.is_contiguous(memory_format=torch.channels_last)


def test_image_folder_too_big_for_memory_trains_from_disk(tmp_path):
    from PIL import Image

    from torchloom.engine.graph import Graph
    from torchloom.engine.project import Project, save_project

    for k, name in enumerate(("dark", "light")):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(12):
            Image.new("L", (6, 6), 30 + 180 * k + i).save(tmp_path / "imgs" / name / f"{i}.png")
    g = Graph()
    g.add_node("Input", {"shape": [1, 6, 6]}, "x")
    for node_id, t, p in (("flat", "Flatten", {}), ("fc", "Linear", {"out_features": 2})):
        g.add_node(t, p, node_id)
    g.connect("x", "flat")
    g.connect("flat", "fc")
    project = Project(g, dataset={"path": "imgs", "image_size": [6, 6], "color": "gray",
                                  "max_in_memory_bytes": 1},
                      training={"epochs": 15, "batch_size": 4, "lr": 0.05})
    save_project(project, tmp_path / "p.json")
    job = prepare_training(project, save=False)
    assert not job.split.train.in_memory
    assert job.run().final.val_acc == 1.0
