"""Several outputs, each with a head (``"heads"``): the file format, the error and its fix
for outputs without heads, the compiled tuple, training with per-head metrics from an NPZ
and the exports."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from torchloom.engine import api
from torchloom.engine.cli import main
from torchloom.engine.compile import compile_graph
from torchloom.engine.errors import MultipleOutputsError, ProjectFileError
from torchloom.engine.export import export_project
from torchloom.engine.heads import default_heads
from torchloom.engine.project import dumps_project, load_project, loads_project
from torchloom.engine.shapes import infer
from torchloom.engine.tasks import task_for

from ..builders import edge

HEADS = {"cls": {"task": "classify", "target": "label", "weight": 1.0},
         "num": {"task": "regress", "target": "value", "weight": 0.5}}


def two_heads(heads=HEADS, **top):
    """A shared Linear trunk on 6 numbers, a 3-class head and a 1-number head."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [6]}},
             {"id": "fc", "type": "Linear", "params": {"out_features": 16}},
             {"id": "act", "type": "ReLU"},
             {"id": "cls", "type": "Linear", "params": {"out_features": 3}},
             {"id": "num", "type": "Linear", "params": {"out_features": 1}}]
    edges = [edge("x", "fc"), edge("fc", "act"), edge("act", "cls"), edge("act", "num")]
    data = {"format": "torchloom-project", "version": 1, "name": "two heads",
            "graph": {"nodes": nodes, "edges": edges}, **top}
    if heads is not None:
        data["heads"] = heads
    return data


def npz(tmp_path, n=120, **drop):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    arrays = {"x": x, "label": x[:, :3].argmax(1), "value": x.sum(1)}
    for key in drop:
        arrays.pop(key)
    np.savez(tmp_path / "d.npz", **arrays)
    return {"path": "d.npz"}


def saved(tmp_path, data):
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


# ---- the file format ------------------------------------------------------------------


def test_heads_load_save_and_load_again_in_their_order():
    reordered = {"num": HEADS["num"], "cls": HEADS["cls"]}
    project = loads_project(json.dumps(two_heads(reordered)))
    assert list(project.heads) == ["num", "cls"]
    assert project.heads["num"].weight == 0.5 and project.heads["num"].target == "value"
    again = loads_project(dumps_project(project))
    assert again.heads == project.heads and list(again.heads) == ["num", "cls"]
    assert json.loads(dumps_project(again))["heads"] == reordered


@pytest.mark.parametrize("heads, where, words", [
    ({**HEADS, "nope": {"task": "classify", "target": "t"}}, "heads.nope", "no node 'nope'"),
    ({**HEADS, "fc": {"task": "classify", "target": "t"}}, "heads.fc", "not an output"),
    ({**HEADS, "cls": {"task": "segment", "target": "t"}}, "heads.cls.task",
     "unknown head task 'segment'"),
    ({**HEADS, "cls": {"task": "classify", "target": "t", "weight": -1}}, "heads.cls.weight",
     "weight must be a number above 0"),
    ({**HEADS, "cls": {"task": "classify", "target": "t", "weight": "big"}},
     "heads.cls.weight", "weight must be a number above 0"),
    ({**HEADS, "cls": {"task": "classify"}}, "heads.cls.target", "target must name"),
    ({**HEADS, "cls": {"task": "classify", "target": "t", "colour": 1}}, "heads.cls.colour",
     "unknown key 'colour'"),
    ([], "heads", "expected an object"),
])
def test_bad_heads_are_a_file_error_naming_the_key(heads, where, words):
    with pytest.raises(ProjectFileError) as info:
        loads_project(json.dumps(two_heads(heads)))
    assert info.value.where == where and words in info.value.message


def test_a_top_level_task_beside_heads_is_refused():
    with pytest.raises(ProjectFileError, match="leave out the top-level"):
        loads_project(json.dumps(two_heads(task="regress")))


# ---- several outputs without heads: the error and its fix -----------------------------


