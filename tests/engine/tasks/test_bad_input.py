"""Wrong data for a task: one sentence naming the file, key or node and the fix, exit code
2 from `torchloom train`, and no run folder left behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from torchloom.engine.cli import main

from ..builders import edge


def project(tmp_path, task, shape, layers, dataset, **training):
    nodes = [{"id": "x", "type": "Input", "params": {"shape": shape}}]
    edges, prev = [], "x"
    for node_id, type_name, params in layers:
        nodes.append({"id": node_id, "type": type_name, "params": params})
        edges.append(edge(prev, node_id))
        prev = node_id
    data = {"format": "torchloom-project", "version": 1, "name": "t", "task": task,
            "graph": {"nodes": nodes, "edges": edges}, "dataset": dataset,
            "training": {"epochs": 1, **training}}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    return path


def train(capsys, path):
    code = main(["train", str(path), "--quiet", "--device", "cpu"])
    return code, capsys.readouterr().err


def conv(k, **more):
    return ("c", "Conv2d", {"out_channels": k, "kernel_size": 1, **more})


def masks(tmp_path, y, size=8):
    x = np.random.default_rng(0).normal(size=(len(y), 1, size, size)).astype(np.float32)
    np.savez(tmp_path / "m.npz", x=x, y=y)
    return {"path": "m.npz"}


CASES = {
    "segment output smaller than the masks": (
        "segment", [1, 8, 8], [conv(3), ("pool", "MaxPool2d", {"kernel_size": 2})],
        lambda t: masks(t, np.zeros((20, 8, 8), np.int64) + np.arange(2).repeat(10)[:, None,
                                                                                    None]),
        "segment: the output of pool is [N, 3, 4, 4] but the masks are 8x8: remove a "
        "pooling layer or add an Upsample"),
    "mask classes beyond the output's": (
        "segment", [1, 8, 8], [conv(2)],
        lambda t: masks(t, np.arange(20 * 64).reshape(20, 8, 8) % 4),
        "segment: the masks hold classes 0 to 3 but c gives 2 scores per pixel: set its "
        "out_channels to 4"),
    "a negative class in a mask": (
        "segment", [1, 8, 8], [conv(2)],
        lambda t: masks(t, -np.ones((20, 8, 8), np.int64)),
        "m.npz: key 'y': the mask of sample 0 holds -1 at pixel (0, 0): a mask holds class "
        "indices 0, 1, 2, ..."),
    "masks that are one label per sample": (
        "segment", [1, 8, 8], [conv(2)], lambda t: masks(t, np.arange(20) % 2),
        "masks must hold one class per pixel, shape [n, height, width], got shape [20]"),
    "multi-label targets that are not 0/1": (
        "multilabel", [4], [("fc", "Linear", {"out_features": 3})],
        lambda t: _npz(t, np.full((20, 3), 0.5)),
        "label of sample 0 holds 0.5 for label 0: multi-label targets are 0 or 1 per label"),
    "fewer outputs than labels": (
        "multilabel", [4], [("fc", "Linear", {"out_features": 2})],
        lambda t: _npz(t, np.eye(3)[np.arange(20) % 3]),
        "multilabel: the output of fc is [N, 2] but the data has 3 labels per sample "
        "([N, 3]): set fc's out_features to 3"),
    "NaN among regression targets": (
        "regress", [4], [("fc", "Linear", {"out_features": 1})],
        lambda t: _npz(t, np.where(np.arange(20) == 7, np.nan, 1.0)),
        "label of sample 7 is NaN or infinite"),
    "an autoencoder whose output is not its input's shape": (
        "autoencode", [4], [("fc", "Linear", {"out_features": 3})],
        lambda t: _npz(t, None),
        "autoencode: the output of fc is [N, 3] but the inputs are [N, 4], and an "
        "autoencoder reproduces its input: make fc output [4]"),
    "bce on data beyond [0, 1]": (
        "autoencode", [4], [("fc", "Linear", {"out_features": 4})],
        lambda t: _npz(t, None, scale=5.0),
        "autoencode: the loss bce reproduces values in [0, 1], and the data ranges from"),
    "a built-in of another task": (
        "segment", [3, 32, 32], [conv(4)], lambda t: {"name": "shapes"},
        "the built-in dataset 'shapes' holds classification targets: it is for the classify "
        "task"),
}


def _npz(tmp_path, y, scale=1.0):
    x = (np.random.default_rng(0).uniform(size=(20, 4)) * scale).astype(np.float32)
    arrays = {"x": x} if y is None else {"x": x, "y": y}
    np.savez(tmp_path / "d.npz", **arrays)
    return {"path": "d.npz"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_wrong_data_is_one_sentence_exit_2_and_no_run_folder(case, tmp_path, capsys):
    task, shape, layers, dataset, message = CASES[case]
    training = {"loss": "bce"} if case.startswith("bce") else {}
    path = project(tmp_path, task, shape, layers, dataset(tmp_path), **training)
    code, err = train(capsys, path)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("task, template, edit, message", [
    ("segment", "shape_masks_unet.json", ("classes", "stride", 2),
     "segment: the output of classes is [N, 4, 16, 16] but the masks are 32x32: remove a "
     "pooling layer or add an Upsample"),
    ("multilabel", "shape_tags_cnn.json", ("tags", "out_features", 5),
     "multilabel: the output of tags is [N, 5] but the data has 3 labels per sample"),
    ("autoencode", "mnist_autoencoder.json", ("image", "unflattened_size", [1, 784]),
     "autoencode: the output of image is [N, 1, 784] but the inputs are [N, 1, 28, 28]"),
])
def test_a_built_in_datasets_declaration_marks_the_output_node_before_any_loading(
        task, template, edit, message, tmp_path, capsys):
    from torchloom.engine.project import load_project, save_project
    from torchloom.engine.resources import examples_dir
    from torchloom.engine.tasks import task_for

    project = load_project(examples_dir() / template)
    node, param, value = edit
    project.graph.node(node).params[param] = value
    analysis = task_for(project).analyze(project)
    shown = [e.message for e in analysis.nodes[analysis.output].errors]
    assert any(message in m for m in shown), [e.describe() for e in analysis.problems]
    save_project(project, tmp_path / "p.json")
    assert main(["check", str(tmp_path / "p.json")]) == 1
    assert message.split(":")[0] in capsys.readouterr().out
