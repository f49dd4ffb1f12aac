"""`torchloom sample`: N samples in the dataset's units, a grid, typed errors, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from torchloom.engine.cli import main
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import example_copy, set_param, tiny_gan


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """One epoch of the bundled example on mnist5k (a second or two), as a run folder."""
    folder = tmp_path_factory.mktemp("mnist")
    path = example_copy(folder)
    job = prepare_training(load_project(path), overrides={"epochs": 1, "device": "cpu"},
                           out_dir=folder / "run")
    assert job.run().status == "finished"
    return path, folder / "run"


def test_samples_of_mnist_are_pixel_intensities_in_the_sample_shape(mnist_run, tmp_path,
                                                                     capsys):
    project, run_dir = mnist_run
    out, png = tmp_path / "s.npz", tmp_path / "grid.png"
    code, stdout, err = run(capsys, "sample", project, "--weights", run_dir, "--n", 70, "-o",
                            out, "--png", png, "--seed", 5)
    assert code == 0, err
    with np.load(out) as data:
        x = data["x"]
    assert x.shape == (70, 1, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.std() > 0.01
    assert "data range 0 .. 1" in stdout
    with Image.open(png) as image:
        assert image.size == (466, 466)  # the first 64, 8 x 8
    again = tmp_path / "again.npz"
    run(capsys, "sample", project, "--weights", run_dir, "--n", 70, "-o", again, "--seed", 5)
    with np.load(again) as data:
        assert np.array_equal(data["x"], x)  # the seed fixes the noise


def test_json_output(mnist_run, tmp_path, capsys):
    project, run_dir = mnist_run
    code, out, _ = run(capsys, "sample", project, "--weights", run_dir, "--n", 3, "-o",
                       tmp_path / "s.npz", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["shape"] == [3, 1, 28, 28]
    assert data["data_range"]["low"] == 0 and data["data_range"]["high"] == 1
    assert data["epoch"] == 1


def test_measured_ranges_map_back_to_the_data_units(tmp_path, capsys):
    path = tiny_gan(tmp_path, high=255.0, epochs=1)
    prepare_training(load_project(path), out_dir=tmp_path / "run").run()
    code, _, err = run(capsys, "sample", path, "--weights", tmp_path / "run", "--n", 20, "-o",
                       tmp_path / "s.npz")
    assert code == 0, err
    with np.load(tmp_path / "s.npz") as data:
        x = data["x"]
    assert x.shape == (20, 1, 4, 4) and x.min() >= 0.0 and x.max() <= 255.0
    assert x.max() > 1.0  # in the data's units, not the model's [-1, 1]


def test_errors_and_exit_codes(mnist_run, tmp_path, capsys):
    project, run_dir = mnist_run
    out = tmp_path / "s.npz"
    code, _, err = run(capsys, "sample", examples_dir() / "mlp_digits.json", "--weights",
                       run_dir, "-o", out)
    assert code == 2 and "is a classify project" in err
    code, stdout, err = run(capsys, "sample", project, "--weights", tmp_path / "nope", "-o",
                            out, "--json")
    assert code == 2 and "no such run folder" in err
    assert json.loads(stdout)["ok"] is False
    code, _, err = run(capsys, "sample", project, "--weights", run_dir, "-o", tmp_path)
    assert code == 2 and "is a folder" in err
    broken = example_copy(tmp_path / "b", lambda d: set_param(d, "discriminator", "logit",
                                                              out_features=3))
    code, _, err = run(capsys, "sample", broken, "--weights", run_dir, "-o", out)
    assert code == 1 and "discriminator: node logit" in err
    other = example_copy(tmp_path / "c", lambda d: set_param(d, "generator", "fc1",
                                                             out_features=64))
    code, _, err = run(capsys, "sample", other, "--weights", run_dir, "-o", out)
    assert code == 2 and "fc1" in err and "do not fit" in err
    classifier_run = tmp_path / "cls"
    tiny = tiny_gan(tmp_path / "t")
    code, _, err = run(capsys, "sample", tiny, "--weights", classifier_run, "-o", out)
    assert code == 2
    assert not out.exists()
    with pytest.raises(SystemExit) as info:
        main(["sample", str(project), "--weights", str(run_dir), "-o", str(out), "--n", "0"])
    assert info.value.code == 2


def test_train_prints_gan_epochs_and_metrics_json(tmp_path, capsys):
    path = tiny_gan(tmp_path, epochs=2)
    metrics = tmp_path / "m.json"
    code, out, err = run(capsys, "train", path, "--quiet", "--out", tmp_path / "run",
                         "--metrics-json", metrics)
    assert code == 0, err
    assert "training the GAN tiny gan on cpu" in out
    assert "epoch 2: d_loss" in out and "D accuracy real" in out and "samples " in out
    assert "done: 2 epochs; last sample grid" in out
    data = json.loads(metrics.read_text())
    assert data["status"] == "finished" and data["epochs"][1]["epoch"] == 2
    assert {"d_loss", "g_loss", "diversity", "samples_png"} <= set(data["epochs"][1])


def test_probe_refuses_a_gan_and_points_to_sample(mnist_run, tmp_path, capsys):
    project, run_dir = mnist_run
    code, _, err = run(capsys, "probe", project, "--weights", run_dir, "--node", "fc1",
                       "--out", tmp_path / "p")
    assert code == 2 and "torchloom sample" in err


def test_a_run_that_kept_its_best_samples_from_those_and_says_so(tmp_path, capsys):
    path = tiny_gan(tmp_path, epochs=4, keep="best", keep_metric="g_loss")
    result = prepare_training(load_project(path), out_dir=tmp_path / "run").run()
    losses = [e.metrics()["g_loss"] for e in result.epochs]
    best = losses.index(min(losses)) + 1
    code, out, err = run(capsys, "sample", path, "--weights", tmp_path / "run", "--n", 4,
                         "-o", tmp_path / "s.npz")
    assert code == 0, err
    assert f"using the best weights (epoch {best}, g_loss " in out
    code, out, _ = run(capsys, "sample", path, "--weights", tmp_path / "run", "--n", 4,
                       "-o", tmp_path / "s.npz", "--json")
    assert json.loads(out)["epoch"] == best


def test_keep_best_on_a_gan_needs_a_metric_it_reports(tmp_path, capsys):
    path = tiny_gan(tmp_path, keep="best")  # val_loss: a GAN does not validate
    code, _, err = run(capsys, "train", path, "--quiet")
    assert code == 2 and "keep_metric: 'val_loss' is not one this task reports" in err
    assert "g_loss" in err
