"""A trained model, back from its run folder: graph, weights, normalisation, probe batch.

Everything that looks inside a trained model (the inspect and evaluate panels,
`torchloom probe`) starts here, so they all read a run folder the same way and give the
same words when it does not fit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import fx

from ..compile import compile_graph, input_order, module_names
from ..data.dataset import Split
from ..data.inputs import normalization_from_json
from ..errors import ProbeError, TorchloomError
from ..graph import Graph
from ..project import Project, graph_to_dict
from ..shapes import Analysis, infer
from ..text.vocab import run_tokenizer, set_vocab
from ..train import checkpoint as ckpt
from ..train.best import load_run_weights
from ..safe_read import read_limited
from ..train.inputs import place
from ..train.runfiles import MAX_RECORD_BYTES, PROBE_FILE, RUN_FILE
from .batch import ProbeBatch, choose_probe_batch


@dataclass
class TrainedModel:
    """A compiled graph holding a run's weights, in eval mode.

    `names` maps node id -> module name; `project` is the project the caller gave (so
    relative dataset paths resolve), or the run's own copy.
    """

    project: Project
    graph: Graph
    analysis: Analysis
    model: fx.GraphModule
    names: dict[str, str]
    #: a `Normalization`, one per Input (`InputsNormalization`) or None
    normalization: Any
    run_dir: Path
    probe: ProbeBatch | None
    info: dict[str, Any]
    #: Text data: the tokenizer the run fitted (its ``tokenizer.json``), which everything
    #: after training encodes with; None for other data.
    tokenizer: Any = None
    #: which of the run's weights these are, as `RunWeights.describe` says it ("the best
    #: weights (epoch 3, val_loss 0.21)"), for the CLI and the Evaluate tab to show
    weights_used: str = "the last weights"

    @property
    def device(self) -> torch.device:
        first = next(self.model.parameters(), None)
        return first.device if first is not None else torch.device("cpu")

    def prepare(self, x: Any) -> Any:
        """Raw samples (a tensor, or an `Inputs` for several Inputs) -> what the model was
        trained on (normalised, on its device)."""
        return place(x, self.normalization, self.device)

    @property
    def input_ids(self) -> list[str]:
        """The Input nodes the model takes, in the order its forward takes them."""
        return input_order(self.graph, self.analysis)

    def refuse_several(self, what: str) -> None:
        """Raise `ProbeError` for a view that takes one Input when the model has several."""
        ids = self.input_ids
        if len(ids) >= 2:
            raise ProbeError(f"{what} takes a model with one Input; this one has "
                             f"{len(ids)} ({', '.join(ids)})", path=str(self.run_dir))

    def node_ids(self) -> list[str]:
        """Node ids that have a layer to probe, in graph order."""
        return [n for n in self.analysis.order if n in self.names
                and hasattr(self.model, self.names[n])]

    def input_node(self) -> str | None:
        return self.analysis.inputs[0] if self.analysis.inputs else None

    def check_samples(self, x: torch.Tensor, source: str) -> torch.Tensor:
        """Samples a person brought, checked against the Input: shape, and dtype made fit."""
        self.refuse_several("probing samples from a file")
        spec = self.analysis.nodes[self.analysis.inputs[0]].spec
        assert spec is not None
        want = tuple(spec.shape)
        if tuple(x.shape[1:]) != want and tuple(x.shape[1:]) == want[1:] and want[0] == 1:
            x = x.unsqueeze(1)
        if tuple(x.shape[1:]) != want:
            shown = "[" + ", ".join(map(str, x.shape)) + "]"
            raise ProbeError(f"the samples are {shown} but the model's Input takes "
                             f"{spec.show()}", path=source)
        if spec.is_int and x.is_floating_point() and not torch.equal(x, x.round()):
            raise ProbeError("the model's Input takes token ids (whole numbers) but the "
                             "samples hold fractions", path=source)
        return x.long() if spec.is_int else x.float()

    def split(self) -> Split:
        """The run's validation split, loaded again from the project's dataset as its task
        loads it for training."""
        from ..tasks import task_for
        from ..train.config import TrainConfig

        config = TrainConfig.from_project(self.project)
        return task_for(self.project).load_split(self.project, config, self.tokenizer)[0]


def load_trained(run_dir: str | Path, project: Project | None = None,
                 device: str | torch.device = "cpu") -> TrainedModel:
    """Compile the graph and load the run's weights into it.

    With `project`, its graph must be the one the run trained (the same nodes with the same
    shapes); otherwise the run's own ``project.json`` is used.

    Raises:
        ProbeError: not a run folder, or weights that do not fit the graph.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ProbeError("no such run folder", path=str(run_dir))
    try:
        saved = ckpt.read_project_copy(run_dir)
        chosen = load_run_weights(run_dir)  # the best epoch's, if the run kept them
    except TorchloomError as exc:
        raise ProbeError(exc.describe()) from None
    weights = chosen.tensors
    if project is not None:  # the run's tensors under the ids the project uses now
        from ..rename import follow_renames, rename_weights

        weights = rename_weights(weights, saved, project)
        saved = follow_renames(saved, project)
    project = project or saved
    graph = project.graph
    try:
        tokenizer = run_tokenizer(run_dir)
    except TorchloomError as exc:
        raise ProbeError(exc.describe()) from None
    if tokenizer is not None:
        set_vocab(graph, tokenizer)
    analysis = infer(graph)
    if not analysis.ok:
        raise ProbeError("the graph has errors: " + "; ".join(
            e.describe() for e in analysis.errors[:3]))
    model = compile_graph(graph, analysis)
    names = module_names(n.id for n in graph.nodes)
    node_ids = {name: node for node, name in names.items()}
    _, fresh = ckpt.load_matching(model, weights, node_ids)
    if fresh:
        edited = graph_to_dict(saved.graph) != graph_to_dict(graph)
        hint = (" (the graph was edited after that run: retrain, or probe the run's own "
                "project.json)" if edited else "")
        raise ProbeError(f"the weights do not fit node(s) {', '.join(fresh)}{hint}",
                         path=str(run_dir))
    model.to(device).eval()
    info = _read_info(run_dir)
    norm_json = (info.get("data") or {}).get("normalization")
    normalization = normalization_from_json(norm_json) if norm_json else None
    probe = ProbeBatch.load(run_dir / PROBE_FILE) if (run_dir / PROBE_FILE).exists() else None
    return TrainedModel(project, graph, analysis, model, names, normalization, run_dir, probe,
                        info, tokenizer, chosen.describe())


def probe_batch_for(trained: TrainedModel) -> ProbeBatch:
    """The run's probe batch; for a run saved before probe batches were stored, the same
    choice made again from the validation split (slower: it loads the dataset)."""
    if trained.probe is not None:
        return trained.probe
    from ..train.config import TrainConfig

    split = trained.split()
    seed = TrainConfig.from_project(trained.project).seed
    trained.probe = choose_probe_batch(split.val if len(split.val) else split.train, seed=seed)
    return trained.probe


def _read_info(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads(read_limited(run_dir / RUN_FILE, MAX_RECORD_BYTES))
    except (OSError, ValueError):
        return {}
