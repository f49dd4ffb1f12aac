"""Each task's validation metrics equal scikit-learn's on the same predictions: a run's
numbers are the ones a person would compute by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, jaccard_score, mean_absolute_error, r2_score

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project
from torchloom.engine.tasks.prepare import prepare_training


def run(tmp_path, task, shape, out_specs, x, y, **training):
    np.savez(tmp_path / "d.npz", x=x, y=y)
    g = Graph()
    g.add_node("Input", {"shape": shape}, "x")
    prev = "x"
    for node_id, type_name, params in out_specs:
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    project = Project(g, task=task, dataset={"path": "d.npz"},
                      training={"epochs": 2, "batch_size": 16, "seed": 0, **training})
    project.path = tmp_path / "p.json"
    job = prepare_training(project, save=False)
    result = job.run()
    assert result.status == "finished", result.error
    val = job.split.val
    xv = val.x if job.split.normalization is None else job.split.normalization.apply(val.x)
    with torch.no_grad():
        job.model.eval()
        out = job.model(xv)
    return result.final.metrics(), out, val.y


def test_regression_mae_and_r2(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = np.stack([x @ [1, 2, 0, 0], x @ [0, 0, -1, 3]], 1).astype(np.float32)
    metrics, out, yv = run(tmp_path, "regress", [4], [("fc", "Linear", {"out_features": 2})],
                           x, y, lr=0.05)
    assert metrics["val_mae"] == pytest.approx(mean_absolute_error(yv, out), rel=1e-5)
    assert metrics["val_r2"] == pytest.approx(r2_score(yv, out), rel=1e-5)


def test_multilabel_micro_f1_and_exact_match(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, :3] > 0).astype(np.float32)
    metrics, out, yv = run(tmp_path, "multilabel", [6],
                           [("fc", "Linear", {"out_features": 3})], x, y, lr=0.05)
    pred = (out > 0).numpy().astype(int)
    assert metrics["val_f1"] == pytest.approx(f1_score(yv.numpy(), pred, average="micro"))
    assert metrics["val_exact"] == pytest.approx((pred == yv.numpy()).all(1).mean())


def test_segmentation_pixel_accuracy_and_mean_iou(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 1, 6, 6)).astype(np.float32)
    y = np.digitize(x[:, 0], [-0.5, 0.5]).astype(np.int64)  # 3 classes from the value
    metrics, out, yv = run(tmp_path, "segment", [1, 6, 6],
                           [("c", "Conv2d", {"out_channels": 3, "kernel_size": 1})], x, y,
                           lr=0.05)
    pred = out.argmax(1).flatten().numpy()
    truth = yv.flatten().numpy()
    assert metrics["val_pixel_acc"] == pytest.approx((pred == truth).mean())
    assert metrics["val_miou"] == pytest.approx(jaccard_score(truth, pred, average="macro"))


def test_an_autoencoder_learns_its_input_and_ignores_the_y(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(200, 8)).astype(np.float32)
    metrics, out, _ = run(tmp_path, "autoencode", [8], [("fc", "Linear", {"out_features": 8})],
                          x, np.zeros((200, 5)), lr=0.05)
    assert set(metrics) >= {"val_loss", "train_loss"} and metrics["val_acc"] is None
    assert metrics["val_loss"] < float(np.var(x))  # better than the mean
