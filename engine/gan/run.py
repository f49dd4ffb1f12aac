"""From a GAN project to a running GanTrainer: checks, data, compile, resume or warm start.

`prepare_gan_training` is what `train.run.prepare_training` calls for ``"recipe": "gan"``;
it takes the same arguments and raises the same typed errors before the first step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from ..compile import compile_graph, module_names
from ..data import load_dataset
from ..errors import CompileError, TrainingError
from ..project import Project, graph_to_dict
from ..train import checkpoint as ckpt
from ..train.callbacks import Callback, TrainResult
from ..train.config import TrainConfig
from .checks import analyze_gan
from .data import data_range, fit_samples
from .state import GanPair
from .trainer import GanTrainer


@dataclass
class GanData:
    """What `Split` is to a classifier job: enough for `describe()` and the GUI's panel."""

    info: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        return dict(self.info)


@dataclass
class GanTrainingJob:
    trainer: GanTrainer
    model: GanPair
    split: GanData
    config: TrainConfig
    run_dir: Path | None
    notes: list[str] = field(default_factory=list)
    reinitialized: list[str] = field(default_factory=list)
    resumed: bool = False
    recipe: str = "gan"

    def run(self) -> TrainResult:
        result = self.trainer.fit()
        result.reinitialized = list(self.reinitialized)
        return result


def pair_node_ids(project: Project) -> dict[str, str]:
    """``"generator.<module name>"`` -> node id, for both graphs (stored with the weights)."""
    out = {}
    for key, graph in project.graphs().items():
        for node_id, name in module_names(n.id for n in graph.nodes).items():
            out[f"{key}.{name}"] = node_id
    return out


def load_matching_pair(pair: GanPair, saved: dict[str, torch.Tensor],
                       node_ids: dict[str, str]) -> tuple[list[str], list[str]]:
    """Copy saved weights node by node where names and shapes match (see
    `checkpoint.load_matching`); ids come back as ``"generator: fc1"``."""
    by_node: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in pair.state_dict().items():
        graph, module, _ = key.split(".", 2)
        by_node.setdefault(f"{graph}.{module}", {})[key] = value
    loaded, fresh = [], []
    with torch.no_grad():
        for name, tensors in by_node.items():
            shown = f"{name.split('.', 1)[0]}: {node_ids.get(name, name.split('.', 1)[1])}"
            if all(k in saved and saved[k].shape == v.shape for k, v in tensors.items()):
                for k, v in tensors.items():
                    v.copy_(saved[k])
                loaded.append(shown)
            else:
                fresh.append(shown)
    return loaded, fresh


def same_graphs(a: Project, b: Project) -> bool:
    if not (a.is_gan and b.is_gan):
        return False
    return all(graph_to_dict(a.graphs()[k]) == graph_to_dict(b.graphs()[k])
               for k in ("generator", "discriminator"))


