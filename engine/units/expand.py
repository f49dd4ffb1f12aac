"""A unit node, made concrete: its graph per copy with the outside's tensors as inputs and
the node's promoted values filled in, measured (shapes, parameters, errors) and compiled.

Each copy of a repeated unit is its own concrete graph, fed by the previous copy's output,
so inner sizes are inferred per copy and every copy has its own weights.
"""

from __future__ import annotations

import contextvars
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ..blocks.base import TensorSpec
from ..errors import GraphError
from .errors import UnitError, UnitInnerError
from .model import REPEAT, UnitDef, Units, unit_type

if TYPE_CHECKING:
    from torch import nn

    from ..graph import Graph
    from ..shapes import Analysis

#: Units being expanded right now (outermost first): a unit met again is a loop.
_ACTIVE: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("units", default=())
#: Blocks one outermost unit node may expand to, all copies and inner units together:
#: repeat is bounded per node, but a repeated unit inside a repeated unit multiplies
#: (1000 x 1000 copies would hang the shape pass and then run out of memory).
MAX_EXPANDED_BLOCKS = 20_000
#: Blocks expanded so far under the outermost unit node being measured.
_EXPANDED: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "expanded", default=None)


class _TooBig(Exception):
    """Raised inside nested measurements; the outermost unit node reports it."""


@dataclass
class UnitMeasure:
    """What the shape pass learns about one unit node."""

    spec: TensorSpec | None
    num_params: int = 0
    trainable: int = 0
    error: GraphError | None = None
    copies: tuple["Analysis", ...] = ()


def concrete_graph(units: Units, defn: UnitDef, params: dict[str, Any],
                   specs: Sequence[TensorSpec], base_dir: Path | None) -> "Graph":
    """The unit's graph for one copy: its Input nodes carry the incoming shapes and dtypes
    (in port order, first in the graph so placeholders follow the ports), promoted values
    are written into their targets."""
    from ..graph import Edge, Graph, Node

    graph = Graph()
    graph.base_dir = base_dir
    graph.units = units
    inner = defn.graph
    entries = [p.node for p in defn.inputs]
    for port, spec in zip(defn.inputs, specs):
        pos = inner.node(port.node).pos if port.node in inner else None
        graph.insert_node(Node(port.node, "Input",
                               {"shape": list(spec.shape), "dtype": spec.dtype}, pos))
    for node in inner.nodes:
        if node.id not in entries:
            graph.insert_node(Node(node.id, node.type, copy.deepcopy(node.params), node.pos,
                                   trainable=node.trainable, lr_scale=node.lr_scale))
    for edge in inner.edges:
        graph.insert_edge(Edge(edge.src, edge.dst, edge.port, from_port=edge.from_port))
    for pname, promoted in defn.params.items():
        if pname in params:
            for target in promoted.targets:
                if target.node in graph:
                    graph.node(target.node).params[target.param] = copy.deepcopy(params[pname])
    return graph


def _inner_error(node_id: str, defn: UnitDef, copy_no: int, repeat: int,
                 err: GraphError) -> UnitInnerError:
    where = f"in unit {defn.name}" + (f" (copy {copy_no} of {repeat})" if repeat > 1 else "")
    return UnitInnerError(f"{where}: {err.describe()}", node=node_id,
                          block_type=unit_type(defn.name), unit=defn.name,
                          inner_node=err.node, copy=copy_no, inner=err)


def _plain_error(node_id: str, defn: UnitDef, message: str) -> UnitError:
    return UnitError(message, node=node_id, block_type=unit_type(defn.name))


