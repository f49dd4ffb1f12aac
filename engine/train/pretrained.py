"""Starting a run from pretrained weights in a local file, matched to the blocks by name.

The file is a ``.safetensors`` file or a torch state dict (``.pt``, ``.pth``, ``.bin``),
read through `safe_read`'s bounded read and, for torch files, ``torch.load(weights_only
=True)``: nothing in it is executed. A compiled model names its tensors ``<node id>.<name>``
(``fc1.weight``); a file saved from another program often puts ``module.`` (DataParallel)
or ``model.`` (a Lightning module) in front, so the prefix that makes the most names match
is stripped. A block takes the file's tensors when all of its own are there with the same
shapes; every other block keeps its fresh initialisation, and the report says why (the
shape differs; not in the file). A file with no name in common is an error naming the file,
never a run that silently starts from scratch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..project import WEIGHT_SUFFIXES
from . import checkpoint as ckpt

__all__ = ["WEIGHT_SUFFIXES", "InitReport", "PretrainedError", "load_pretrained",
           "preview_pretrained", "read_weights_file"]
#: The endings read with torch.load (weights_only); any other file is read as safetensors.
TORCH_SUFFIXES = tuple(s for s in WEIGHT_SUFFIXES if s != ".safetensors")
#: A state dict saved inside a training checkpoint is usually under one of these keys.
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "weights")


class PretrainedError(ckpt.CheckpointError):
    """A pretrained-weights file cannot be read, or nothing in it fits the model."""


@dataclass
class InitReport:
    """What starting from a weights file did, block by block."""

    file: Path
    #: the prefix stripped from the file's names ("" when none was)
    prefix: str = ""
    #: blocks that took the file's tensors, and how many tensors that was
    matched: list[str] = field(default_factory=list)
    tensors: int = 0
    #: blocks that start fresh, each with the reason ("shape differs: ...", "not in the file")
    reinitialized: dict[str, str] = field(default_factory=dict)
    #: how many of the file's tensors no block took
    unused: int = 0

    def lines(self) -> list[str]:
        """The report as a person reads it (the command line prints it; the GUI shows it)."""
        out = [f"started from {self.file.name}: {len(self.matched)} block(s) loaded "
               f"({self.tensors} tensors)"
               + (f", names with '{self.prefix}' stripped" if self.prefix else "")]
        if self.matched:
            out.append("  loaded: " + ", ".join(self.matched))
        for block, why in self.reinitialized.items():
            out.append(f"  re-initialised {block}: {why}")
        if self.unused:
            out.append(f"  {self.unused} tensor(s) in the file fit no block and were not used")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"file": str(self.file), "prefix": self.prefix, "loaded": list(self.matched),
                "tensors": self.tensors, "reinitialized": dict(self.reinitialized),
                "unused": self.unused}


def is_weights_file(path: Path) -> bool:
    """Whether `path` names a file (not a run folder) to start from."""
    return path.suffix.lower() in WEIGHT_SUFFIXES and not path.is_dir()


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a torch state dict (`TORCH_SUFFIXES`) or, any other name, of a
    safetensors file, by name."""
    path = Path(path)
    if path.suffix.lower() not in TORCH_SUFFIXES:  # safetensors, whatever the file's name
        return ckpt.load_weights(path)
    data = ckpt._read(path, "no such file")
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise PretrainedError(f"{path}: not a readable torch state dict "
                              f"({ckpt._load_failure(exc)})") from None
    if isinstance(loaded, dict):
        for key in _NESTED_KEYS:
            inner = loaded.get(key)
            if isinstance(inner, dict) and any(isinstance(v, torch.Tensor)
                                               for v in inner.values()):
                loaded = inner
                break
    tensors = ({str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
               if isinstance(loaded, dict) else {})
    if not tensors:
        raise PretrainedError(f"{path}: holds no tensors by name (a state dict is a "
                              "dictionary of tensors, e.g. torch.save(model.state_dict(), "
                              "file))")
    return tensors


def best_prefix(names: list[str], wanted: set[str]) -> str:
    """The leading ``a.`` or ``a.b.`` whose removal makes the most `names` be `wanted`
    ("" when stripping nothing matches as many); ties go to the shorter prefix."""
    candidates = {""}
    for name in names:
        parts = name.split(".")
        for cut in (1, 2):
            if len(parts) > cut:
                candidates.add(".".join(parts[:cut]) + ".")

    def score(prefix: str) -> tuple[int, int]:
        hits = sum(1 for n in names if n.startswith(prefix) and n[len(prefix):] in wanted)
        return hits, -len(prefix)

    return max(sorted(candidates), key=score)


def load_pretrained(model: nn.Module, file: Path, node_ids: dict[str, str],
                    tensors: dict[str, torch.Tensor] | None = None) -> InitReport:
    """Copy the file's tensors into `model`, block by block (see the module's doc).

    `tensors`: the file's tensors when the caller already read them (and renamed them to
    follow renames since the file was written). Raises `PretrainedError` when no name in
    the file is one of the model's.
    """
    file = Path(file)
    saved = read_weights_file(file) if tensors is None else tensors
    own = model.state_dict()
    prefix = best_prefix(list(saved), set(own))
    stripped = {n[len(prefix):]: t for n, t in saved.items() if n.startswith(prefix)}
    if not set(stripped) & set(own):
        theirs = ", ".join(f"'{n}'" for n in list(saved)[:3])
        ours = ", ".join(f"'{n}'" for n in list(own)[:3])
        raise PretrainedError(f"{file}: none of its {len(saved)} tensor names ({theirs}...) "
                              f"is a tensor of this model ({ours}...): a block's tensors are "
                              "named <block id>.<tensor>; rename the blocks to match the "
                              "file, or use a file saved from this model")
    report = InitReport(file, prefix)
    by_block: dict[str, dict[str, torch.Tensor]] = {}
    labels: dict[str, str] = {}
    for key, value in own.items():
        path, label = ckpt.node_of(key, node_ids)
        by_block.setdefault(path, {})[key] = value
        labels[path] = label
    used: set[str] = set()
    with torch.no_grad():
        for path, mine in by_block.items():
            label = labels[path]
            missing = [k for k in mine if k not in stripped]
            wrong = [k for k in mine if k in stripped and stripped[k].shape != mine[k].shape]
            if wrong:
                k = wrong[0]
                report.reinitialized[label] = (
                    f"shape differs ({k[len(path) + 1:]}: {_shape(mine[k])} here, "
                    f"{_shape(stripped[k])} in the file)")
            elif missing:
                report.reinitialized[label] = ("not in the file" if len(missing) == len(mine)
                                               else f"{missing[0][len(path) + 1:]} not in "
                                                    "the file")
            else:
                for k, v in mine.items():
                    v.copy_(stripped[k])
                used.update(mine)
                report.matched.append(label)
                report.tensors += len(mine)
    report.unused = len(saved) - len(used)
    return report


def _shape(t: torch.Tensor) -> str:
    return "[" + ", ".join(map(str, t.shape)) + "]"


def preview_pretrained(project: Any, file: Path) -> InitReport:
    """What starting `project` from `file` would load, without data or a run: the graph(s)
    are compiled with fresh weights and the file matched against them (the GUI shows this
    when a person picks a file). Raises `CompileError` for a graph with errors and
    `PretrainedError` as `load_pretrained` does."""
    from ..compile import compile_graph, module_names
    from ..errors import CompileError
    from ..shapes import infer
    from ..text.vocab import learn_vocab

    learn_vocab(project)  # a "vocab" size is known from the data
    graphs = project.graphs()
    root: nn.Module = nn.Module()
    node_ids: dict[str, str] = {}
    for key, graph in graphs.items():
        analysis = infer(graph, vector_output=False)
        if not analysis.ok:
            raise CompileError(analysis.errors)
        module = compile_graph(graph, analysis)
        names = module_names(n.id for n in graph.nodes)
        if len(graphs) == 1:
            root, node_ids = module, {name: node_id for node_id, name in names.items()}
        else:  # a GAN's pair: keys start with the graph's, as its run's weights do
            root.add_module(key, module)
            node_ids.update({f"{key}.{name}": node_id for node_id, name in names.items()})
    return load_pretrained(root, Path(file), node_ids)
