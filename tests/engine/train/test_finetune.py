"""Fine-tuning (issue 22 §2): frozen blocks keep their weights and their BatchNorm
statistics bit for bit while the rest trains, and a block's lr_scale gives it its own
optimizer group whose rate keeps its ratio to the base rate under a schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project
from torchloom.engine.tasks.prepare import prepare_training
from torchloom.engine.train import Callback


def bn_project(tmp_path: Path, **training) -> Project:
    """Flatten -> fc1 -> bn -> relu -> fc2 on the digits: one run is a few batches."""
    g = Graph()
    g.add_node("Input", {"shape": [1, 8, 8]}, "x")
    prev = "x"
    for node_id, type_name, params in (("flat", "Flatten", {}),
                                       ("fc1", "Linear", {"out_features": 16}),
                                       ("bn", "BatchNorm1d", {}),
                                       ("relu", "ReLU", {}),
                                       ("fc2", "Linear", {"out_features": 10})):
        g.add_node(type_name, params, node_id)
        g.connect(prev, node_id)
        prev = node_id
    project = Project(g, name="ft", dataset={"name": "digits"},
                      training={"epochs": 1, "batch_size": 256, "seed": 1, "lr": 0.01,
                                **training})
    save_project(project, tmp_path / "ft.json")
    return project


def start_and_end(project: Project) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    job = prepare_training(project, overrides={"device": "cpu"}, save=False)
    before = {k: v.detach().clone() for k, v in job.model.state_dict().items()}
    result = job.run()
    assert result.status == "finished", result.error
    return before, job.model.state_dict()


def test_frozen_blocks_keep_their_weights_and_batchnorm_stats_while_the_rest_trains(tmp_path):
    project = bn_project(tmp_path)
    project.graph.set_training("fc1", "trainable", False)
    project.graph.set_training("bn", "trainable", False)
    before, after = start_and_end(project)
    for key in ("fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean",
                "bn.running_var", "bn.num_batches_tracked"):
        assert torch.equal(before[key], after[key]), key
    assert not torch.equal(before["fc2.weight"], after["fc2.weight"])


def test_an_unfrozen_batchnorm_does_update_its_stats(tmp_path):
    """The check above can fail: without the freeze the same run moves them."""
    before, after = start_and_end(bn_project(tmp_path))
    assert not torch.equal(before["bn.running_mean"], after["bn.running_mean"])
    assert not torch.equal(before["fc1.weight"], after["fc1.weight"])


def test_frozen_parameters_are_not_in_the_optimizer(tmp_path):
    project = bn_project(tmp_path)
    project.graph.set_training("fc1", "trainable", False)
    job = prepare_training(project, overrides={"device": "cpu", "epochs": 1}, save=False)
    job.trainer._setup()
    in_optimizer = {id(p) for g in job.trainer.optimizers[""].param_groups for p in g["params"]}
    assert id(job.model.fc1.weight) not in in_optimizer
    assert id(job.model.fc2.weight) in in_optimizer
    assert not job.model.fc1.weight.requires_grad
    assert not job.model.fc1.training and job.model.fc2.training


def test_everything_frozen_is_a_clear_error(tmp_path):
    project = bn_project(tmp_path)
    for node_id in ("fc1", "bn", "fc2"):
        project.graph.set_training(node_id, "trainable", False)
    result = prepare_training(project, overrides={"device": "cpu"}, save=False).run()
    assert result.status == "failed"
    assert "frozen" in result.error.message and "Trainable" in result.error.message


def test_lr_scale_zero_keeps_a_block_where_it_is(tmp_path):
    project = bn_project(tmp_path)
    project.graph.set_training("fc1", "lr_scale", 0.0)
    before, after = start_and_end(project)
    assert torch.equal(before["fc1.weight"], after["fc1.weight"])
    assert not torch.equal(before["fc2.weight"], after["fc2.weight"])


class GroupRates(Callback):
    """The rate of every param group, read at each batch end."""

    def __init__(self) -> None:
        self.trainer = None
        self.rates: list[tuple[float, list[float]]] = []

    def on_batch_end(self, report) -> None:
        groups = self.trainer.optimizers[""].param_groups
        self.rates.append((report.lr, [g["lr"] for g in groups]))


def test_half_lr_scale_is_half_the_base_rate_at_every_step_of_a_cosine_schedule(tmp_path):
    project = bn_project(tmp_path, schedule="cosine", epochs=2)
    project.graph.set_training("fc2", "lr_scale", 0.5)
    probe = GroupRates()
    job = prepare_training(project, overrides={"device": "cpu"}, save=False,
                           callbacks=[probe], report_interval=0.0)
    probe.trainer = job.trainer
    assert job.run().status == "finished"
    assert len(probe.rates) >= 10
    base_rates = set()
    for _reported, (base, half) in probe.rates:
        assert half == pytest.approx(base * 0.5, rel=1e-12)
        base_rates.add(round(base, 12))
    assert len(base_rates) == len(probe.rates)  # the schedule moved the rate every step


class StopAt(Callback):
    def __init__(self, step: int) -> None:
        self.step, self.trainer = step, None

    def on_batch_end(self, report) -> None:
        if report.step >= self.step:
            self.trainer.stop()


def test_a_stopped_run_with_frozen_and_scaled_blocks_resumes_bit_for_bit(tmp_path):
    from safetensors.torch import load_file

    project = bn_project(tmp_path, epochs=2, schedule="cosine")
    project.graph.set_training("fc1", "trainable", False)
    project.graph.set_training("fc2", "lr_scale", 0.3)
    whole = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "whole")
    assert whole.run().status == "finished"
    stop = StopAt(4)
    part = prepare_training(project, overrides={"device": "cpu"}, out_dir=tmp_path / "part",
                            callbacks=[stop], report_interval=0.0)
    stop.trainer = part.trainer
    assert part.run().status == "stopped"
    resumed = prepare_training(project, overrides={"device": "cpu"}, resume=tmp_path / "part")
    assert resumed.resumed
    assert resumed.run().status == "finished"
    a = load_file(tmp_path / "whole" / "model.safetensors")
    b = load_file(tmp_path / "part" / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_frozen_unit_node_freezes_everything_in_it(tmp_path):
    from torchloom.engine.units.edit import group

    project = bn_project(tmp_path)
    unit_id = group(project, ["fc1", "bn"], "Stem").node_id
    project.graph.set_training(unit_id, "trainable", False)
    before, after = start_and_end(project)
    inside = [k for k in before if k.startswith(f"{unit_id}.")]
    assert any("running_mean" in k for k in inside) and len(inside) >= 5
    assert all(torch.equal(before[k], after[k]) for k in inside)
    assert not torch.equal(before["fc2.weight"], after["fc2.weight"])


def test_a_frozen_block_stays_in_eval_mode_whoever_calls_train():
    """A probe or a GAN's sample grid calls model.train(True) afterwards: the frozen
    BatchNorm must still not update its statistics on the next forward pass."""
    from torchloom.engine.compile import compile_graph
    from torchloom.engine.train.finetune import BlockTraining

    project = bn_project_graphless()
    model = compile_graph(project.graph, seed=0)
    BlockTraining(frozen=("bn",)).freeze(model)
    model.train()
    assert model.bn.training  # train() reached it ...
    stats = model.bn.running_mean.clone()
    model(torch.randn(8, 1, 8, 8))
    assert not model.bn.training  # ... and the forward pass put it back
    assert torch.equal(model.bn.running_mean, stats)
    assert not model.bn.weight.requires_grad and model.fc2.weight.requires_grad


def bn_project_graphless() -> Project:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return bn_project(Path(folder))


def test_in_a_gan_each_network_freezes_its_own_nodes():
    """Both networks have an fc1: freezing the generator's leaves the discriminator's."""
    from torchloom.engine.compile import compile_graph, module_names
    from torchloom.engine.project import load_project
    from torchloom.engine.train.finetune import BlockTraining

    project = load_project(Path(__file__).resolve().parents[3] / "resources" / "examples"
                           / "gan_mnist.json")
    project.generator.set_training("fc1", "trainable", False)
    project.discriminator.set_training("fc2", "lr_scale", 0.5)
    node_ids = {f"{key}.{name}": node_id for key, graph in project.graphs().items()
                for node_id, name in module_names(n.id for n in graph.nodes).items()}
    plan = BlockTraining.of(project, node_ids)
    assert plan.frozen == ("generator.fc1",)
    assert plan.scales == {"discriminator.fc2": 0.5}
    pair = torch.nn.Module()
    for key, graph in project.graphs().items():
        pair.add_module(key, compile_graph(graph, seed=0))
    plan.freeze(pair)
    generator = plan.param_groups(pair.generator, 0.01, prefix="generator.")
    assert len(generator) == 1 and all(p is not pair.generator.fc1.weight
                                       for p in generator[0]["params"])
    discriminator = plan.param_groups(pair.discriminator, 0.01, prefix="discriminator.")
    assert [g["lr"] for g in discriminator] == [0.01, 0.005]
    assert pair.discriminator.fc1.weight.requires_grad


def test_blocks_frozen_inside_a_unit_stay_frozen_in_every_copy(tmp_path):
    """Grouping keeps a block's flags, and they still hold inside the unit: with repeat 2
    both copies of the frozen fc1 keep their weights; the copies' bn trains."""
    from torchloom.engine.units.edit import group

    project = bn_project(tmp_path)
    project.graph.set_training("fc1", "trainable", False)
    unit_id = group(project, ["fc1", "bn", "relu"], "Stem").node_id
    unit = project.units.get("Stem")
    assert not unit.graph.node("fc1").trainable  # carried into the unit by the grouping
    project.graph.set_param(unit_id, "repeat", 2)  # the second copy's fc1 takes 16 features
    before, after = start_and_end(project)
    for copy in (0, 1):
        key = f"{unit_id}.{copy}.fc1.weight"
        assert torch.equal(before[key], after[key]), key
        bn = f"{unit_id}.{copy}.bn.weight"
        assert not torch.equal(before[bn], after[bn]), bn
    from torchloom.engine.shapes import infer

    info = infer(project.graph)  # the summary counts the frozen blocks inside the unit too
    frozen = sum(v.numel() for k, v in before.items()
                 if ".fc1." in k and k.endswith(("weight", "bias")))
    assert info.frozen_params == frozen


def test_the_lr_finder_sweeps_each_block_group_at_its_scale(tmp_path):
    from torchloom.engine.train.lr_find import sweep_lr

    project = bn_project(tmp_path)
    project.graph.set_training("fc2", "lr_scale", 0.5)
    job = prepare_training(project, overrides={"device": "cpu"}, save=False)
    seen = []

    def on_step(step, steps, rate, loss):
        seen.append((rate, [g["lr"] for g in job.trainer.optimizers[""].param_groups]))

    sweep_lr(job.trainer, start=1e-4, end=1e-2, steps=4, on_step=on_step)
    assert len(seen) == 4
    for rate, (base, half) in seen:
        assert base == pytest.approx(rate) and half == pytest.approx(rate * 0.5)