def measure_unit(units: Units, defn: UnitDef, node_id: str, params: dict[str, Any],
                 specs: Sequence[TensorSpec]) -> UnitMeasure:
    """Run the shape pass over every copy; the first error inside is reported on the unit
    node, naming the inner node (and the copy)."""
    from ..shapes import infer

    active = _ACTIVE.get()
    if defn.name in active:
        chain = " -> ".join((*active, defn.name))
        return UnitMeasure(None, error=_plain_error(
            node_id, defn, f"the unit {defn.name} contains itself ({chain}): remove the "
            "inner unit node"))
    repeat = int(params.get(REPEAT, 1))
    problem = port_problem(defn, repeat)
    if problem:
        return UnitMeasure(None, error=_plain_error(node_id, defn, problem))
    base_dir = _base_dir(params)
    budget = _EXPANDED.get()
    budget_token = _EXPANDED.set([0]) if budget is None else None
    token = _ACTIVE.set((*active, defn.name))
    try:
        current = list(specs)
        total = trainable = 0
        copies: list[Analysis] = []
        previous: tuple[list[TensorSpec], Analysis, int] | None = None
        for i in range(repeat):
            spent = _EXPANDED.get()
            assert spent is not None
            if previous is not None and previous[0] == current:
                # the same graph fed the same tensors: the same analysis (a block that keeps
                # its input's shape, repeated 1000 times, is measured once, not 1000 times)
                # the blocks it stands for still count, inner units' copies included
                analysis, size = previous[1], previous[2]
                spent[0] += size
                if spent[0] > MAX_EXPANDED_BLOCKS:
                    raise _TooBig
            else:
                graph = concrete_graph(units, defn, params, current, base_dir)
                before = spent[0]
                spent[0] += len(graph)
                if spent[0] > MAX_EXPANDED_BLOCKS:
                    raise _TooBig
                analysis = infer(graph)  # inner unit nodes add their copies to `spent`
                size = spent[0] - before
            previous = (current, analysis, size)
            copies.append(analysis)
            if analysis.errors:  # the copies so far, the failing one last, for the GUI
                return UnitMeasure(None, error=_inner_error(node_id, defn, i + 1, repeat,
                                                            analysis.errors[0]),
                                   copies=tuple(copies))
            out = defn.outputs[0].node
            if analysis.output != out:
                return UnitMeasure(None, error=_plain_error(
                    node_id, defn, f"the unit's output {out} must be the one end of its "
                    f"graph (it ends at {', '.join(_ends(analysis)) or 'nothing'})"),
                    copies=tuple(copies))
            spec = analysis.output_spec
            if spec is None:  # pragma: no cover - an error would have been reported
                return UnitMeasure(None, error=_plain_error(node_id, defn, "has no output"))
            total += analysis.total_params
            trainable += analysis.trainable_params
            current = [spec]
        return UnitMeasure(current[0], total, trainable, None, tuple(copies))
    except _TooBig:
        if budget_token is None:
            raise  # an inner unit: the outermost unit node reports it
        return UnitMeasure(None, error=_plain_error(
            node_id, defn, f"expands to more than {MAX_EXPANDED_BLOCKS} blocks (repeat "
            f"{repeat}, and repeated units inside it multiply): lower a repeat"))
    finally:
        _ACTIVE.reset(token)
        if budget_token is not None:
            _EXPANDED.reset(budget_token)


def _ends(analysis: "Analysis") -> list[str]:
    """The nodes a copy's graph ends at (no outgoing wire), from its analysis."""
    from ..errors import MultipleOutputsError

    if analysis.output is not None:
        return [analysis.output]
    several = next((p for p in analysis.problems if isinstance(p, MultipleOutputsError)), None)
    return list(several.nodes) if several is not None else []


def unit_flops(units: Units, defn: UnitDef, params: dict[str, Any],
               specs: Sequence[TensorSpec]) -> int | None:
    """FLOPs of a unit node for a batch of one: the sum over its copies of their blocks'
    counts (`summary.node_flops`), a copy fed what the one before it was fed counted once.
    None when a copy does not measure (its error is on the node already)."""
    from ..shapes import infer
    from ..summary import node_flops

    repeat = int(params.get(REPEAT, 1))
    if port_problem(defn, repeat) or defn.name in _ACTIVE.get():
        return None
    token = _ACTIVE.set((*_ACTIVE.get(), defn.name))
    try:
        current, total = list(specs), 0
        previous: tuple[list[TensorSpec], int, TensorSpec] | None = None
        for _ in range(repeat):
            if previous is None or previous[0] != current:
                graph = concrete_graph(units, defn, params, current, _base_dir(params))
                analysis = infer(graph)
                if not analysis.ok or analysis.output_spec is None:
                    return None
                previous = (current, sum(node_flops(graph, analysis).values()),
                            analysis.output_spec)
            total += previous[1]
            current = [previous[2]]
        return total
    finally:
        _ACTIVE.reset(token)


def port_problem(defn: UnitDef, repeat: int) -> str | None:
    """Why a unit's ports do not allow this use, or None."""
    if len(defn.outputs) != 1:
        return f"the unit {defn.name} has {len(defn.outputs)} outputs; a unit has exactly one"
    if repeat > 1 and len(defn.inputs) != 1:
        return (f"repeat {repeat} needs a unit with one input and one output, but "
                f"{defn.name} has {len(defn.inputs)} inputs: set repeat to 1")
    return None


def _base_dir(params: dict[str, Any]) -> Path | None:
    raw = params.get("_base_dir")
    return Path(raw) if raw else None


def build_unit(units: Units, defn: UnitDef, params: dict[str, Any],
               specs: Sequence[TensorSpec]) -> "nn.Module":
    """Compile every copy into an fx GraphModule named after the unit; `repeat` > 1 gives
    an `nn.Sequential` of them, so weights read ``block1.0.conv.weight``."""
    from torch import nn

    from ..compile import compile_graph
    from ..errors import CompileError
    from ..shapes import infer

    repeat = int(params.get(REPEAT, 1))
    problem = port_problem(defn, repeat)
    if problem:
        raise CompileError([UnitError(problem, block_type=unit_type(defn.name))])
    current = list(specs)
    modules = []
    previous: tuple[list[TensorSpec], Graph, Analysis] | None = None
    for _ in range(repeat):
        if previous is None or previous[0] != current:  # else: the same graph, measured
            graph = concrete_graph(units, defn, params, current, _base_dir(params))
            previous = (current, graph, infer(graph))
        _, graph, analysis = previous
        modules.append(compile_graph(graph, analysis, class_name=defn.name, keep_rng=False))
        current = [analysis.output_spec]  # type: ignore[list-item]
    return modules[0] if repeat == 1 else nn.Sequential(*modules)
