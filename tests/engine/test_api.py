"""The Python API (`torchloom.engine.api`): each function on a tiny project, the same
numbers and words as the command line, and the quickstart example run as a script."""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine import api
from torchloom.engine.cli import main
from torchloom.engine.errors import (CompileError, ExportError, ProbeError, TrainingError,
                                     TrainingFailedError)
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project
from torchloom.engine.train import Callback
from torchloom.engine.train.checkpoint import CheckpointError

QUICKSTART = Path(__file__).resolve().parents[2] / "docs" / "examples" / "quickstart.py"
#: Few steps: the digits in batches of 256 are 6 steps an epoch.
TINY = {"epochs": 1, "batch_size": 256, "seed": 1, "device": "cpu"}


def mlp(hidden: int = 16) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": [1, 8, 8]}, "x")
    prev = "x"
    for node_id, type_name, params in (("flat", "Flatten", {}),
                                       ("fc1", "Linear", {"out_features": hidden}),
                                       ("relu", "ReLU", {}),
                                       ("fc2", "Linear", {"out_features": 10})):
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    return g


def digits_project(folder: Path, **training) -> Project:
    project = Project(mlp(), name="tiny", dataset={"name": "digits"},
                      training={**TINY, **training})
    save_project(project, folder / "tiny.json")
    return project


