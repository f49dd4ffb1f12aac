"""The study loop: trials as ordinary runs, the best reported, resuming, pruning, --json."""

from __future__ import annotations

import json

import optuna

from torchloom.engine.cli import main
from torchloom.engine.project import load_project
from torchloom.engine.sweep.run import run_sweep, study_path
from torchloom.engine.sweep.space import parse_space

from .helpers import tiny_project


def _sweep(project, specs, **kwargs):
    return run_sweep(project, parse_space(specs, project), **kwargs)


def test_eight_trials_report_the_best_and_each_is_a_run(tmp_path):
    project = tiny_project(tmp_path, epochs=1)
    result = _sweep(project, ["lr=1e-4:3e-1:log"], trials=8)
    assert len(result.trials) == 8
    done = sorted((t for t in result.trials if t.state == "complete"),
                  key=lambda t: t.value, reverse=True)
    best = result.best
    assert best is not None and best.value == done[0].value
    assert best.params["lr"] in [t.params["lr"] for t in done[:2]]
    assert len({t.params["lr"] for t in result.trials}) == 8  # it did try different rates
    # the best trial's folder is a run like any other, trained with the trial's rate
    trained = load_project(tmp_path / best.run_dir / "project.json")
    assert trained.training["lr"] == best.params["lr"]
    metrics = (tmp_path / best.run_dir / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 1 + 1
    # one epoch each: nothing to prune, every trial runs to its end
    assert {t.state for t in result.trials} == {"complete"}
    assert "lr" not in load_project(tmp_path / "tiny.json").training


def test_a_sweep_resumes_from_its_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # run folders are named relative to where it runs
    project = tiny_project(tmp_path, epochs=1)
    first = _sweep(project, ["lr=1e-3:1e-1:log", "fc1.out_features=8,16"], trials=3)
    assert len(first.trials) == 3 and study_path(project).is_file()
    again = _sweep(load_project(tmp_path / "tiny.json"),
                   ["lr=1e-3:1e-1:log", "fc1.out_features=8,16"], trials=5)
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4]
    study = optuna.load_study(study_name="tiny",
                              storage=f"sqlite:///{study_path(project).resolve()}")
    assert len(study.trials) == 5
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert len(runs) == 5
    # asking for what the study already holds trains nothing more
    assert len(_sweep(project, ["lr=1e-3:1e-1:log"], trials=4).trials) == 5


def test_an_obviously_worse_trial_is_pruned(tmp_path):
    project = tiny_project(tmp_path, epochs=4)
    storage = tmp_path / "study.sqlite"
    study = optuna.create_study(storage=f"sqlite:///{storage}", study_name="tiny",
                                direction="maximize")
    for lr in (0.05, 0.05, 1e-7):  # two good rates, then one that learns nothing
        study.enqueue_trial({"lr": lr})
    result = _sweep(project, ["lr=0.05,0.0000001"], trials=3, storage=storage,
                    pruner_startup=2)
    states = {t.params["lr"]: t.state for t in result.trials}
    assert [t.state for t in result.trials[:2]] == ["complete", "complete"]
    assert states[1e-7] == "pruned"
    hopeless = result.trials[2]
    rows = (tmp_path / hopeless.run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert 1 <= len(rows) < 4  # stopped after the epoch that was judged, not trained out
    assert json.loads((tmp_path / hopeless.run_dir / "run.json").read_text())["status"] \
        == "stopped"


def test_json_output(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tiny_project(tmp_path, epochs=1)
    code = main(["sweep", "tiny.json", "--trials", "2", "--param", "lr=1e-3:1e-1:log",
                 "--param", "batch_size=16,32", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == {"best", "trials"}
    assert set(out["best"]) == {"params", "value", "run_dir"}
    assert set(out["best"]["params"]) == {"lr", "batch_size"}
    assert [set(t) for t in out["trials"]] == [{"number", "params", "value", "state",
                                                "run_dir"}] * 2
    assert out["best"]["value"] == max(t["value"] for t in out["trials"])
    assert all((tmp_path / t["run_dir"] / "model.safetensors").is_file()
               for t in out["trials"])


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    tiny_project(tmp_path)
    path = str(tmp_path / "tiny.json")
    for argv, words in (
            (["--param", "lr=0.1:0.01"], "error: lr: the range is empty"),
            (["--param", "fc1x.out_features=1,2"], "error: fc1x.out_features: the graph has "
                                                  "no block 'fc1x' (did you mean fc1?)"),
            (["--param", "lr=1e-3:1e-1", "--metric", "val_r2"],
             "error: --metric: 'val_r2' is not a metric the classify task reports"),
            (["--param", "lr=1e-3:1e-1", "--epochs", "1", "--param", "epochs=1,2"],
             "error: epochs: is swept")):
        code = main(["sweep", path, "--trials", "1", *argv])
        err = capsys.readouterr().err
        assert code == 2 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists() or not any(
        p.is_dir() for p in (tmp_path / "runs").iterdir())


def test_a_trial_a_crash_left_running_is_closed_and_run_again(tmp_path):
    project = tiny_project(tmp_path, epochs=1)
    storage = tmp_path / "study.sqlite"
    study = optuna.create_study(storage=f"sqlite:///{storage}", study_name="tiny",
                                direction="maximize")
    study.ask()  # as a process killed mid-trial leaves it: RUNNING for ever
    result = _sweep(project, ["lr=1e-3:1e-1:log"], trials=2, storage=storage)
    assert [t.state for t in result.trials] == ["fail", "complete", "complete"]


def test_timeout_starts_no_new_trial(tmp_path):
    project = tiny_project(tmp_path, epochs=1)
    result = _sweep(project, ["lr=1e-3:1e-1:log"], trials=50, timeout=0.001)
    assert 1 <= len(result.trials) <= 2 and not result.stopped
