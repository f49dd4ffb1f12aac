"""Which tensor a wire carries from a block with several outputs (Split, Chunk).

Apart from `shapes` because it needs no torch: the canvas labels each wire with its port's
shape and must not import torch before the window shows (see gui/engine_loader.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .blocks import TensorSpec
from .blocks.base import SINGLE_OUTPUT
from .errors import Fix
from .graph import Edge, Graph

if TYPE_CHECKING:
    from .shapes import NodeInfo


def source_spec(graph: Graph, info: "NodeInfo", edge: Edge) -> TensorSpec | str:
    """What `edge` carries from its source (whose measurement is `info`), or the sentence
    saying why it carries nothing: it names an output its source does not have, or names
    none from a block with several."""
    src = graph.node(edge.src)
    names = list(info.outputs)
    wanted = edge.from_port
    if wanted is None and not info.multi_output:
        return info.outputs[SINGLE_OUTPUT]
    if wanted is not None and wanted in info.outputs:
        return info.outputs[wanted]
    listed = ", ".join(names)
    if wanted is None:
        return (f"the wire from {src.id} does not say which of its outputs ({listed}) it "
                f"carries: wire again from one of {src.id}'s output ports")
    if not info.multi_output:
        return (f"the wire from {src.id} names its output '{wanted[:40]}', but {src.type} has "
                f"one output: wire again from {src.id}")
    return (f"the wire from {src.id} names its output '{wanted[:40]}', which {src.id} does "
            f"not have (its outputs: {listed}): wire again from one of them")


def rewire_fix(info: "NodeInfo", edge: Edge, port: str) -> Fix:
    """The one-click repair of a wire `source_spec` refused: carry an output the source has.

    A wire naming none of several outputs most likely meant the first (a recurrent block
    switched to "both" passed on its sequence before); one naming an output that went away
    (fewer pieces) the last that is left; from a block with one output, that output.
    """
    names = list(info.outputs)
    if not info.multi_output:
        value = None
    else:
        value = names[0] if edge.from_port is None else names[-1]
    return Fix("rewire", edge.dst, port=port, value=value, source=edge.src,
               from_port=edge.from_port)
