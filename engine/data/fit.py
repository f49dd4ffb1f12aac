"""Does the data fit the graph? Shapes, dtypes, token ids and the class count, in words.

Run before training, so a mismatch is a sentence naming both sides, never a torch error
halfway through the first batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ..errors import DataError
from .dataset import Dataset

if TYPE_CHECKING:
    from ..graph import Graph
    from ..shapes import Analysis


def _show(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def input_mismatch(data: Dataset, shape: tuple[int, ...], dtype: str) -> str | None:
    """Why `data` cannot feed an Input of `shape` and `dtype`: ``"shape"``, ``"dtype"`` or
    None. None includes the cases `fit_to_graph` repairs: a missing channel dimension
    ([H, W] into [1, H, W]), integer data into a float Input, whole-number floats into
    token ids."""
    have = tuple(data.input_shape)
    if shape != have and not (shape == (1, *have) and data.in_memory):
        return "shape"
    if dtype == "int64" and data.dtype != "int64":
        x = data.x
        if x is None or not torch.equal(x, x.round()):
            return "dtype"
    return None


def fit_to_graph(data: Dataset, graph: "Graph", analysis: "Analysis"
                 ) -> tuple[Dataset, list[str]]:
    """Return the data converted to what the Input expects, plus notes on what was done.
    The targets are the task's to check (`tasks.supervised.SupervisedTask.check_targets`).

    Raises `DataError` when they cannot fit: the message names the data's shape and the
    Input node's, and says what to change.
    """
    notes: list[str] = []
    inputs = [i for i in analysis.inputs if analysis.nodes[i].spec is not None
              and graph.out_edges(i)]
    if len(inputs) >= 2 or data.several:
        return _fit_several(data, graph, analysis)
    if len(inputs) != 1:
        raise DataError(f"the model has {len(inputs)} wired Input blocks; training takes "
                        "models with one or more")
    input_id = inputs[0]
    spec = analysis.nodes[input_id].spec
    assert spec is not None
    want, have = spec.shape, data.input_shape
    problem = input_mismatch(data, want, spec.dtype)
    if problem == "shape":
        raise DataError(f"the data has samples of shape {_show(have)} ({data.name}) but the "
                        f"Input node {input_id} expects {_show(want)}: set {input_id}'s "
                        f"shape to {_show(have)}")
    if problem == "dtype":
        raise DataError(f"the Input node {input_id} expects int64 token ids but the data "
                        f"holds {data.dtype} values: set {input_id}'s dtype to float32")
    if want != have:
        data = _with_x(data, data.x.unsqueeze(1))  # type: ignore[union-attr]
        notes.append(f"added a channel dimension: samples {_show(have)} -> {_show(want)}")
    if spec.dtype == "int64" and data.dtype != "int64":
        data = _with_x(data, data.x.long())  # type: ignore[union-attr]
    elif spec.dtype == "float32" and data.dtype != "float32":
        if data.x is not None:
            data = _with_x(data, data.x.float())
    if spec.dtype == "int64":
        _check_token_ids(data.x, graph, input_id)  # type: ignore[arg-type]
    return data, notes


def input_shape_problem(node_id: str, want: tuple[int, ...], have: tuple[int, ...]
                        ) -> str | None:
    """Why array `node_id`'s samples of shape `have` cannot feed the Input node `node_id`
    of shape `want` (a missing channel dimension is added, so it fits); None if they can."""
    if want == have or want == (1, *have):
        return None
    return (f"array '{node_id}' has samples of shape {_show(have)} but the Input node "
            f"{node_id} expects {_show(want)}: set {node_id}'s shape to {_show(have)}")


def _fit_several(data: Dataset, graph: "Graph", analysis: "Analysis"
                 ) -> tuple[Dataset, list[str]]:
    """Each Input's array fitted to its node as one Input's data is: shape (a missing
    channel dimension added), dtype, token ids. Messages name the node, the key and both
    shapes."""
    from ..compile import input_order
    from .inputs import Inputs

    order = input_order(graph, analysis)
    wanted = ", ".join(order)
    if not data.several:
        raise DataError(f"the model has {len(order)} Input nodes ({wanted}) but {data.name} "
                        "holds one input per sample: save an .npz with one array per Input, "
                        f"named after its node id ({wanted}), and the labels as y")
    held = data.inputs or {}
    notes: list[str] = []
    fitted: dict[str, torch.Tensor] = {}
    for node_id in order:
        spec = analysis.nodes[node_id].spec
        assert spec is not None
        if node_id not in held:
            raise DataError(f"there is no array '{node_id}' for the Input node {node_id} "
                            f"(the data holds: {', '.join(held) or 'nothing'})",
                            where=f"Input node {node_id}")
        x = held[node_id]
        want, have = tuple(spec.shape), tuple(x.shape[1:])
        problem = input_shape_problem(node_id, want, have)
        if problem is not None:
            raise DataError(problem, where=f"Input node {node_id}")
        if want != have:
            x = x.unsqueeze(1)
            notes.append(f"{node_id}: added a channel dimension: samples {_show(have)} -> "
                         f"{_show(want)}")
        if spec.dtype == "int64":
            if x.is_floating_point() and not torch.equal(x, x.round()):
                raise DataError(f"the Input node {node_id} expects int64 token ids but array "
                                f"'{node_id}' holds fractions: set {node_id}'s dtype to "
                                "float32", where=f"Input node {node_id}")
            x = x.long()
            _check_token_ids(x, graph, node_id)
        else:
            x = x.float()
        fitted[node_id] = x
    return Dataset(Inputs(fitted), data.y, data.name, data.classes, data.info), notes


def _with_x(data: Dataset, x: torch.Tensor) -> Dataset:
    return data.with_x(x)


def embedding_shortfall(data: Any, embeddings: dict[str, Any]) -> tuple[str, int, int, Any] | None:
    """The first Embedding too small for the data's token ids, by the rule training refuses
    them with (`_check_token_ids`): (node id, its num_embeddings, the size the ids need,
    the value that fits: ``"vocab"`` for text data, whose tokenizer knows its size, else
    the number). `embeddings`: node id -> num_embeddings as the node holds it. None when
    each fits, or the data holds no token ids in memory."""
    if data is None or data.several or not data.in_memory or data.x.is_floating_point() \
            or data.x.numel() == 0:
        return None
    needed = int(data.x.max()) + 1
    for node, size in embeddings.items():
        if isinstance(size, int) and not isinstance(size, bool) and size < needed:
            return node, size, needed, "vocab" if data.tokenizer is not None else needed
    return None


def _check_token_ids(x: torch.Tensor, graph: "Graph", input_id: str) -> None:
    low, high = int(x.min()), int(x.max())
    if low < 0:
        raise DataError(f"token ids must not be negative, but the data holds {low}")
    for edge in graph.out_edges(input_id):
        node = graph.node(edge.dst)
        if node.type == "Embedding":
            size = node.build_params(graph.base_dir)["num_embeddings"]
            if high >= size:
                raise DataError(f"token ids go up to {high} but {node.id}'s num_embeddings is "
                                f"{size}: raise num_embeddings to at least {high + 1}")
