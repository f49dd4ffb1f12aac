"""The ``"vocab"`` size: an Embedding's ``num_embeddings`` or a Linear's ``out_features``
that is the tokenizer's vocabulary size, whatever the text turns out to hold.

The project file keeps the word ``"vocab"``; the graph learns the number when the data is
known (`Graph.vocab_size`), from the run's ``tokenizer.json`` after training, else from the
data as training would load it. Until then such a node shows an error that says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TorchloomError
from ..params import VOCAB
from .tokenizers import TOKENIZER_FILE, Tokenizer, load_tokenizer

if TYPE_CHECKING:
    from ..graph import Graph
    from ..project import Project

#: (dataset spec, folder, val_split, seed) -> vocabulary size (None: the data did not load),
#: so checking a project again does not read its data again.
_KNOWN: dict[str, int | None] = {}


def uses_vocab(graph: "Graph") -> bool:
    return any(VOCAB in node.params.values() for node in graph.nodes)


def vocab_nodes(graph: "Graph") -> dict[str, str]:
    """node id -> the parameter that is ``"vocab"`` (for the canvas's "65 (vocab)")."""
    out = {}
    for node in graph.nodes:
        name = next((k for k, v in node.params.items() if v == VOCAB), None)
        if name is not None:
            out[node.id] = name
    return out


def run_tokenizer(run_dir: str | Path | None) -> Tokenizer | None:
    """The tokenizer a run saved, or None for a run of other data (or no run)."""
    if run_dir is None:
        return None
    path = Path(run_dir) / TOKENIZER_FILE
    return load_tokenizer(path) if path.is_file() else None


def learn_vocab(project: "Project", targets: str = "none", val_split: float | None = None,
                seed: int | None = None) -> int | None:
    """Set the project graph's vocabulary size from its data, when the graph has a
    ``"vocab"`` size and does not know it yet. Returns the size (None: unknown; the nodes
    then carry the error)."""
    graph = project.graph
    if not uses_vocab(graph):
        return graph.vocab_size
    from ..data import load_dataset
    from .fitting import TextFit

    config = project.training_config() if hasattr(project, "training_config") else {}
    val = float(config.get("val_split", 0.2)) if val_split is None else val_split
    seed = int(config.get("seed", 0)) if seed is None else seed
    base = project.path.parent if project.path is not None else None
    key = json.dumps([project.dataset, str(base), val, seed], sort_keys=True, default=str)
    if getattr(graph, "vocab_source", None) == key:
        return graph.vocab_size
    if key not in _KNOWN:
        try:
            data = load_dataset(project.dataset, base, targets, TextFit(val, seed))
            tok = data.tokenizer
            _KNOWN[key] = tok.vocab_size if tok is not None else None
        except (TorchloomError, TypeError, ValueError):
            _KNOWN[key] = None
    graph.vocab_size = _KNOWN[key]
    graph.vocab_source = key  # type: ignore[attr-defined]
    return graph.vocab_size


def set_vocab(graph: "Graph", tokenizer: Any) -> None:
    """The data is known: its tokenizer's size is what ``"vocab"`` means (None: not text)."""
    graph.vocab_size = tokenizer.vocab_size if tokenizer is not None else None
    graph.vocab_source = "data"  # type: ignore[attr-defined]
