"""Whole-graph validation: the problems a graph may have while it is being built.

Edits refuse what they can at once (see `Graph.check_connect`); these are the problems only
the whole graph shows: a dangling input, a loop in a loaded file, two outputs, a block wired
to nothing. They are reported, never raised, because an unfinished graph is normal.
"""

from __future__ import annotations

from .errors import (CycleError, Fix, DanglingInputError, DisconnectedWarning, GraphError,
                     InputAlreadyConnected, MultipleOutputsError, NoInputError, ParamError,
                     PortError, UnknownBlockError)
from .graph import Graph, unknown_type_message
from .params import validate_params


def graph_problems(graph: Graph) -> list[GraphError]:
    """Every structural problem, node by node in graph order, then whole-graph ones.

    Shape problems are found by `shapes.infer`, which includes these.
    """
    isolated = graph.isolated_ids()
    found: list[GraphError] = []
    alone = set(isolated)
    for node in graph.nodes:
        found.extend(wired_problems(graph, node.id, node.id in alone))
    loops = loop_problems(graph)
    found.extend(loops)
    found.extend(disconnected(graph, node_id) for node_id in isolated)
    found.extend(whole_graph_problems(graph, bool(graph.input_ids()), graph.output_ids(),
                                      cyclic=bool(loops)))
    return found


def wired_problems(graph: Graph, node_id: str, isolated: bool) -> list[GraphError]:
    """`node_problems`, but a block wired to nothing is not told its inputs dangle: it is
    told it is wired to nothing (`disconnected`)."""
    found = node_problems(graph, node_id)
    if isolated:
        return [p for p in found if not isinstance(p, DanglingInputError)]
    return found


def disconnected(graph: Graph, node_id: str) -> GraphError:
    """The warning on a block wired to nothing."""
    return DisconnectedWarning("is not wired to anything; the model ignores it",
                               node=node_id, block_type=graph.node(node_id).type)


def loop_problems(graph: Graph) -> list[GraphError]:
    """One error per loop (only a loaded file can hold one: `connect` refuses them)."""
    found: list[GraphError] = []
    for loop in graph.cycles():
        first = graph.node(loop[0])
        path = " -> ".join([*loop, loop[0]])
        found.append(CycleError(f"is part of a loop {path}: remove one of these wires; a "
                                "model must flow one way", node=first.id,
                                block_type=first.type, nodes=tuple(loop)))
    return found


def whole_graph_problems(graph: Graph, has_input: bool, outputs: list[str], cyclic: bool
                         ) -> list[GraphError]:
    """What only the whole graph shows: it is empty, has no Input, has several outputs
    without heads, or has nothing wired yet."""
    found: list[GraphError] = []
    if not len(graph):
        found.append(NoInputError("the graph is empty: add an Input block, then the "
                                  "layers after it"))
    elif not has_input:
        found.append(NoInputError("the graph has no Input block: add one where the data "
                                  "enters"))
    headless = [node_id for node_id in outputs if node_id not in graph.heads]
    if len(outputs) > 1 and headless:
        found.append(several_outputs(graph, outputs, headless))
    elif not outputs and not cyclic and len(graph) > 1:
        found.append(NoInputError("nothing is wired yet: connect the Input to a block"))
    return found


def several_outputs(graph: Graph, outputs: list[str], headless: list[str]
                    ) -> MultipleOutputsError:
    """Several outputs, some without a head: the error, on the first of those, with the fix
    that gives each a head (``"heads"``, `engine.heads`)."""
    if graph.heads:
        text = (f"is an output without a head ({', '.join(headless)} ha"
                f"{'s' if len(headless) == 1 else 've'} none; heads: {', '.join(graph.heads)}):"
                " give it a heads entry, or wire it onward or delete it")
    else:
        text = (f"has {len(outputs)} outputs ({', '.join(outputs)}): give each a head (what "
                "it is trained for: \"heads\" in the project), or wire the extra ones onward "
                "or delete them")
    first = graph.node(headless[0])
    return MultipleOutputsError(text, node=first.id, block_type=first.type,
                                fix=Fix("add_heads", headless[0], value=list(headless)),
                                nodes=tuple(outputs))


def node_problems(graph: Graph, node_id: str) -> list[GraphError]:
    """Problems of one node on its own: its type, its parameters and its ports."""
    node = graph.node(node_id)
    block = node.block
    if block is None:
        return [UnknownBlockError(unknown_type_message(node.type), node=node.id,
                                  block_type=node.type)]
    found: list[GraphError] = []
    if not isinstance(node.params, dict):
        return [ParamError("params must be an object of name: value", node=node.id,
                           block_type=node.type)]
    for name, message in validate_params(block.params, node.params)[1]:
        found.append(ParamError(message, node=node.id, block_type=node.type, param=name))
    ports = graph.inputs_of(node.id)
    previous: str | None = None
    for name, edges in ports.items():
        decl = block.port(name)
        if decl is None:
            srcs = ", ".join(e.src for e in edges)
            if not block.inputs:
                msg = f"has no inputs, but {srcs} is wired into it: remove that wire"
            elif name == "?":
                msg = (f"has no free input left for the wire from {srcs} (its ports: "
                       f"{', '.join(block.port_names)}): remove that wire")
            else:
                msg = (f"has no input port '{name}' (its ports: "
                       f"{', '.join(block.port_names)}); the wire from {srcs} needs one")
            found.append(PortError(msg, node=node.id, block_type=node.type, port=name))
            continue
        if len(edges) > 1 and not decl.variadic:
            found.append(InputAlreadyConnected(
                f"input '{name}' is wired {len(edges)} times (from "
                f"{', '.join(e.src for e in edges)}): keep one", node=node.id,
                block_type=node.type, port=name))
        if not edges and not decl.optional:
            what = "its inputs are" if decl.variadic else f"input '{name}' is"
            found.append(DanglingInputError(f"{what} not connected: wire a block into it",
                                            node=node.id, block_type=node.type, port=name))
        # optional inputs go by position, so one may not skip another; token ids (an int
        # port) are the exception: the layer finds them by their dtype (engine/layers.py)
        if edges and decl.optional and decl.dtype != "int" and previous is not None \
                and not ports.get(previous):
            found.append(PortError(f"'{name}' is wired but '{previous}' is not: wire "
                                   f"'{previous}' too", node=node.id,
                                   block_type=node.type, port=name))
        previous = name
    return found
