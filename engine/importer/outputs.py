"""What a model returns: one tensor, or a tuple or dict of them (a VAE's ``recon, mu,
logvar``, a GPT's ``logits, loss``), read off the traced graph and off a run.

A canvas model with several outputs ends in one node per returned tensor, and the project
gives each a head (`engine.heads`): the compiled model then returns them as a tuple in the
forward's order, which is what ``recon, mu, logvar = model(x)`` unpacks. A dict comes back
as that tuple in the dict's key order, each output node named after its key. An element
that is always None on the import's inputs (nanoGPT's loss without targets) is left out.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from torch import fx, nn

from ..graph import Graph
from ..heads import default_heads
from ..project import Project
from ..sampling import run_seeded
from .mapping import Mapped
from .parts import BlockPart, CodePart, PlanError, unique_id


@dataclass
class Returned:
    """The tensors a traced forward returns, in order."""

    nodes: list[fx.Node]
    #: per node: the dict key it is returned under, or None (a tuple's element)
    keys: list[str | None]
    #: per node: its position in the tuple or dict as the forward wrote it (Nones counted)
    positions: list[int]
    notes: list[str] = field(default_factory=list)

    @property
    def several(self) -> bool:
        return len(self.nodes) > 1


def read_returned(out_node: fx.Node) -> Returned:
    """The tensors `out_node` (the traced graph's ``output``) returns.

    Raises:
        PlanError: a nested tuple, a number or only Nones, which no output node can give.
    """
    result = out_node.args[0]
    if isinstance(result, fx.Node):
        return Returned([result], [None], [0])
    if isinstance(result, dict):
        items: list[tuple[str | None, Any]] = [(str(k), v) for k, v in result.items()]
    elif isinstance(result, (tuple, list)):
        items = [(None, v) for v in result]
    else:
        raise PlanError("the model returns no tensor")
    found = Returned([], [], [])
    for position, (key, item) in enumerate(items):
        named = f"'{key}'" if key is not None else str(position)
        if item is None:
            found.notes.append(f"the model's output {named} is None on these inputs (an "
                               "argument left at its default, like a loss without targets): "
                               "it is left out, so the import returns one output less")
            continue
        if not isinstance(item, fx.Node):
            raise PlanError(f"the model's output {named} is not one tensor (a nested tuple "
                            "or a number): a canvas output is a tensor")
        found.nodes.append(item)
        found.keys.append(key)
        found.positions.append(position)
    if not found.nodes:
        raise PlanError("the model returns only None")
    return found


def end_outputs(returned: Returned, parts: list[BlockPart | CodePart],
                value_of: dict[fx.Node, str], port_of: dict[fx.Node, str],
                kinds: dict[fx.Node, str], used_ids: set[str]) -> tuple[list[str], set[str]]:
    """The node ids a model with several outputs ends in, in the forward's order, and the
    Identity nodes added for that (returned in `parts`).

    A returned tensor whose node nothing else reads ends the graph itself (keeping its
    name, or taking the dict key). One read further on (a VAE's ``mu`` also feeds the
    sampling), given by a port, returned twice or an input gets an Identity node named
    after its key or position (``output_1``): an output node is one no wire leaves.

    Raises:
        PlanError: a returned value that is no wire (a tensor without the batch first).
    """
    by_id = {part.id: part for part in parts}
    read = Counter(value_of[n] for part in parts for n in _wires_read(part) if n in value_of)
    returned_ids = Counter(value_of.get(n) for n in returned.nodes if n not in port_of)
    outputs: list[str] = []
    ends: set[str] = set()
    for node, key, position in zip(returned.nodes, returned.keys, returned.positions):
        named = f"'{key}'" if key is not None else str(position)
        if node not in value_of or kinds.get(node) not in ("input", "value"):
            raise PlanError(f"the model's output {named} is not a tensor with the batch first, "
                            "which a canvas output must be")
        source = value_of[node]
        name = _node_name(key) if key is not None else None
        part = by_id.get(source)
        if (part is not None and node not in port_of and not read[source]
                and returned_ids[source] == 1):
            if name is not None and name != source:
                used_ids.discard(source)
                _rename(part, unique_id(name, used_ids), value_of)
            outputs.append(part.id)
            continue
        end = BlockPart(unique_id(name or f"output_{position}", used_ids), node,
                        Mapped("Identity", {}, [node]))
        parts.append(end)
        ends.add(end.id)
        outputs.append(end.id)
    return outputs, ends


def _wires_read(part: BlockPart | CodePart) -> list[fx.Node]:
    return list(part.mapped.inputs) if isinstance(part, BlockPart) else part.call_args


def _node_name(key: str) -> str:
    name = re.sub(r"\W", "_", key).strip("_") or "output"
    return f"output_{name}" if name[0].isdigit() else name


def _rename(part: BlockPart | CodePart, new: str, value_of: dict[fx.Node, str]) -> None:
    old = part.id
    part.id = new
    for node, node_id in value_of.items():
        if node_id == old:
            value_of[node] = new


def end_graph(graph: Graph, returned: Any, value_of: dict[fx.Node, str],
              port_of: dict[fx.Node, str]) -> list[str] | None:
    """`end_outputs` for a graph already built (a ``.pt2``'s): the output node ids in the
    program's order, adding an Identity node where one is needed; None when a returned
    value is no wire. One output is returned as it is."""
    items = [v for v in (returned if isinstance(returned, (tuple, list)) else [returned])
             if v is not None]
    if not items or not all(isinstance(v, fx.Node) and v in value_of for v in items):
        return None
    if len(items) == 1:
        return [value_of[items[0]]]
    inputs = set(graph.input_ids())
    taken = Counter(value_of[v] for v in items if v not in port_of)
    outputs = []
    for position, item in enumerate(items):
        source = value_of[item]
        if (item not in port_of and taken[source] == 1 and source not in inputs
                and not graph.out_edges(source)):
            outputs.append(source)
            continue
        end = unique_id(f"output_{position}", {n.id for n in graph.nodes})
        graph.add_node("Identity", {}, end)
        graph.connect(source, end, from_port=port_of.get(item))
        outputs.append(end)
    return outputs


def give_heads(project: Project, outputs: list[str], notes: list[str]) -> None:
    """A model with several outputs: each output node gets the head the graph's own fix
    would add (classify, targets under its id, weight 1), so the project checks, compiles
    and exports, returning its outputs in the forward's order. What each output is trained
    for the import cannot tell: the note says to set it."""
    project.set_heads(default_heads(outputs))
    notes.append(f"the model returns {len(outputs)} outputs, in this order: "
                 f"{', '.join(outputs)}; each has a placeholder head (classify, targets under "
                 "its own id) so the project compiles and exports: set what each is trained "
                 "for in \"heads\" before training")


# ---- a run's outputs ---------------------------------------------------------------------


def returned_tensors(value: Any) -> list[torch.Tensor] | None:
    """The tensors a forward returned, in order (a dict's in key order, Nones left out, as
    the import reads the traced return); None when it returned anything else."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (tuple, list)):
        items = list(value)
    else:
        return None
    items = [v for v in items if v is not None]
    return items if items and all(isinstance(v, torch.Tensor) for v in items) else None


def same_outputs(a: nn.Module, b: nn.Module, inputs: Sequence[torch.Tensor]) -> bool:
    """Whether `a` and `b` return exactly the same tensors on `inputs` (seeded alike)."""
    want, got = returned_tensors(run_seeded(a, inputs)), returned_tensors(run_seeded(b, inputs))
    return (want is not None and got is not None and len(want) == len(got)
            and all(torch.equal(x, y) for x, y in zip(want, got)))