def prepare_gan_training(project: Project, *, overrides: dict[str, Any] | None = None,
                         out_dir: Path | None = None, resume: Path | None = None,
                         init_from: Path | None = None, runs_dir: Path | None = None,
                         callbacks: Iterable[Callback] = (), save: bool = True,
                         report_interval: float = 0.1, probe_every: int = 0
                         ) -> GanTrainingJob:
    """Check and build everything a GAN run needs (arguments as `prepare_training`;
    `probe_every` is accepted and ignored: probes look inside classifiers)."""
    from ..train.run import check_resumable, default_run_dir

    config = TrainConfig.from_project(project, **(overrides or {}))
    checked = analyze_gan(project)
    if not checked.ok:
        raise CompileError(checked.errors)
    base = project.path.parent if project.path is not None else None
    data = load_dataset(project.dataset, base, _task(project.dataset))
    d_input = checked.discriminator.nodes[_input_id(project)].spec
    assert d_input is not None
    data, notes = fit_samples(data, d_input.shape)
    checked = analyze_gan(project, tuple(data.input_shape), data.name)
    if not checked.ok:
        raise CompileError(checked.errors)
    assert checked.latent_shape is not None
    scale = data_range(data)
    notes.append(f"samples scaled from [{scale.low:g}, {scale.high:g}] ({data.name}"
                 f"{'' if scale.source == 'declared' else ', measured'}) to [-1, 1]")
    graphs = project.graphs()
    generator = compile_graph(graphs["generator"], checked.generator, seed=config.seed,
                              class_name="Generator")
    discriminator = compile_graph(graphs["discriminator"], checked.discriminator,
                                  seed=config.seed + 1, class_name="Discriminator")
    pair = GanPair(generator, discriminator)
    node_ids = pair_node_ids(project)
    for folder in (resume, init_from):
        if folder is not None and not Path(folder).is_dir():
            raise ckpt.CheckpointError(f"{folder}: no such run folder")
    run_dir, state, reinitialized = out_dir, None, []
    if resume is not None:
        saved_project = ckpt.read_project_copy(resume)
        if same_graphs(saved_project, project):
            pair.load_state_dict(ckpt.load_weights(resume / ckpt.MODEL_FILE))
            state = ckpt.load_state(resume / ckpt.STATE_FILE)
            if state.get("recipe") != "gan":
                raise TrainingError(f"{resume}: not a GAN run", kind="config")
            run_dir = run_dir or resume
            notes.append(f"resuming {resume} at step {state['step']}")
            check_resumable(state, config, len(data))
        else:
            init_from = resume
    if init_from is None and state is None and project.weights_path() is not None:
        file = project.weights_path()
        assert file is not None
        loaded, reinitialized = load_matching_pair(pair, ckpt.load_weights(file), node_ids)
        notes.append(f"started from the project's weights {file.name}: kept {len(loaded)} "
                     f"node(s); initialised {', '.join(reinitialized) or 'none'} fresh")
    if init_from is not None and state is None:
        weights = ckpt.load_weights(Path(init_from) / ckpt.MODEL_FILE)
        loaded, reinitialized = load_matching_pair(pair, weights, node_ids)
        notes.append(f"warm start from {init_from}: kept the weights of {len(loaded)} "
                     f"node(s); re-initialised {', '.join(reinitialized) or 'none'}")
    if save and run_dir is None:
        run_dir = default_run_dir(project, runs_dir)
    described = data.describe()
    described.update({"train_samples": len(data), "val_samples": 0,
                      "sample_shape": list(data.input_shape), "data_range": scale.to_json()})
    run_info = {"project": project.name, "recipe": "gan",
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "resumed_from": str(resume) if resume else None,
                "init_from": str(init_from) if init_from else None,
                "reinitialized": reinitialized, "notes": notes}
    x = scale.to_model(data.x.float()) if data.x is not None else None
    reader = None
    if x is None:
        raw = data.read
        reader = lambda idx: scale.to_model(raw(idx).float())  # noqa: E731
    trainer = GanTrainer(pair, x, scale, config, checked.latent_shape, callbacks=callbacks,
                         run_dir=run_dir if save else None, project=project, node_ids=node_ids,
                         report_interval=report_interval, run_info=run_info,
                         data_info=described, reader=reader, n=len(data))
    if state is not None:
        trainer.restore(state)
    return GanTrainingJob(trainer, pair, GanData(described), config,
                          run_dir if save else None, notes, reinitialized, state is not None)


def _task(spec: Any) -> str:
    """The task the loaders are asked for. A GAN ignores the targets, but the loaders check
    them: built-ins and image folders are classes, files take any numbers."""
    if not isinstance(spec, dict) or "name" in spec or spec.get("format") == "images":
        return "classification"
    path = str(spec.get("path", ""))
    return "classification" if path.endswith(("/", "\\")) or "." not in Path(path).name \
        else "regression"


def _input_id(project: Project) -> str:
    graph = project.graphs()["discriminator"]
    return next(i for i in graph.input_ids() if graph.out_edges(i))
