"""The model an export writes: the compiled graph with the weights the person chose.

Every format starts here, so all of them export the same numbers: a run folder's trained
weights (`--weights RUN_DIR`), else the project's initial weights, else a fresh seeded
initialisation (the same one training would start from).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import fx

from ..compile import compile_graph, module_names
from ..errors import CompileError, ExportError, TorchloomError
from ..project import Project
from ..shapes import Analysis, infer


@dataclass
class ExportModel:
    """A compiled model in eval mode on the CPU, with where its weights came from."""

    project: Project
    module: fx.GraphModule
    analysis: Analysis
    #: module name -> node id (they differ only for ids that are not Python names)
    node_ids: dict[str, str]
    #: "run <dir>", "project weights <file>" or "fresh (seed <n>)"
    weights_from: str

    def example_inputs(self, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """A random batch for every Input, in placeholder order: token ids below the
        smallest embedding size for int inputs, standard normal floats otherwise."""
        gen = torch.Generator().manual_seed(seed)
        out = []
        for node_id in self.input_ids():
            spec = self.analysis.nodes[node_id].spec
            assert spec is not None
            if spec.is_int:
                high = _token_limit(self)
                out.append(torch.randint(0, high, (batch, *spec.shape), generator=gen))
            else:
                out.append(torch.randn((batch, *spec.shape), generator=gen))
        return tuple(out)

    def output_ids(self) -> list[str]:
        """The heads' output nodes, in the order the model returns them (a tuple), for a
        model with several outputs; [] for one output (a plain tensor)."""
        outputs = list(self.analysis.outputs)
        return outputs if len(outputs) > 1 else []

    def input_ids(self) -> list[str]:
        """Input node ids in the order the module's forward takes them."""
        names = module_names(n.id for n in self.project.graph.nodes)
        placeholders = [n.target for n in self.module.graph.nodes if n.op == "placeholder"]
        by_name = {names[i]: i for i in self.project.graph.input_ids()}
        return [by_name[p] for p in placeholders]


def _token_limit(model: ExportModel) -> int:
    sizes = [m.num_embeddings for m in model.module.modules()
             if isinstance(m, torch.nn.Embedding)]
    return max(1, min(sizes)) if sizes else 2


def _by_module_name(saved: dict[str, torch.Tensor], names: dict[str, str]
                    ) -> dict[str, torch.Tensor]:
    """Accept weights keyed by node id too (a safetensors export): ``fc-1.weight`` is the
    module ``fc_1``'s ``weight``."""
    renamed = dict(saved)
    for node_id, name in names.items():
        if node_id == name:
            continue
        prefix = node_id + "."
        for key in saved:
            if key.startswith(prefix):
                renamed.setdefault(name + "." + key[len(prefix):], saved[key])
    return renamed


def prepare_model(project: Project, weights: Path | None = None, fmt: str | None = None
                  ) -> ExportModel:
    """Compile `project` and load the weights an export should carry.

    Args:
        weights: a run folder (its ``model.safetensors``) or a ``.safetensors`` file.
        fmt: the format being exported, for messages.

    Raises:
        ExportError: the graph has errors, or the weights do not fit it.
    """
    from ..text.vocab import learn_vocab, run_tokenizer, set_vocab
    from ..train import checkpoint as ckpt
    from ..train.pretrained import read_weights_file
    from ..train.best import load_run_weights

    try:  # a "vocab" size: the run's tokenizer says it, else the data as training reads it
        tokenizer = run_tokenizer(weights) if weights is not None and weights.is_dir() else None
    except TorchloomError as exc:
        raise ExportError(exc.describe(), fmt=fmt) from None
    if tokenizer is not None:
        set_vocab(project.graph, tokenizer)
    else:
        learn_vocab(project)
    analysis = infer(project.graph)
    if not analysis.ok:
        raise ExportError(str(CompileError(analysis.errors)), fmt=fmt)
    seed = int(project.training_config().get("seed", 0))
    module = compile_graph(project.graph, analysis, seed=seed)
    names = module_names(n.id for n in project.graph.nodes)
    node_ids = {name: node_id for node_id, name in names.items()}
    source = f"fresh (seed {seed})"
    file = None
    if weights is not None:
        weights = Path(weights)
        file = weights / ckpt.MODEL_FILE if weights.is_dir() else weights
        source = f"run {weights}" if weights.is_dir() else f"weights {weights}"
    elif project.weights_path() is not None:
        file = project.weights_path()
        source = f"project weights {file}"
    if file is not None:
        try:
            if weights is not None and weights.is_dir():  # the best epoch's, if it kept one
                chosen = load_run_weights(weights)
                saved, file = chosen.tensors, chosen.file
                if chosen.best is not None:  # a run without best/ reads as it always did
                    source = f"run {weights}, using {chosen.describe()}"
            else:
                saved = read_weights_file(file)  # safetensors, or a torch state dict
        except ckpt.CheckpointError as exc:
            reason = exc.describe().removeprefix(f"{file}: ")  # `path` names the file once
            raise ExportError(reason, fmt=fmt, path=str(file)) from None
        if weights is not None and weights.is_dir():  # a run: follow renames since it trained
            from ..rename import rename_weights

            saved = rename_weights(saved, ckpt.project_copy_or_none(weights),
                                   project)
        elif weights is None:  # the project's initial weights, keyed before any rename
            from ..rename import rename_weights

            saved = rename_weights(saved, None, project)
        saved = _by_module_name(saved, names)
        expected = module.state_dict()
        missing = sorted(set(expected) - set(saved))
        wrong = sorted(k for k in expected if k in saved and saved[k].shape != expected[k].shape)
        if missing or wrong:
            detail = (f"missing {', '.join(missing[:4])}" if missing
                      else f"shapes differ for {', '.join(wrong[:4])}")
            raise ExportError(f"these weights do not fit the graph ({detail}): were they "
                              "trained on an earlier version of it?", fmt=fmt, path=str(file))
        module.load_state_dict({k: saved[k] for k in expected})
    module.eval()
    return ExportModel(project, module, analysis, node_ids, source)