def test_several_outputs_without_heads_stay_an_error_with_a_fix_that_adds_them():
    project = loads_project(json.dumps(two_heads(heads=None)))
    (problem,) = [p for p in infer(project.graph).errors if isinstance(p, MultipleOutputsError)]
    assert problem.node == "cls" and problem.fix is not None
    assert problem.fix.action == "add_heads" and problem.fix.value == ["cls", "num"]
    project.set_heads(default_heads(problem.fix.value))
    assert infer(project.graph).ok
    assert json.loads(dumps_project(project))["heads"]["num"] == {
        "task": "classify", "target": "num", "weight": 1.0}


def test_an_output_left_without_a_head_is_named():
    project = loads_project(json.dumps(two_heads({"cls": HEADS["cls"]})))
    (problem,) = infer(project.graph).errors
    assert isinstance(problem, MultipleOutputsError) and problem.node == "num"
    assert "without a head" in problem.message and problem.fix.value == ["num"]


def test_the_compiled_model_returns_one_output_per_head_in_heads_order():
    for order in (["cls", "num"], ["num", "cls"]):
        project = loads_project(json.dumps(two_heads({k: HEADS[k] for k in order})))
        out = compile_graph(project.graph, seed=0)(torch.zeros(2, 6))
        assert isinstance(out, tuple)
        assert [o.shape[1] for o in out] == [3 if k == "cls" else 1 for k in order]


# ---- training -------------------------------------------------------------------------


def test_train_from_an_npz_reports_every_head_and_the_weighted_total(tmp_path, capsys):
    path = saved(tmp_path, two_heads(dataset=npz(tmp_path), training={"epochs": 2,
                                                                     "lr": 0.01}))
    metrics = tmp_path / "m.json"
    code = main(["train", str(path), "--quiet", "--device", "cpu", "--out",
                 str(tmp_path / "run"), "--metrics-json", str(metrics)])
    assert code == 0, capsys.readouterr().err
    report = json.loads(metrics.read_text())
    assert report["task"] == "heads"
    last = report["epochs"][-1]
    for key in ("val_loss", "val_loss/cls", "val_acc/cls", "val_loss/num", "val_mae/num",
                "val_r2/num"):
        assert isinstance(last[key], float), key
    assert last["val_loss"] == pytest.approx(last["val_loss/cls"] + 0.5 * last["val_loss/num"],
                                             rel=1e-5)
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0]
    assert "val_acc/cls" in header and "val_r2/num" in header


def test_train_from_the_api_learns_both_heads(tmp_path):
    path = saved(tmp_path, two_heads(dataset=npz(tmp_path, n=400),
                                     training={"epochs": 12, "lr": 0.01, "batch_size": 32}))
    run = api.train(path, run_dir=tmp_path / "run", verbose=False, device="cpu")
    assert run.status == "finished", run.error
    first, last = run.metrics[0], run.metrics[-1]
    assert last["val_acc/cls"] > 0.8  # chance is 1/3
    assert last["val_r2/num"] > 0.8 and last["val_mae/num"] < first["val_mae/num"]


