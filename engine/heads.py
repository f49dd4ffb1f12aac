"""Several outputs: the top-level ``"heads"`` key of a project file, declared once.

A graph may end in more than one output node when each is given a head::

    "heads": {"digit": {"task": "classify", "target": "digit", "weight": 1.0},
              "size":  {"task": "regress",  "target": "size",  "weight": 0.5}}

Each head names the task its output is trained for (one of `HEAD_TASKS`), the data key its
targets come from, and how much its loss weighs in the sum that trains the model. The order
of the keys is the order of the compiled model's outputs (a tuple), of the exports and of the
metrics. This module is the file format only; what a head does in training is
``engine/tasks/heads.py``, which composes the tasks named here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ProjectFileError

if TYPE_CHECKING:
    from .graph import Graph

#: The tasks a head may name: those whose output is one vector (or number) per sample.
HEAD_TASKS = ("classify", "regress", "multilabel")
#: The keys of one head's object.
HEAD_KEYS = ("task", "target", "weight", "loss")


@dataclass(frozen=True)
class Head:
    """What one output node is trained for."""

    task: str
    #: the data key (an NPZ array, a built-in's named target) its targets come from
    target: str
    weight: float = 1.0
    #: the task's loss choice (regress: mse, l1, huber); None: the task's default
    loss: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "target": self.target, "weight": self.weight}
        if self.loss is not None:
            out["loss"] = self.loss
        return out

    def loss_name(self) -> str:
        from .project import TASKS

        return self.loss or TASKS[self.task].losses[0]


def project_heads(data: dict[str, Any], graph: "Graph", several_graphs: bool,
                  path: str | None = None) -> dict[str, Head]:
    """A project file's ``"heads"``, read and checked against its graph. A top-level
    ``"task"`` beside them is refused: each head names its own."""
    if several_graphs or "task" in data:
        raise ProjectFileError('heads give each output its own task: leave out the '
                               'top-level "task"', path=path, where="task")
    heads = read_heads(data["heads"], path)
    check_heads(heads, graph, path)
    return heads


def read_heads(value: Any, path: str | None = None) -> dict[str, Head]:
    """The heads of a parsed ``"heads"`` object, checked for shape (not yet against the
    graph: `check_heads` does that once the graph is read). Raises `ProjectFileError` naming
    the key."""
    from .project import TASKS

    def fail(message: str, where: str) -> ProjectFileError:
        return ProjectFileError(message, path=path, where=where)

    if not isinstance(value, dict) or not value:
        raise fail('expected an object {"<output node id>": {"task": ..., "target": ...}, '
                   "...} with one entry per output node", "heads")
    heads: dict[str, Head] = {}
    for node_id, entry in value.items():
        where = f"heads.{node_id[:60]}"
        if not isinstance(entry, dict):
            raise fail('expected an object {"task": ..., "target": ..., "weight": ...}', where)
        unknown = [k for k in entry if k not in HEAD_KEYS]
        if unknown:
            raise fail(f"unknown key '{str(unknown[0])[:40]}' (a head takes "
                       + ", ".join(HEAD_KEYS) + ")", f"{where}.{str(unknown[0])[:40]}")
        task = entry.get("task")
        if task not in HEAD_TASKS:
            shown = f"'{task[:40]}'" if isinstance(task, str) else repr(task)[:40]
            raise fail(f"unknown head task {shown}: use one of "
                       + ", ".join(f'"{t}"' for t in HEAD_TASKS), f"{where}.task")
        target = entry.get("target")
        if not isinstance(target, str) or not target or len(target) > 200:
            raise fail("target must name the data key holding this head's targets (an array "
                       "of the .npz), a non-empty string", f"{where}.target")
        weight = entry.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) \
                or not math.isfinite(weight) or weight <= 0:
            raise fail(f"weight must be a number above 0, got {weight!r}"[:120],
                       f"{where}.weight")
        loss = entry.get("loss")
        losses = TASKS[task].losses
        if loss is not None and loss not in losses:
            raise fail(f"loss {str(loss)[:40]!r} is not one the {task} task takes (use "
                       + " or ".join(losses) + ")", f"{where}.loss")
        heads[node_id] = Head(task, target, float(weight), loss)
    return heads


def check_heads(heads: dict[str, Head], graph: "Graph", path: str | None = None) -> None:
    """Every head names a node of the graph that ends it (an output: no wire leaves it)."""
    ids = {node.id for node in graph.nodes}
    for node_id in heads:
        where = f"heads.{node_id[:60]}"
        if node_id not in ids:
            raise ProjectFileError(f"there is no node '{node_id[:60]}' in the graph: a head "
                                   "is named after an output node's id", path=path,
                                   where=where)
        if node_id not in graph.output_ids():
            raise ProjectFileError(f"node '{node_id[:60]}' is not an output (it is wired on "
                                   "into other blocks): a head goes on a node the model "
                                   "ends in", path=path, where=where)


def default_heads(outputs: list[str]) -> dict[str, Head]:
    """A head per output node, as the fix for several outputs adds them: each classifies,
    with targets under its own id, weighing 1."""
    return {node_id: Head("classify", node_id) for node_id in outputs}


def heads_to_dict(heads: dict[str, Head]) -> dict[str, Any]:
    return {node_id: head.to_dict() for node_id, head in heads.items()}
