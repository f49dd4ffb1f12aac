"""Augmentation in the run loop (issue 22, part 3): training batches only, every task that
takes images, reproducible and resumed exactly, refused up front where it does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.errors import DataError
from torchloom.engine.project import load_project
from torchloom.engine.project_checks import project_problems
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import Recorder, mlp_project

EXAMPLES = Path(__file__).resolve().parents[3] / "resources" / "examples"
#: digits are not mirror images of each other: a shift and a little noise suit them
SHIFT_NOISE = {"crop": {"padding": 1}, "noise": {"std": 0.1}}


def run(project, tmp_path, name, stop_at=None, **kw):
    recorder = Recorder(stop_at)
    job = prepare_training(project, out_dir=tmp_path / name, callbacks=[recorder],
                           report_interval=0, **kw)
    recorder.trainer = job.trainer
    return job.run()


def test_a_run_with_augmentation_is_reproducible_resumes_exactly_and_differs_from_none(tmp_path):
    project = mlp_project(tmp_path, epochs=2)
    plain = run(project, tmp_path, "plain")
    project.dataset = {"name": "digits", "augment": SHIFT_NOISE}
    whole = run(project, tmp_path, "whole")
    part = run(project, tmp_path, "part", stop_at=30)
    assert part.status == "stopped"
    resumed = prepare_training(project, resume=tmp_path / "part").run()
    assert whole.status == resumed.status == "finished"
    a, b = (load_file(tmp_path / d / "model.safetensors") for d in ("whole", "part"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = load_file(tmp_path / "plain" / "model.safetensors")
    assert not torch.equal(a["fc1.weight"], c["fc1.weight"])
    assert plain.epochs[-1].val_acc > 0.6 and whole.epochs[-1].val_acc > 0.5
    info = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert info["augment"] == {"crop": {"padding": 1}, "noise": {"std": 0.1}}


def test_validation_sees_the_data_as_it_is(tmp_path, monkeypatch):
    """The augmenter runs once per training batch and never on a validation batch."""
    from torchloom.engine.data import augment_ops

    seen: list[str] = []
    original = augment_ops.Augmenter.__call__

    def spy(self, x, y, step):
        seen.append("train")
        return original(self, x, y, step)

    monkeypatch.setattr(augment_ops.Augmenter, "__call__", spy)
    project = mlp_project(tmp_path, epochs=1)
    project.dataset = {"name": "digits", "augment": {"noise": {"std": 3.0}}}
    job = prepare_training(project, save=False)
    result = job.run()
    assert result.status == "finished" and len(seen) == result.step


def test_mixup_trains_a_classifier_and_counts_hits_by_the_heavier_label(tmp_path):
    project = mlp_project(tmp_path, epochs=2)
    project.dataset = {"name": "digits", "augment": {"mixup": {"alpha": 0.4}}}
    result = prepare_training(project, save=False).run()
    assert result.status == "finished"
    assert 0.0 < result.epochs[-1].train_acc <= 1.0 and result.epochs[-1].val_acc > 0.5


def test_segmentation_masks_move_with_their_images_in_training(tmp_path):
    project = load_project(EXAMPLES / "shape_masks_unet.json")
    project.dataset = {"name": "shape_masks", "n": 40,
                       "augment": {"hflip": {}, "affine": {"degrees": 15}}}
    result = prepare_training(project, overrides={"epochs": 1, "batch_size": 16,
                                                  "device": "cpu"}, save=False).run()
    assert result.status == "finished", result.error


def test_an_augmentation_that_does_not_fit_is_refused_before_training(tmp_path):
    project = load_project(EXAMPLES / "review_sentiment.json")
    project.dataset = dict(project.dataset, augment={"hflip": {}})
    with pytest.raises(DataError) as caught:
        prepare_training(project, overrides={"epochs": 1}, save=False)
    assert caught.value.where == "dataset.augment.hflip"
    assert "cannot augment token ids" in caught.value.message


def test_check_names_a_bad_augmentation_key_without_loading_data():
    project = load_project(EXAMPLES / "mnist_cnn.json")
    project.dataset = {"name": "mnist5k", "augment": {"hflip": {"p": 1.5}}}
    problems = project_problems(project, validates=True)
    assert [p.key for p in problems] == ["dataset.augment.hflip.p"]
    assert "must be a number" in problems[0].message


def test_the_command_line_augments_one_run_and_refuses_a_bad_setting(capsys, tmp_path):
    from torchloom.engine.cli import main

    mlp_project(tmp_path, epochs=1)
    path = str(tmp_path / "mlp.json")
    code = main(["train", path, "--quiet", "--out", str(tmp_path / "r"),
                 "--augment", '{"crop": {"padding": 1}}'])
    assert code == 0, capsys.readouterr()
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["augment"] == {"crop": {"padding": 1}}
    assert "augment" not in json.loads((tmp_path / "mlp.json").read_text())["dataset"]
    capsys.readouterr()
    code = main(["train", path, "--quiet", "--augment", '{"crop": {"padding": 0}}'])
    err = capsys.readouterr().err
    assert code == 2 and "dataset.augment.crop.padding" in err
