"""Per-layer weight and gradient statistics recorded while training (issue 22 §5)."""

from __future__ import annotations

import json
import math

import torch

from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train.callbacks import Callback
from torchloom.engine.train.layer_stats import StatsRecorder, read_captures
from torchloom.engine.train.runfiles import STATS_FILE

from .helpers import mlp_project


class Captures(Callback):
    def __init__(self) -> None:
        self.captures: list[dict] = []

    def on_stats(self, capture):
        self.captures.append(capture)


def _train(tmp_path, **training):
    tmp_path.mkdir(exist_ok=True)
    project = mlp_project(tmp_path, dropout=0.0, **training)
    seen = Captures()
    job = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "run",
                           callbacks=[seen])
    return job, job.run(), seen


def test_a_short_run_writes_finite_positive_grad_norms_and_whole_histograms(tmp_path):
    job, result, seen = _train(tmp_path, epochs=2, stats_every=10)
    assert result.status == "finished"
    captures = read_captures(tmp_path / "run" / STATS_FILE)
    steps_per_epoch = result.step // 2
    expected = sorted({s for s in range(10, result.step + 1, 10)} | {steps_per_epoch,
                                                                       result.step})
    assert [c["step"] for c in captures] == expected
    assert [c["epoch"] for c in captures][-1] == 2
    assert captures == seen.captures  # the file holds what the callbacks were given
    params = {name.split(".")[0]: 0 for name, _ in job.model.named_parameters()}
    for name, p in job.model.named_parameters():
        params[name.split(".")[0]] += p.numel()
    for capture in captures:
        nodes = capture["nodes"]
        assert {"fc1", "fc2"} <= set(nodes)
        for node in ("fc1", "fc2"):
            entry = nodes[node]
            assert entry["params"] == params[node]
            assert sum(entry["weight"]["counts"]) == params[node]
            assert len(entry["weight"]["edges"]) == len(entry["weight"]["counts"]) + 1
            grad = entry["grad"]
            assert math.isfinite(grad["norm"]) and grad["norm"] > 0
            assert sum(grad["counts"]) == params[node]
            assert entry["nonfinite"] == 0
        assert 0.0 <= nodes["relu"]["dead_relu"] <= 1.0
    # the weights recorded are the model's: the last capture matches the trained fc2
    last = captures[-1]["nodes"]["fc2"]["weight"]
    trained = torch.cat([p.detach().reshape(-1) for p in job.model.fc2.parameters()])
    assert abs(last["mean"] - float(trained.mean())) < 1e-6


def test_a_huge_learning_rate_shows_growing_or_non_finite_gradients(tmp_path):
    settings = {"epochs": 1, "stats_every": 5, "optimizer": "sgd", "momentum": 0.0}
    _, _, sane = _train(tmp_path / "sane", lr=0.01, **settings)
    _, _, huge = _train(tmp_path / "huge", lr=10.0, **settings)
    calm = sane.captures[-1]["nodes"]["fc1"]
    last = huge.captures[-1]["nodes"]["fc1"]
    blew_up = last["nonfinite"] > 0
    grew = last["weight"]["std"] > 10 * calm["weight"]["std"]
    assert blew_up or grew, (calm["weight"]["std"], last["weight"]["std"])


def test_stats_every_zero_records_nothing(tmp_path):
    _, result, seen = _train(tmp_path, epochs=1, stats_every=0)
    assert result.status == "finished"
    assert seen.captures == []
    assert not (tmp_path / "run" / STATS_FILE).exists()


def test_the_file_stays_bounded_and_keeps_the_whole_run(tmp_path):
    project = mlp_project(tmp_path, dropout=0.0, epochs=3, stats_every=1)
    job = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "run")
    recorder = job.trainer.layer_stats
    assert isinstance(recorder, StatsRecorder)
    recorder.max_bytes = 60_000  # a few captures' worth
    result = job.run()
    path = tmp_path / "run" / STATS_FILE
    assert path.stat().st_size <= 60_000 + 20_000  # at most one capture over before thinning
    steps = [c["step"] for c in read_captures(path)]
    assert steps[-1] == result.step  # the newest capture is kept
    assert steps[0] < result.step // 3  # and the first epoch is still there
    assert recorder.every > 1


def test_a_resumed_run_drops_the_captures_after_its_checkpoint(tmp_path):
    project = mlp_project(tmp_path, dropout=0.0, epochs=2, stats_every=5)
    run = tmp_path / "run"
    first = prepare_training(project, overrides={"device": "cpu", "epochs": 1}, out_dir=run)
    done = first.run().step
    path = run / STATS_FILE
    with open(path, "a") as f:  # as if written after the checkpoint, then killed
        f.write(json.dumps({"step": done + 3, "epoch": 2, "nodes": {}}) + "\n")
        f.write('{"step": 9')  # a line cut short
    again = prepare_training(project, overrides={"device": "cpu"}, resume=run)
    again.run()
    steps = [c["step"] for c in read_captures(path)]
    assert steps == sorted(set(steps)) and done + 3 not in steps


def test_captures_change_nothing_about_the_run_and_leave_no_hook(tmp_path):
    """Same weights with captures on every step as with none (dropout on, so a stray random
    draw would show); no extra forward pass is seen by a hook on the model; no hook stays."""
    weights, forwards = [], []
    for every in (0, 1):
        folder = tmp_path / str(every)
        folder.mkdir()
        project = mlp_project(folder, dropout=0.3, epochs=1, stats_every=every)
        job = prepare_training(project, overrides={"device": "cpu"}, out_dir=folder / "run")
        calls = []
        job.model.register_forward_hook(lambda m, a, o, seen=calls: seen.append(m.training))
        assert job.run().status == "finished"
        weights.append(job.model.fc1.weight.detach().clone())
        forwards.append(calls)
        assert not job.model.relu._forward_hooks
    assert torch.equal(weights[0], weights[1])
    assert forwards[0] == forwards[1]


def test_with_accumulation_captures_land_on_optimizer_steps(tmp_path):
    """Half-accumulated gradients are never recorded: a capture waits for its group's step."""
    _, result, seen = _train(tmp_path, epochs=1, stats_every=5, accumulate=4)
    assert result.status == "finished"
    steps = [c["step"] for c in seen.captures]
    assert steps[-1] == result.step  # the epoch's end, whatever its group
    assert all(s % 4 == 0 for s in steps[:-1]), steps
    assert len(steps) >= result.step // 8  # about one per 5 steps, at the next group's end
    assert all(c["nodes"]["fc1"]["grad"]["norm"] > 0 for c in seen.captures)
