"""Weights of a run in progress (issue 21 §3: Generate during training): a copy taken
between two steps on request, usable on another thread while training goes on."""

from __future__ import annotations

import threading

import torch

from torchloom.engine.probe.live import LiveWeights
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.text.generate import generate_text

from ..tasks.test_language_model import _project
from torchloom.engine.project import load_project


def test_a_snapshot_mid_training_generates_and_the_run_goes_on(tmp_path):
    project = load_project(_project(tmp_path, repeats=100))
    job = prepare_training(project, overrides={"epochs": 30}, save=False,
                           report_interval=0)
    live = LiveWeights(job.trainer)
    job.trainer.callbacks.append(live)
    results = []
    worker = threading.Thread(target=lambda: results.append(job.run()))
    worker.start()
    taken = live.snapshot(timeout=60)
    assert taken is not None and taken.info["live"] and taken.info["step"] >= 1
    step = taken.info["step"]
    text = generate_text(taken, "the ", tokens=10, temperature=0.0)
    assert len(text.tokens) == 10
    # a copy: training goes on and changes the model, not the snapshot
    before = {k: v.clone() for k, v in taken.model.state_dict().items()}
    later = live.snapshot(timeout=60)
    job.trainer.stop()
    worker.join(60)
    assert later is None or later.info["step"] >= step
    assert all(torch.equal(before[k], v) for k, v in taken.model.state_dict().items())
    assert results and results[0].status in ("stopped", "finished")
    assert live.snapshot(timeout=1) is None  # the run has ended: nothing serves it
