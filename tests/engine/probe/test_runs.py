"""The probe batch stored with a run, live probes during training, and reading a trained
model back from its run folder."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.data.dataset import Dataset
from torchloom.engine.errors import ProbeError
from torchloom.engine.probe import ProbeBatch, capture, choose_probe_batch, load_trained
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train import Callback

from ..train.helpers import mlp_project, regression_project


class Probes(Callback):
    def __init__(self) -> None:
        self.results = []

    def on_probe(self, result) -> None:
        self.results.append(result)


def test_probe_batch_takes_a_few_samples_of_every_class_with_a_seed():
    y = torch.arange(100) % 4
    data = Dataset(torch.randn(100, 3), y, "t", ["a", "b", "c", "d"])
    batch = choose_probe_batch(data, per_class=3, seed=5)
    assert batch.y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert torch.equal(batch.x, data.x[batch.index])
    again = choose_probe_batch(data, per_class=3, seed=5)
    assert torch.equal(again.index, batch.index)
    assert not torch.equal(choose_probe_batch(data, per_class=3, seed=6).index, batch.index)
    assert len(choose_probe_batch(data, per_class=20, max_samples=10)) == 10
    assert batch.label(4) == "#4 (b)"


def test_probe_batch_for_regression_and_its_file_round_trip(tmp_path):
    data = Dataset(torch.randn(50, 4), torch.randn(50), "r")
    batch = choose_probe_batch(data, per_class=2)
    assert len(batch) == 8
    batch.save(tmp_path / "probe.npz")
    back = ProbeBatch.load(tmp_path / "probe.npz")
    assert torch.equal(back.x, batch.x) and torch.equal(back.y, batch.y) and back.classes == []
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ProbeError, match="cannot be read"):
        ProbeBatch.load(tmp_path / "bad.npz")


def test_live_probes_arrive_every_n_steps_and_do_not_change_the_training(tmp_path):
    project = mlp_project(tmp_path)
    probes = Probes()
    with_probes = prepare_training(project, out_dir=tmp_path / "a", callbacks=[probes],
                                   probe_every=10).run()
    without = prepare_training(project, out_dir=tmp_path / "b").run()
    assert [r.step for r in probes.results] == list(range(10, 91, 10))
    first = probes.results[0]
    assert set(first.nodes) == {"flat", "fc1", "relu", "drop", "fc2"}
    k = len(first.output)
    assert k == 20  # two samples of each of the ten digits
    assert first.nodes["fc1"].activation.shape == (k, 32)
    assert first.epoch == 1 and probes.results[-1].epoch == 2
    # probes look, they do not touch: identical weights and metrics
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" /
                                                                      "model.safetensors")
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert with_probes.final.val_loss == without.final.val_loss
    # the activations change as the model learns
    last = probes.results[-1]
    assert not torch.equal(first.nodes["fc2"].activation, last.nodes["fc2"].activation)


def test_a_trained_run_reads_back_with_its_probe_batch(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    job = prepare_training(project, out_dir=tmp_path / "run")
    job.run()
    assert (tmp_path / "run" / "probe.npz").exists()
    trained = load_trained(tmp_path / "run", project)
    assert trained.probe is not None and len(trained.probe) == 20
    assert trained.node_ids() == ["flat", "fc1", "relu", "drop", "fc2"]
    # the same outputs the trainer's model gives on the same normalised samples
    x = trained.prepare(trained.probe.x)
    job.model.eval()
    assert torch.allclose(trained.model(x), job.model(x.to(memory_format=torch.contiguous_format)),
                          atol=1e-6)
    result = capture(trained.model, x, trained.names, nodes=["relu"])
    assert (result.nodes["relu"].activation >= 0).all()
    # the validation split comes back the same
    assert torch.equal(trained.split().val.y, job.split.val.y)


def test_weights_that_do_not_fit_an_edited_graph_are_refused_with_a_hint(tmp_path):
    project = mlp_project(tmp_path, epochs=1)
    prepare_training(project, out_dir=tmp_path / "run").run()
    project.graph.set_param("fc1", "out_features", 16)
    with pytest.raises(ProbeError) as info:
        load_trained(tmp_path / "run", project)
    text = info.value.describe()
    assert "fc1" in text and "edited" in text and "run" in text
    with pytest.raises(ProbeError, match="no such run folder"):
        load_trained(tmp_path / "nope", project)


def test_samples_a_person_brings_are_checked_against_the_input(tmp_path):
    project = regression_project(tmp_path)
    prepare_training(project, out_dir=tmp_path / "run").run()
    trained = load_trained(tmp_path / "run", project)
    assert trained.check_samples(torch.ones(2, 4, dtype=torch.float64), "x.npz").dtype == \
        torch.float32
    with pytest.raises(ProbeError) as info:
        trained.check_samples(torch.ones(2, 5), "mine.npz")
    assert info.value.describe() == ("mine.npz: the samples are [2, 5] but the model's Input "
                                     "takes [N, 4]")


def test_fractional_samples_for_token_inputs_are_refused(tmp_path):
    from torchloom.engine.project import load_project
    from torchloom.engine.resources import examples_dir

    project = load_project(examples_dir() / "attention_classifier.json")
    project.dataset = {"name": "retrieval", "n": 200}
    project.path = tmp_path / "p.json"
    prepare_training(project, overrides={"epochs": 1}, out_dir=tmp_path / "run").run()
    trained = load_trained(tmp_path / "run", project)
    ok = trained.check_samples(torch.full((1, 9), 5.0), "t.npz")
    assert ok.dtype == torch.int64
    with pytest.raises(ProbeError, match="token ids"):
        trained.check_samples(torch.full((1, 9), 5.5), "t.npz")
