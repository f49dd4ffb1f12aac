"""`torchloom probe RUN --stats [--json]`: a run's per-layer statistics on the command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from torchloom.engine.cli import main
from torchloom.engine.probe.stats_history import IMAGE_BINS, StatsHistory
from torchloom.engine.tasks.prepare import prepare_training

from .train.helpers import mlp_project


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("stats")
    project = mlp_project(root, dropout=0.0, epochs=2, stats_every=10)
    result = prepare_training(project, overrides={"device": "cpu"}, out_dir=root / "run").run()
    assert result.status == "finished"
    return root


def test_json_gives_every_layers_gradient_norm_per_epoch(run, capsys):
    assert main(["probe", str(run / "run"), "--stats", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"run", "captures", "steps", "epochs", "nodes", "last"}
    assert out["epochs"] == [1, 2]
    assert out["captures"] == len(out["steps"]) and out["steps"] == sorted(out["steps"])
    nodes = {item["node"]: item for item in out["nodes"]}
    assert list(nodes)[:3] == ["fc1", "relu", "fc2"]  # from the input to the output
    for layer in ("fc1", "fc2"):
        item = nodes[layer]
        assert len(item["grad_norm"]) == 2
        assert all(math.isfinite(v) and v > 0 for v in item["grad_norm"])
        assert item["nonfinite"] == [0, 0]
        assert item["params"] == (64 * 32 + 32 if layer == "fc1" else 32 * 10 + 10)
    assert 0 <= nodes["relu"]["dead_relu"] <= 1 and "grad_norm" not in nodes["relu"]
    assert out["last"]["step"] == out["steps"][-1]
    assert sum(out["last"]["nodes"]["fc2"]["weight"]["counts"]) == 330


def test_text_prints_a_row_per_layer_and_out_writes_the_same_json(run, capsys, tmp_path):
    project = run / "mlp.json"
    assert main(["probe", str(project), "--weights", str(run / "run"), "--stats",
                 "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "epoch 1" in text and "epoch 2" in text
    rows = [line for line in text.splitlines() if line.startswith(("fc1", "fc2", "relu"))]
    assert len(rows) == 3 and rows[1].rstrip().endswith("%")  # the ReLU's dead share
    written = json.loads((tmp_path / "stats.json").read_text())
    assert written["epochs"] == [1, 2]


def test_a_run_without_stats_is_a_one_line_error_with_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["probe", str(tmp_path / "empty"), "--stats", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "has no stats.jsonl" in captured.err and len(captured.err.splitlines()) == 1
    assert main(["probe", str(tmp_path / "nowhere"), "--stats"]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_without_stats_the_old_flags_are_still_required(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["probe", str(tmp_path / "p.json"), "--node", "fc1"])
    assert exited.value.code == 2
    assert "--weights" in capsys.readouterr().err


def test_the_histogram_image_puts_every_capture_on_shared_bins(run):
    history = StatsHistory.read(run / "run")
    steps, edges, image, bad = history.histogram_image("fc1", "grad")
    assert steps == [c["step"] for c in history.captures]
    assert image.shape == (len(steps), IMAGE_BINS) and edges.shape == (IMAGE_BINS + 1,)
    assert np.allclose(image.sum(axis=1), 1.0) and bad == [0] * len(steps)
    assert history.histogram_image("relu", "weight")[0] == []  # no weights: nothing to draw
