"""Data against the graph: the sentence a mismatch gets, naming both sides."""

from __future__ import annotations

import pytest
import torch

from torchloom.engine.data import fit_to_graph, load_dataset
from torchloom.engine.data.dataset import Dataset
from torchloom.engine.errors import DataError
from torchloom.engine.shapes import infer
from torchloom.engine.tasks import get_task

from ..builders import chain


def fit(data, graph, loss="cross_entropy"):
    """The data fitted to the graph, then its targets checked as the task the loss belongs
    to checks them (classify for cross_entropy, regress for mse)."""
    analysis = infer(graph)
    fitted = fit_to_graph(data, graph, analysis)
    get_task("classify" if loss == "cross_entropy" else "regress").check_targets(fitted[0],
                                                                                 analysis)
    return fitted


def cnn(shape=(1, 28, 28), classes=10):
    return chain(("conv", "Conv2d", {"out_channels": 4, "kernel_size": 3}), ("flat", "Flatten"),
                 ("fc", "Linear", {"out_features": classes}), shape=list(shape))


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(DataError) as info:
        fit(load_dataset({"name": "shapes", "n": 30}), cnn())
    assert info.value.message == ("the data has samples of shape [3, 32, 32] (shapes) but the "
                                  "Input node x expects [1, 28, 28]: set x's shape to "
                                  "[3, 32, 32]")


def test_missing_channel_dimension_is_added():
    data = Dataset(torch.rand(8, 28, 28), torch.arange(8) % 2, "raw", ["a", "b"])
    fitted, notes = fit(data, cnn(classes=2))
    assert fitted.input_shape == (1, 28, 28) and "added a channel" in notes[0]


def test_too_few_outputs_for_the_classes():
    with pytest.raises(DataError, match="outputs 3 scores per sample but the data has 10 "
                                        "classes: set fc's out_features to 10"):
        fit(load_dataset({"name": "mnist5k"}), cnn(classes=3))


def test_float_data_into_token_input():
    g = chain(("emb", "Embedding", {"num_embeddings": 10}), ("pool", "SequencePool"),
              ("fc", "Linear", {"out_features": 2}), shape=[4], dtype="int64")
    data = Dataset(torch.rand(6, 4), torch.arange(6) % 2, "floats", ["a", "b"])
    with pytest.raises(DataError, match="expects int64 token ids but the data holds float32"):
        fit(data, g)


def test_token_ids_beyond_the_vocabulary():
    g = chain(("emb", "Embedding", {"num_embeddings": 10}), ("pool", "SequencePool"),
              ("fc", "Linear", {"out_features": 2}), shape=[32], dtype="int64")
    with pytest.raises(DataError, match="token ids go up to 15 but emb's num_embeddings is 10: "
                                        "raise num_embeddings to at least 16"):
        fit(load_dataset({"name": "sequences", "n": 50}), g)


def test_sequence_output_cannot_train_a_classifier():
    g = chain(("emb", "Embedding", {"num_embeddings": 16}), ("fc", "Linear", {"out_features": 2}),
              shape=[32], dtype="int64")
    with pytest.raises(DataError, match="insert a SequencePool before fc"):
        fit(load_dataset({"name": "sequences", "n": 50}), g)


def test_regression_targets_must_match_the_output():
    g = chain(("fc", "Linear", {"out_features": 3}), shape=[5])
    data = Dataset(torch.rand(6, 5), torch.rand(6), "r")
    with pytest.raises(DataError, match="outputs \\[N, 3\\] but the targets are \\[N, 1\\]"):
        fit(data, g, loss="mse")
    with pytest.raises(DataError, match="targets are numbers, not classes"):
        fit(data, g)


def test_an_embedding_shortfall_names_the_node_and_what_fits():
    import torch

    from torchloom.engine.data.dataset import Dataset
    from torchloom.engine.data.fit import embedding_shortfall

    data = Dataset(torch.tensor([[1, 5, 0], [7, 2, 3]]), torch.tensor([0, 1]), "ids")
    assert embedding_shortfall(data, {"embed": 8}) is None  # ids 0..7 fit 8 rows
    assert embedding_shortfall(data, {"embed": 7}) == ("embed", 7, 8, 8)
    assert embedding_shortfall(data, {"embed": "vocab"}) is None  # resolved from the data
    floats = Dataset(torch.rand(2, 3), torch.tensor([0, 1]), "numbers")
    assert embedding_shortfall(floats, {"embed": 2}) is None
