"""What shape inference says about a node that does not fit: the sentences and their fixes.

Apart from `shapes` so the pass reads as measuring, and the words a person acts on ("insert a
Flatten before it") sit in one place.
"""

from __future__ import annotations

from typing import Any

from .blocks import Block, Port, TensorSpec
from .blocks.base import BlockCheckError
from .errors import CodeError, Fix, GraphError, OutputShapeWarning, ShapeError
from .graph import Edge, Graph, Node
from .params import VOCAB


def port_mismatch(graph: Graph, node: Node, block: Block, port: Port, spec: TensorSpec,
                   edge: Edge) -> ShapeError | None:
    """A sentence (and a fix) when a tensor's dtype or rank cannot fit the port at all."""
    upstream = graph.node(edge.src)
    where = f"'{port.name}' " if len(block.inputs) > 1 else ""

    def err(message: str, fix: Fix | None = None) -> ShapeError:
        return ShapeError(message, node=node.id, block_type=node.type, fix=fix, port=port.name)

    if port.dtype == "float" and spec.is_int:
        return err(f"expects float input {where}but gets int64 token ids {spec.show()}: insert "
                   "an Embedding before it",
                   Fix("insert", node.id, block="Embedding", port=port.name))
    if port.dtype == "int" and not spec.is_int:
        fix = None
        tail = "feed it token ids (an Input with dtype int64)"
        if upstream.type == "Input":
            fix = Fix("set_param", upstream.id, param="dtype", value="int64")
            tail = f"set the dtype of {upstream.id} to int64"
        return err(f"expects int64 token ids but gets {spec.dtype} {spec.show()}: {tail}", fix)
    rank = len(spec.shape) + 1
    if port.ranks is None or rank in port.ranks:
        return None
    expected = f"expects {port.layout} input {where}but gets {spec.show()}"
    if rank > max(port.ranks) and 2 in port.ranks:
        return err(f"{expected}: insert a Flatten before it",
                   Fix("insert", node.id, block="Flatten", port=port.name))
    if rank < min(port.ranks) and upstream.type == "Flatten":
        return err(f"{expected}: remove the Flatten ({upstream.id}) before it",
                   Fix("remove", upstream.id))
    if port.ranks == (3,) and rank == 2 and upstream.type == "SequencePool":
        return err(f"{expected}: the sequence was already pooled by {upstream.id}; move the "
                   "SequencePool after this block")
    if port.ranks == (3,) and rank == 2 and edge.from_port == "hidden":  # output "both"
        return err(f"{expected}: the wire carries {upstream.id}'s final hidden state; wire "
                   f"from its 'sequence' port to pass every step",
                   Fix("rewire", node.id, port=port.name, value="sequence", source=upstream.id,
                       from_port="hidden"))
    if port.ranks == (3,) and rank == 2 and upstream.resolved_params().get("output") == "hidden":
        return err(f"{expected}: {upstream.id} passes on only its final hidden state "
                   "(output='hidden'); set its output to 'sequence' to pass every step",
                   Fix("set_param", upstream.id, param="output", value="sequence"))
    if port.ranks == (3,) and rank == 2:
        return err(f"{expected}: it reads a sequence; token ids need an Embedding first, "
                   "features per step need a [length, features] Input")
    if port.ranks == (3,) and rank == 4:
        return err(f"{expected}: it reads a sequence, not an image; turn the image into rows "
                   "(e.g. Flatten with start_dim=1, end_dim=2) or use Conv2d")
    if rank < min(port.ranks):
        return err(f"{expected}: the input has too few dimensions for this block")
    return err(f"{expected}: the input has too many dimensions for this block")


def output_warning(node: Node, spec: TensorSpec) -> GraphError | None:
    """A classifier needs one vector per sample; say how to get there from what comes out."""
    if len(spec.shape) <= 1 or node.type == "Input":
        return None
    sequence = len(spec.shape) == 2
    block = "SequencePool" if sequence else "Flatten"
    what = "a sequence" if sequence else "a feature map"
    if node.type == "Linear":
        where, fix = f"before {node.id}", Fix("insert", node.id, block=block, port="in")
    else:
        where, fix = f"after {node.id}", Fix("append", node.id, block=block)
    extra = "" if sequence else " (or AdaptiveAvgPool2d and Flatten)"
    return OutputShapeWarning(
        f"the model outputs {what} {spec.show()}; a classifier needs one vector per sample "
        f"[N, classes]: insert a {block}{extra} {where}", node=node.id, block_type=node.type,
        fix=fix)


def unknown_vocab(node: Node, params: dict[str, Any]) -> GraphError | None:
    """A ``"vocab"`` size while no text data says what it is (`Node.vocab_size`)."""
    name = next((k for k, v in params.items() if v == VOCAB), None)
    if name is None:
        return None
    return ShapeError(f'{name} is "vocab", the vocabulary size of the text data, but the '
                      "dataset is not text with a tokenizer (or did not load): choose text "
                      f"data, or set {name} to a number", node=node.id, block_type=node.type,
                      param=name)


def check_node(graph: Graph, node: Node, block: Block, params: dict[str, Any],
                args: list[tuple[Port, Edge]], specs: tuple[TensorSpec, ...]
                ) -> GraphError | None:
    for (port, edge), spec in zip(args, specs):
        mismatch = port_mismatch(graph, node, block, port, spec, edge)
        if mismatch is not None:
            return mismatch
    try:
        block.check(params, specs)
    except BlockCheckError as exc:
        if getattr(exc, "path", None):  # a Code block's file does not run
            return CodeError(exc.message, node=node.id, block_type=node.type,
                             path=exc.path, line=getattr(exc, "line", None))  # type: ignore[attr-defined]
        return ShapeError(exc.message, node=node.id, block_type=node.type, fix=exc.fix)
    return None
