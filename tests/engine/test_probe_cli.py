"""`torchloom probe`: the files it writes for conv and attention nodes, --samples, --input,
--json, and the one-line errors with their exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from torchloom.engine.cli import main
from torchloom.engine.probe.activations import capture
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.project import load_project, save_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks.prepare import prepare_training


def _trained(root: Path, example: str, dataset: dict, epochs: int) -> tuple[Path, Path]:
    project = load_project(examples_dir() / f"{example}.json")
    project.dataset = dataset
    path = root / f"{example}.json"
    save_project(project, path)
    run_dir = root / f"run_{example}"
    result = prepare_training(load_project(path), overrides={"epochs": epochs, "device": "cpu"},
                              out_dir=run_dir).run()
    assert result.status == "finished"
    return path, run_dir


@pytest.fixture(scope="module")
def cnn(tmp_path_factory) -> tuple[Path, Path]:
    return _trained(tmp_path_factory.mktemp("cnn"), "shapes_cnn", {"name": "shapes", "n": 300}, 1)


@pytest.fixture(scope="module")
def attention(tmp_path_factory) -> tuple[Path, Path]:
    return _trained(tmp_path_factory.mktemp("attn"), "attention_classifier",
                    {"name": "retrieval", "n": 800}, 3)


def probe(capsys, project: Path, run_dir: Path, *extra: str) -> tuple[int, str, str]:
    code = main(["probe", str(project), "--weights", str(run_dir), *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_conv_node_writes_feature_maps_per_sample(capsys, cnn, tmp_path):
    project, run_dir = cnn
    code, out, err = probe(capsys, project, run_dir, "--node", "conv2", "--out", str(tmp_path))
    assert code == 0, err
    k = len(np.load(run_dir / "probe.npz")["x"])
    acts = np.load(tmp_path / "conv2.npy")
    assert acts.shape == (k, 32, 16, 16) and acts.dtype == np.float32
    pngs = [tmp_path / f"conv2_sample{i}.png" for i in range(k)]
    assert out.splitlines() == [str(tmp_path / "conv2.npy")] + [str(p) for p in pngs]
    grid = Image.open(pngs[0])
    assert grid.size[0] >= 6 * 48 and grid.size[0] == grid.size[1]  # 32 maps in 6 x 6 cells
    assert len(list(tmp_path.iterdir())) == k + 1


def test_attention_node_writes_weights_and_one_heatmap_per_head(capsys, attention, tmp_path):
    project, run_dir = attention
    code, out, err = probe(capsys, project, run_dir, "--node", "attn", "--samples", "3",
                           "--out", str(tmp_path))
    assert code == 0, err
    weights = np.load(tmp_path / "attn.npy")
    assert weights.shape == (3, 4, 9, 9)
    assert np.allclose(weights.sum(-1), 1.0, atol=1e-5)
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == sorted(f"attn_sample{i}_head{h}.png" for i in range(3) for h in range(4))
    assert len(out.splitlines()) == 1 + 12


def test_other_nodes_get_a_strip_and_json_parses(capsys, attention, tmp_path):
    project, run_dir = attention
    code, out, _ = probe(capsys, project, run_dir, "--node", "norm", "--samples", "2",
                         "--out", str(tmp_path), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["node"] == "norm" and report["kind"] == "activations"
    assert report["shape"] == [2, 9, 64]
    assert [Path(f).name for f in report["files"]] == ["norm.npy", "norm_sample0.png",
                                                       "norm_sample1.png"]
    assert all(Path(f).exists() for f in report["files"])


def test_input_npz_is_probed_in_order(capsys, cnn, tmp_path):
    project, run_dir = cnn
    x = np.load(run_dir / "probe.npz")["x"][[4, 1]]  # two samples, order reversed
    np.savez(tmp_path / "mine.npz", x=x)
    code, out, err = probe(capsys, project, run_dir, "--node", "conv1", "--input",
                           str(tmp_path / "mine.npz"), "--out", str(tmp_path / "o"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "feature_maps" and report["shape"] == [2, 16, 32, 32]
    trained = load_trained(run_dir, load_project(project))
    direct = capture(trained.model, trained.prepare(torch.from_numpy(x)), trained.names,
                     nodes=["conv1"]).nodes["conv1"].activation
    assert np.allclose(np.load(tmp_path / "o" / "conv1.npy"), direct.numpy(), atol=1e-6)


def test_unknown_node_lists_the_valid_ones(capsys, cnn, tmp_path):
    project, run_dir = cnn
    for node in ("nope", "x"):  # "x" is the Input: it exists but has no layer
        code, out, err = probe(capsys, project, run_dir, "--node", node, "--out", str(tmp_path))
        assert code == 2 and out == ""
        assert err.startswith(f"error: node '{node}' does not exist or has no layer: "
                              "choose one of conv1, relu1, pool1, conv2,")
        assert len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("problem", ["missing", "no_x", "shape", "not_npz"])
def test_bad_input_file_exits_2_naming_it(capsys, cnn, tmp_path, problem):
    project, run_dir = cnn
    path = tmp_path / "in.npz"
    if problem == "no_x":
        np.savez(path, y=np.zeros(3))
    elif problem == "shape":
        np.savez(path, x=np.zeros((2, 3, 16, 16), dtype=np.float32))
    elif problem == "not_npz":
        path.write_text("hello")
    code, _, err = probe(capsys, project, run_dir, "--node", "conv1", "--input", str(path),
                         "--out", str(tmp_path / "o"))
    expected = {"missing": "no such file", "no_x": "has no array 'x'",
                "shape": "[2, 3, 16, 16] but the model's Input takes [N, 3, 32, 32]",
                "not_npz": "not an .npz file"}[problem]
    assert code == 2 and err.startswith(f"error: {path}: ") and expected in err, err
    assert len(err.splitlines()) == 1 and not (tmp_path / "o").exists()


def test_token_ids_out_of_range_are_bad_input(capsys, attention, tmp_path):
    project, run_dir = attention
    np.savez(tmp_path / "t.npz", x=np.full((1, 9), 10_000))
    code, _, err = probe(capsys, project, run_dir, "--node", "attn", "--input",
                         str(tmp_path / "t.npz"), "--out", str(tmp_path / "o"))
    assert code == 2 and "t.npz: the model cannot run on these samples" in err


def test_graph_errors_exit_1_and_bad_files_exit_2(capsys, cnn, tmp_path):
    project, run_dir = cnn
    broken = tmp_path / "broken.json"
    data = json.loads(project.read_text())
    data["graph"]["edges"].remove({"from": "pool3", "to": "flatten"})
    broken.write_text(json.dumps(data))
    code, _, err = probe(capsys, broken, run_dir, "--node", "conv1", "--out", str(tmp_path))
    assert code == 1 and "node flatten (Flatten): input 'in' is not connected" in err
    code, _, err = probe(capsys, tmp_path / "none.json", run_dir, "--node", "conv1",
                         "--out", str(tmp_path))
    assert code == 2 and "none.json: no such file" in err
    code, _, err = probe(capsys, project, tmp_path / "norun", "--node", "conv1",
                         "--out", str(tmp_path))
    assert code == 2 and "norun: no such run folder" in err


def test_samples_must_be_positive(capsys, cnn, tmp_path):
    project, run_dir = cnn
    with pytest.raises(SystemExit) as exit_info:
        probe(capsys, project, run_dir, "--node", "conv1", "--samples", "0", "--out",
              str(tmp_path))
    assert exit_info.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_a_run_without_a_stored_probe_batch_draws_one_again(capsys, cnn, tmp_path):
    project, run_dir = cnn
    old_run = tmp_path / "old_run"
    shutil.copytree(run_dir, old_run, ignore=shutil.ignore_patterns("probe.npz"))
    code, out, err = probe(capsys, project, old_run, "--node", "fc", "--samples", "2",
                           "--out", str(tmp_path / "o"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "activations" and report["shape"] == [2, 3]
    same = np.load(tmp_path / "o" / "fc.npy")
    assert probe(capsys, project, run_dir, "--node", "fc", "--samples", "2",
                 "--out", str(tmp_path / "p"))[0] == 0
    assert np.allclose(same, np.load(tmp_path / "p" / "fc.npy"), atol=1e-6)


def test_attention_axes_name_the_tokens_when_the_dataset_does():
    import torch

    from torchloom.engine.data.generators import retrieval_token_names
    from torchloom.engine.cli.probe import _token_labels

    x = torch.tensor([3, 17, 130])
    assert _token_labels(x, 3, retrieval_token_names()) == ["k0=v3", "k2=v1", "?k2"]
    assert _token_labels(x, 3) == ["3", "17", "130"]
    assert _token_labels(x, 4) == ["0", "1", "2", "3"]  # not a token sequence of that length