class Recorder(Callback):
    def __init__(self) -> None:
        self.begun: list[dict] = []
        self.epochs: list[int] = []

    def on_train_begin(self, info):
        self.begun.append(info)

    def on_epoch_end(self, report):
        self.epochs.append(report.epoch)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run shared by the tests that only read it."""
    folder = tmp_path_factory.mktemp("api")
    project = digits_project(folder)
    recorder = Recorder()
    run = api.train(project, callbacks=[recorder], run_dir=folder / "run", verbose=False)
    return project, run, recorder


# ---- load and summary ------------------------------------------------------------------


def test_load_and_summary_give_the_cli_numbers_and_table(tmp_path, capsys):
    digits_project(tmp_path)
    project = api.load(tmp_path / "tiny.json")
    summary = api.summary(project)
    assert summary.ok and summary.task == "classify"
    assert summary.total_params == 64 * 16 + 16 + 16 * 10 + 10
    assert summary.output_shape == ["N", 10]
    assert [row["id"] for row in summary.nodes] == ["x", "flat", "fc1", "relu", "fc2"]
    assert main(["summary", str(tmp_path / "tiny.json"), "--json"]) == 0
    assert summary.json == json.loads(capsys.readouterr().out)
    text = str(summary)
    fc1 = next(line.split() for line in text.splitlines() if line.startswith("fc1 "))
    assert fc1[:5] == ["fc1", "Linear", "[N,", "16]", "1,040"]
    assert "total params 1,210" in text
    assert repr(summary) == ("ProjectSummary('tiny', task classify, 5 nodes, 1,210 params, "
                             "output [N, 10])")


def test_summary_lists_graph_errors():
    g = mlp()
    g.node("fc2").params["out_features"] = 0
    summary = api.summary(Project(g, name="broken"))
    assert not summary.ok
    assert summary.errors and summary.errors[0].startswith("node fc2 (Linear):")
    assert "1 error(s)" in repr(summary) and summary.errors[0] in str(summary)


def test_load_of_a_broken_file_raises_the_file_error(tmp_path):
    (tmp_path / "p.json").write_text("{")
    with pytest.raises(Exception) as caught:
        api.load(tmp_path / "p.json")
    assert "p.json:1:2: not valid JSON" in caught.value.describe()


# ---- compile ---------------------------------------------------------------------------


def test_compile_gives_a_module_with_fresh_or_trained_weights(trained):
    project, run, _ = trained
    fresh = api.compile(project)
    assert fresh(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    loaded = api.compile(project, weights=run)
    saved = load_file(str(run.run_dir / "model.safetensors"))
    assert torch.equal(loaded.state_dict()["fc1.weight"], saved["fc1.weight"])
    assert not torch.equal(fresh.state_dict()["fc1.weight"], saved["fc1.weight"])


def test_compile_of_a_broken_graph_raises_with_every_error():
    g = mlp()
    g.node("fc2").params["out_features"] = 0
    with pytest.raises(CompileError) as caught:
        api.compile(Project(g))
    assert [e.node for e in caught.value.errors] == ["fc2"]


def test_a_gan_compiles_to_one_module_keyed_like_its_run_folder():
    project = api.load(Path(__file__).resolve().parents[2] / "resources" / "examples"
                       / "gan_mnist.json")
    model = api.compile(project)
    assert model.generator(torch.zeros(2, 100)).shape == (2, 1, 28, 28)
    assert {key.split(".")[0] for key in model.state_dict()} == {"generator", "discriminator"}
    summary = api.summary(project)
    assert {row["graph"] for row in summary.nodes} == {"generator", "discriminator"}
    assert summary.total_params == 481425


# ---- train -----------------------------------------------------------------------------


def test_train_returns_the_run_with_the_metrics_json_keys(trained):
    _, run, recorder = trained
    assert run.status == "finished" and run.device == "cpu"
    assert (run.run_dir / "model.safetensors").exists()
    assert len(run.metrics) == 1
    assert set(run.metrics[0]) == {"epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                                   "samples_per_s"}
    assert recorder.epochs == [1] and len(recorder.begun) == 1  # the callback was called


def test_train_gives_the_numbers_torchloom_train_writes(trained, tmp_path, capsys):
    project, run, _ = trained
    save_project(project, tmp_path / "same.json")
    code = main(["train", str(tmp_path / "same.json"), "--quiet", "--out",
                 str(tmp_path / "cli"), "--metrics-json", str(tmp_path / "m.json")])
    assert code == 0, capsys.readouterr().err
    written = json.loads((tmp_path / "m.json").read_text())
    assert set(written) == set(run.metrics_json())
    timing = "samples_per_s"
    assert [{k: v for k, v in e.items() if k != timing} for e in written["epochs"]] == \
        [{k: v for k, v in e.items() if k != timing} for e in run.metrics]


def test_train_prints_the_epoch_lines(tmp_path, capsys):
    api.train(digits_project(tmp_path), run_dir=tmp_path / "r")
    out = capsys.readouterr().out
    assert "training tiny on cpu: digits" in out and "epoch 1: train loss" in out


@pytest.mark.parametrize("name, hint", [("epoch", "did you mean 'epochs'?"),
                                        ("learning_rate", "the settings: epochs, batch_size")])
def test_an_unknown_setting_is_refused_before_anything_runs(tmp_path, name, hint):
    project = digits_project(tmp_path)
    with pytest.raises(TrainingError) as caught:
        api.train(project, **{name: 1})
    assert f"unknown training setting '{name}'" in str(caught.value)
    assert hint in str(caught.value)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("flag, value", [("epochs", "0"), ("lr", "-1"), ("batch_size", "0")])
def test_a_bad_value_is_refused_in_the_cli_s_words(tmp_path, capsys, flag, value):
    project = digits_project(tmp_path)
    code = main(["train", str(tmp_path / "tiny.json"), "--quiet",
                 f"--{flag.replace('_', '-')}", value])
    assert code == 2
    cli_line = capsys.readouterr().err.strip().removeprefix("error: ")
    typed = int(value) if flag != "lr" else float(value)
    with pytest.raises(TrainingError) as caught:
        api.train(project, **{flag: typed})
    assert str(caught.value) == cli_line


def test_callbacks_must_be_engine_callbacks(tmp_path):
    with pytest.raises(TypeError, match="Callback"):
        api.train(digits_project(tmp_path), callbacks=[print])


def test_a_run_that_fails_raises_with_its_run(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    np.savez(tmp_path / "reg.npz", x=x, y=(x @ np.array([1.0, -2.0, 0.5, 3.0])).astype(
        np.float32))
    g = Graph()
    g.add_node("Input", {"shape": [4]}, "x")
    g.add_node("Linear", {"out_features": 1}, "fc")
    g.connect("x", "fc")
    project = Project(g, name="reg", dataset={"path": "reg.npz"}, task="regress",
                      training={"loss": "mse", "epochs": 3, "batch_size": 16, "device": "cpu",
                                "optimizer": "sgd", "lr": 10.0, "momentum": 0.0})
    save_project(project, tmp_path / "reg.json")
    with pytest.raises(TrainingFailedError) as caught:
        api.train(project, verbose=False)
    assert "the loss became NaN" in str(caught.value) and caught.value.kind == "nan"
    assert caught.value.run.status == "failed"


class InterruptOnce(Callback):
    """What a person's Ctrl+C (or a notebook's stop button) does mid-run."""

    def __init__(self) -> None:
        self.sent = False

    def on_batch_end(self, report):
        if not self.sent:
            self.sent = True
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to oneself is POSIX")
def test_an_interrupt_stops_the_run_and_resume_continues_it(tmp_path):
    project = digits_project(tmp_path, epochs=2, batch_size=128)
    before = signal.getsignal(signal.SIGINT)
    run = api.train(project, callbacks=[InterruptOnce()], run_dir=tmp_path / "r",
                    verbose=False)
    assert run.status == "stopped" and len(run.metrics) < 2
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back
    resumed = api.train(project, resume=run, verbose=False)
    assert resumed.status == "finished" and [m["epoch"] for m in resumed.metrics] == [1, 2]


# ---- Run -------------------------------------------------------------------------------


def test_run_open_gives_the_same_metrics(trained):
    _, run, _ = trained
    again = api.Run.open(run.run_dir)
    assert again.metrics == run.metrics
    assert again.metrics_json() == run.metrics_json()
    assert again.status == "finished" and again.project.name == "tiny"
    assert repr(again) == repr(run) and repr(run).startswith(f"Run({str(run.run_dir)!r}")


def test_run_open_of_something_that_is_not_a_run(tmp_path):
    with pytest.raises(CheckpointError, match="no such run folder"):
        api.Run.open(tmp_path / "missing")
    with pytest.raises(CheckpointError, match="not a run folder"):
        api.Run.open(tmp_path)


def test_dataframe_needs_pandas_and_says_so(trained, monkeypatch):
    _, run, _ = trained
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        run.dataframe()
    fake = types.ModuleType("pandas")
    fake.DataFrame = lambda rows: ("frame", rows)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pandas", fake)
    assert run.dataframe() == ("frame", run.metrics)


# ---- export and probe -------------------------------------------------------------------


def test_export_writes_a_verified_file_with_the_run_s_weights(trained, tmp_path):
    project, run, _ = trained
    result = api.export(project, "python", tmp_path / "model.py", weights=run)
    assert result.files == [tmp_path / "model.py"] and result.checks["outputs_identical"]
    assert any("trained on normalised inputs" in note for note in result.notes)
    with pytest.raises(ExportError, match="unknown format 'keras'"):
        api.export(project, "keras", tmp_path / "m.keras")
    with pytest.raises(ExportError, match="no such run folder or weights file"):
        api.export(project, "python", tmp_path / "m.py", weights=tmp_path / "nothing")


def test_probe_returns_the_node_s_activations(trained):
    project, run, _ = trained
    capture = api.probe(run, "fc1")
    assert capture.kind == "activations" and capture.shape[1] == 16
    assert capture.x.shape[1:] == (1, 8, 8) and capture.shape[0] == capture.x.shape[0]
    by_path = api.probe(str(run.run_dir), "fc1", samples=3)
    assert torch.allclose(by_path.data, capture.data[:3], atol=1e-6)
    mine = api.probe(run, "fc2", x=np.zeros((2, 8, 8), dtype=np.float32))  # channel added
    assert mine.shape == (2, 10)


def test_probe_refuses_what_it_cannot_look_at(trained):
    _, run, _ = trained
    with pytest.raises(ProbeError, match="choose one of flat, fc1, relu, fc2"):
        api.probe(run, "nope")
    with pytest.raises(ProbeError) as caught:
        api.probe(run, "fc1", x=torch.zeros(2, 3, 3))
    assert caught.value.describe() == ("x: the samples are [2, 3, 3] but the model's Input "
                                       "takes [N, 1, 8, 8]")


# ---- the example -------------------------------------------------------------------------


def test_the_quickstart_example_runs_as_a_script(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(QUICKSTART), run_name="__main__")
    out = capsys.readouterr().out
    assert (tmp_path / "quickstart_curves.png").stat().st_size > 1000
    assert "wrote quickstart_curves.png" in out
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["1"], ["2"])]
    assert [row[0] for row in rows] == ["1", "2"] and all(len(row) == 5 for row in rows)
    assert (tmp_path / "runs" / "quickstart" / "model.safetensors").exists()


def test_the_printed_summary_escapes_ids_as_the_command_line_does(tmp_path):
    """An id from someone's file holding an escape sequence or a line break must not
    rewrite a terminal (or fake a row) when a script prints the summary."""
    from .builders import edge, write_project

    nasty = "fc\x1b[2J\nfake row"
    path = write_project(tmp_path, "nasty.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                          {"id": nasty, "type": "Linear", "params": {"out_features": 2}}],
                         [edge("x", nasty)])
    text = str(api.summary(str(path)))
    assert "\x1b" not in text and "\nfake row" not in text and "\\u001b[2J" in text
