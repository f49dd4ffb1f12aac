"""An NPZ feeding a model with several Input nodes: arrays named after the Input ids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchloom.engine.errors import DataError
from torchloom.engine.tasks import task_for
from torchloom.engine.train.config import TrainConfig

from .two_inputs import two_input_arrays, two_input_graph, two_input_project, write_two_inputs


def load(project):
    return task_for(project).load_split(project, TrainConfig.from_project(project))[0]


def test_each_input_reads_the_array_named_after_it(tmp_path):
    write_two_inputs(tmp_path, n=60)
    split = load(two_input_project(tmp_path))
    arrays = two_input_arrays(60)
    full = split.full
    assert full.several and list(full.inputs) == ["img", "meta"]
    assert torch.equal(full.inputs["img"], torch.from_numpy(arrays["img"]))
    assert torch.equal(full.inputs["meta"], torch.from_numpy(arrays["meta"]))
    described = split.describe()
    assert described["input_shape"] == {"img": [1, 8, 8], "meta": [3]}
    assert set(described["normalization"]["inputs"]) == {"img", "meta"}


def test_a_missing_key_names_the_input_node_and_the_keys_the_file_has(tmp_path):
    write_two_inputs(tmp_path, drop=("meta",), n=30)
    with pytest.raises(DataError) as caught:
        load(two_input_project(tmp_path))
    text = caught.value.describe()
    assert "two.npz" in text and "Input node meta" in text
    assert "it holds: img, y" in text


def test_a_shape_that_does_not_fit_names_the_node_the_key_and_both_shapes(tmp_path):
    write_two_inputs(tmp_path, n=30)
    with pytest.raises(DataError) as caught:
        load(two_input_project(tmp_path, graph=two_input_graph(img_shape=[3, 8, 8])))
    text = caught.value.describe()
    assert "array 'img' has samples of shape [1, 8, 8]" in text
    assert "the Input node img expects [3, 8, 8]" in text


def test_a_missing_channel_dimension_is_added_per_input(tmp_path):
    arrays = two_input_arrays(30)
    np.savez(tmp_path / "two.npz", img=arrays["img"][:, 0], meta=arrays["meta"], y=arrays["y"])
    split = load(two_input_project(tmp_path))
    assert split.full.input_shapes == {"img": (1, 8, 8), "meta": (3,)}


def test_a_single_input_file_for_two_inputs_says_what_to_save(tmp_path):
    arrays = two_input_arrays(30)
    np.savez(tmp_path / "one.npz", x=arrays["meta"], y=arrays["y"])
    with pytest.raises(DataError, match="has no array 'img'"):
        load(two_input_project(tmp_path, data="one.npz"))