def test_a_missing_target_key_names_the_head_and_the_keys_held(tmp_path, capsys):
    path = saved(tmp_path, two_heads(dataset=npz(tmp_path, value=True),
                                     training={"epochs": 1}))
    code = main(["train", str(path), "--quiet", "--device", "cpu", "--out",
                 str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no array 'value' for head num" in err and "x, label" in err
    assert not (tmp_path / "run").exists()


def test_a_head_whose_output_does_not_fit_its_targets_is_named(tmp_path, capsys):
    data = two_heads(dataset=npz(tmp_path), training={"epochs": 1})
    data["graph"]["nodes"][3]["params"]["out_features"] = 2  # 3 classes in the labels
    code = main(["train", str(saved(tmp_path, data)), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and "head cls" in err and "3 classes" in err


def test_check_and_summary_report_the_heads(tmp_path, capsys):
    path = saved(tmp_path, two_heads(dataset=npz(tmp_path)))
    assert main(["check", "--json", str(path)]) == 0
    checked = json.loads(capsys.readouterr().out)["files"][0]
    assert checked["task"] == "heads" and [h["node"] for h in checked["heads"]] == ["cls",
                                                                                      "num"]
    assert main(["summary", "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [(h["node"], h["output_shape"]) for h in summary["heads"]] == [
        ("cls", ["N", 3]), ("num", ["N", 1])]


# ---- exports --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("python", ".py"), ("onnx", ".onnx")])
def test_exports_return_every_head_and_match_the_model(tmp_path, fmt, suffix):
    project = load_project(saved(tmp_path, two_heads(dataset=npz(tmp_path))))
    result = export_project(project, fmt, tmp_path / f"model{suffix}")
    assert result.checks.get("max_abs_diff", 0.0) <= 1e-4
    if fmt == "python":
        text = (tmp_path / "model.py").read_text()
        assert "-> tuple[torch.Tensor, torch.Tensor]:" in text
        assert "return (cls, num)" in text
    else:
        import onnxruntime as ort

        session = ort.InferenceSession(str(tmp_path / "model.onnx"),
                                       providers=["CPUExecutionProvider"])
        assert [o.name for o in session.get_outputs()] == ["cls", "num"]
        model = compile_graph(project.graph, seed=0).eval()
        x = torch.randn(4, 6)
        got = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            want = model(x)
        for g, w in zip(got, want):
            assert np.allclose(g, w.numpy(), atol=1e-5)


def test_the_task_names_its_metrics_per_head():
    project = loads_project(json.dumps(two_heads()))
    task = task_for(project)
    assert task.metric_columns == ("epoch", "train_loss", "val_loss", "val_loss/cls",
                                   "val_acc/cls", "val_loss/num", "val_mae/num", "val_r2/num",
                                   "seconds", "samples_per_s")
    assert [c.title for c in task.charts][:3] == ["Loss (all heads)", "cls: Loss",
                                                  "cls: Accuracy"]


def test_a_heads_metric_ranks_as_its_tasks_own():
    from torchloom.engine.train.early_stop import metric_mode

    assert metric_mode("val_acc/cls") == "max" and metric_mode("val_r2/num") == "max"
    assert metric_mode("val_mae/num") == "min" and metric_mode("val_loss/cls") == "min"


def test_evaluate_shows_the_first_heads_views_on_its_own_targets(tmp_path):
    from torchloom.engine.probe.loaded import load_trained

    data = two_heads(dataset=npz(tmp_path), training={"epochs": 1})
    data["heads"] = {"num": HEADS["num"], "cls": HEADS["cls"]}  # the regression first
    path = saved(tmp_path, data)
    run = api.train(path, run_dir=tmp_path / "run", verbose=False, device="cpu")
    trained = load_trained(tmp_path / "run", load_project(path))
    task = task_for(trained.project)
    assert task.views == ("scatter",)
    shown = task.evaluate(trained, trained.split().val)
    assert shown.target.shape == (len(trained.split().val), 1)
    assert shown.mae()[0] == pytest.approx(run.metrics[-1]["val_mae/num"], rel=1e-4)


def test_a_multilabel_head_reports_its_own_metrics(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, label=x[:, :3].argmax(1), tags=(x[:, 3:] > 0) * 1.0)
    data = two_heads({"cls": HEADS["cls"], "num": {"task": "multilabel", "target": "tags"}},
                     dataset={"path": "d.npz"}, training={"epochs": 1})
    data["graph"]["nodes"][4]["params"]["out_features"] = 3
    run = api.train(saved(tmp_path, data), run_dir=tmp_path / "run", verbose=False,
                    device="cpu")
    assert run.status == "finished", run.error
    last = run.metrics[-1]
    assert 0 <= last["val_f1/num"] <= 1 and 0 <= last["val_exact/num"] <= 1
