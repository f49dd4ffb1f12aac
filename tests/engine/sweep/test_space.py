"""Reading `--param` specs against the settings and blocks they name, and their errors."""

from __future__ import annotations

import pytest

from torchloom.engine.errors import SweepError
from torchloom.engine.sweep.run import choose_metric, run_sweep
from torchloom.engine.sweep.space import apply_values, parse_param, parse_space

from .helpers import tiny_project


@pytest.fixture
def project(tmp_path):
    return tiny_project(tmp_path)


def test_a_log_range_of_a_float_setting(project):
    p = parse_param("lr=1e-4:1e-1:log", project)
    assert (p.kind, p.low, p.high, p.log, p.node) == ("float", 1e-4, 0.1, True, None)


def test_kinds_follow_the_declarations(project):
    assert parse_param("batch_size=32,64,128", project).choices == (32, 64, 128)
    ints = parse_param("batch_size=16:128", project)
    assert (ints.kind, ints.low, ints.high) == ("int", 16, 128)
    assert parse_param("optimizer=adam,sgd", project).choices == ("adam", "sgd")
    # a float setting written with whole numbers is still a float range
    assert parse_param("weight_decay=0:1", project).kind == "float"


def test_block_parameters(project):
    p = parse_param("fc1.out_features=32,64", project)
    assert (p.node, p.key, p.choices) == ("fc1", "out_features", (32, 64))
    drop = parse_param("drop.p=0.0:0.5", project)
    assert (drop.kind, drop.node, drop.key) == ("float", "drop", "p")


@pytest.mark.parametrize("spec, setting, words", [
    ("lr=0.1:0.001", "lr", "low 0.1 is above high 0.001"),
    ("lr=0:0.1:log", "lr", "log range needs low above 0"),
    ("weight_decay=-1:0.1:log", "weight_decay", "log range needs low above 0"),
    ("lr=-0.1:0.1", "lr", "must be a number > 0.0"),
    ("fc1x.out_features=8,16", "fc1x.out_features", "no block 'fc1x' (did you mean fc1?)"),
    ("fc1.out_feature=8,16", "fc1.out_feature",
     "no parameter 'out_feature' (did you mean out_features?)"),
    ("fc1.in_features=8,16", "fc1.in_features", "it has out_features, bias"),
    ("learning_rate=0.1,0.2", "learning_rate", "is not a training setting"),
    ("ephocs=1:3", "ephocs", "did you mean epochs?"),
    ("batch_size=1.5:8", "batch_size", "'1.5' is not a whole number"),
    ("optimizer=adam:sgd", "optimizer", "takes a list of values, not a range"),
    ("optimizer=adam,rmsprop", "optimizer", "must be one of"),
    ("drop.p=0:2", "drop.p", "must be a number"),
    ("lr=1e-3:1e-1:cube", "lr", "not a range"),
    ("early_stopping=1,2", "early_stopping", "cannot be swept"),
    ("lr", "--param", "not a sweep range"),
])
def test_bad_specs_name_the_setting(project, spec, setting, words):
    with pytest.raises(SweepError) as info:
        parse_param(spec, project)
    assert info.value.setting == setting
    assert words in info.value.describe()
    assert info.value.describe().startswith(f"{setting}: ")


def test_a_name_given_twice_and_no_param(project):
    with pytest.raises(SweepError, match="given twice"):
        parse_space(["lr=0.1,0.2", "lr=0.001:0.01"], project)
    with pytest.raises(SweepError, match="nothing to sweep"):
        parse_space([], project)


def test_unknown_metric_lists_the_task_s(project):
    with pytest.raises(SweepError) as info:
        choose_metric(project, "val_f1", None)
    assert info.value.setting == "--metric"
    assert "it reports train_loss, train_acc, val_loss, val_acc" in info.value.message
    assert choose_metric(project, None, None) == ("val_acc", "max")
    assert choose_metric(project, "val_loss", None) == ("val_loss", "min")


def test_higher_is_better_for_the_scores_of_every_task():
    from torchloom.engine.train.early_stop import metric_mode

    for metric in ("val_acc", "val_r2", "val_f1", "val_exact", "val_miou", "val_pixel_acc"):
        assert metric_mode(metric) == "max", metric
    for metric in ("val_loss", "val_mae", "val_ppl"):
        assert metric_mode(metric) == "min", metric


def test_trials_below_one(project):
    with pytest.raises(SweepError) as info:
        run_sweep(project, parse_space(["lr=0.1,0.2"], project), trials=0)
    assert info.value.setting == "--trials"


def test_values_go_into_a_copy(project):
    space = parse_space(["lr=1e-3:1e-1:log", "fc1.out_features=8,32"], project)
    copy = apply_values(project, space, {"lr": 0.02, "fc1.out_features": 8})
    assert copy.training["lr"] == 0.02 and copy.graph.node("fc1").params["out_features"] == 8
    assert copy.path == project.path
    assert "lr" not in project.training
    assert project.graph.node("fc1").params["out_features"] == 16
