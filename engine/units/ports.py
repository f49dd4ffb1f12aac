"""Grouping beside blocks with several outputs (Split, Chunk): which wires a unit can take.

A unit takes one input per outside block and gives one output, so a block with several
outputs may feed a selection from one of them only, and can give the unit's output only by
staying outside it. Kept apart from `edit` so that module stays about grouping itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..blocks import TensorSpec
from ..graph import Graph
from .errors import UnitError

if TYPE_CHECKING:
    from ..shapes import Analysis


def check_one_port_each(graph: Graph, selected: set[str]) -> None:
    """Raise `UnitError` when the selection takes two outputs of one outside block, or
    passes on a piece of a block with several outputs to a block outside."""
    ports: dict[str, set[str | None]] = {}
    for e in graph.edges:
        if e.dst in selected and e.src not in selected:
            ports.setdefault(e.src, set()).add(e.from_port)
        elif e.src in selected and e.dst not in selected and e.from_port is not None:
            raise UnitError(f"a unit has one output, but {e.src} passes on its output "
                            f"{e.from_port} to {e.dst} outside the selection: select the "
                            "blocks its pieces feed too", node=e.src, nodes=(e.src,))
    for src, used in ports.items():
        if len(used) > 1:
            raise UnitError(f"{src} feeds the selection from {len(used)} of its outputs "
                            f"({', '.join(sorted(map(str, used)))}): a unit takes one input "
                            f"per block; select {src} too", node=src, nodes=(src,))


def fed_spec(graph: Graph, analysis: "Analysis | None", src: str,
             selected: set[str]) -> TensorSpec | None:
    """What outside node `src` feeds the selection: the spec of the output its wires take
    (one piece of a Split), or None when it is not measured."""
    if analysis is None or src not in analysis.nodes:
        return None
    info = analysis.nodes[src]
    port = next((e.from_port for e in graph.out_edges(src) if e.dst in selected), None)
    return info.outputs.get(port, info.spec) if port is not None else info.spec
