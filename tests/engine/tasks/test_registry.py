"""The task registry and the project format's "task" key: every task the format names has
its plug-in, old files keep their meaning, and a wrong name says what is known."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.project import TASKS, TRAINING_FIELDS, dumps_project, loads_project
from torchloom.engine.tasks import get_task, task_class, task_names

from ..builders import project_text

INPUT = {"id": "x", "type": "Input", "params": {"shape": [4]}}


def test_every_task_of_the_format_has_a_plug_in_that_declares_itself():
    assert task_names() == ("classify", "regress", "multilabel", "segment", "autoencode",
                            "gan", "language_model")
    for name in task_names():
        task = task_class(name)
        assert task.name == name and task.title and task.summary
        assert set(task.settings()) <= set(TRAINING_FIELDS)
        assert task.metric_columns[0] == "epoch" and task.charts
        for chart in task.charts:  # every chart draws metrics the task reports
            reported = {*task.metric_columns, "loss", "accuracy", *("d_loss", "g_loss",
                                                                    "d_real_acc",
                                                                    "d_fake_acc")}
            assert set(chart.batch) | set(chart.epoch) <= reported, (name, chart)
        assert task.graph_keys() == TASKS[name].graphs
        assert get_task(name) is not get_task(name)  # one instance per run


def test_importing_the_declarations_does_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; from torchloom.engine.tasks import task_class, task_names; "
            "[task_class(n).settings() for n in task_names()]; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize("top, task", [
    ({}, "classify"),
    ({"training": {"loss": "mse"}}, "regress"),  # before the key: mse trained a regression
    ({"training": {"loss": "cross_entropy"}}, "classify"),
    ({"task": "segment"}, "segment"),
    ({"task": "autoencode", "training": {"loss": "bce"}}, "autoencode"),
])
def test_the_task_a_file_names(top, task):
    project = loads_project(project_text([INPUT], [], **top))
    assert project.task == task
    saved = json.loads(dumps_project(project))
    assert saved.get("task", "classify") == task  # written for every task but classify
    assert loads_project(dumps_project(project)).task == task


def test_an_unknown_task_names_the_key_and_lists_the_known_ones():
    with pytest.raises(ProjectFileError) as info:
        loads_project(project_text([INPUT], [], task="detect"))
    assert info.value.where == "task"
    assert "unknown task 'detect'" in info.value.message
    assert all(f'"{name}"' in info.value.message for name in task_names())


def test_a_loss_of_another_task_is_refused_naming_that_task():
    with pytest.raises(ProjectFileError) as info:
        loads_project(project_text([INPUT], [], task="classify", training={"loss": "mse"}))
    assert info.value.where == "training.loss"
    assert 'mse is a regress loss: set "task": "regress"' in info.value.message


def test_each_task_shows_its_own_loss_choices():
    assert "loss" not in task_class("classify").settings()  # one loss: nothing to choose
    assert task_class("regress").setting("loss").choices == ("mse", "l1", "huber")
    assert task_class("autoencode").setting("loss").choices == ("mse", "bce")
    assert "betas" in task_class("gan").settings() and "val_split" not in task_class(
        "gan").settings()


def test_every_task_has_a_template_of_its_own_task_that_checks():
    from torchloom.engine.project import load_project
    from torchloom.engine.resources import examples_dir

    for name in task_names():
        task = task_class(name)
        project = load_project(examples_dir() / task.template)
        assert project.task == name, task.template
        assert task().analyze(project).ok, task.template

