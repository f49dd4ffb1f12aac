"""From a traced graph to a plan of canvas nodes: blocks where a mapping exists, Code nodes
for the rest.

Every traced node falls in one class: an *input* (placeholder); a *value* (a tensor that
depends on the inputs and keeps the batch first, so it can be a wire); *inline* (sizes,
shapes, constants and attributes, which are recomputed inside whichever Code node needs
them); or *opaque* (a module's tuple, or a tensor whose first dimension is not the batch,
which cannot be a wire and must stay inside one Code node).

Unmapped nodes are merged into Code nodes along straight chains (each link used only by
the next), which keeps ``x.permute(0, 2, 1).contiguous()`` one node, gives every Code node
exactly one output, and can never create a loop: a node joins a chain only if everything
else it reads was computed before the chain began.
"""

from __future__ import annotations

import re

from torch import fx

from .functions import map_function
from .learned import learned_parameters
from .mapping import Alias, Context, Mapped, Unmapped, check_mapped, map_module
from .outputs import end_outputs, read_returned
from .parts import BlockPart, CodePart, Plan, PlanError, unique_id
from .values import Value

__all__ = ["BlockPart", "CodePart", "Plan", "PlanError", "make_plan"]


def make_plan(gm: fx.GraphModule, values: dict[fx.Node, Value],
              forced: dict[str, str] | None = None) -> Plan:
    """Decide every traced node's fate. `forced` names nodes (by fx name) that must stay
    code, with the reason: a block whose shape check failed on the canvas.

    Raises:
        PlanError: the graph cannot be expressed as blocks and single-output Code nodes.
    """
    forced = forced or {}
    nodes = list(gm.graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    kinds = _classify(nodes, values)
    values = dict(values)
    mapped: dict[fx.Node, Mapped] = learned_parameters(gm, values, kinds)
    ctx = _WiredContext(gm, values, kinds)
    alias: dict[fx.Node, fx.Node] = {}
    absorbed: set[fx.Node] = set()
    reasons: dict[fx.Node, str] = {}
    for n in nodes:
        if n in absorbed or kinds[n] not in ("value", "opaque", "inline") or n.op not in (
                "call_module", "call_function", "call_method"):
            continue
        if n.name in forced:
            reasons[n] = forced[n.name]
            continue
        try:
            found = map_module(n, ctx) if n.op == "call_module" else map_function(n, ctx)
            if isinstance(found, Mapped):
                check_mapped(found, n, ctx)
        except Unmapped as exc:
            if str(exc) and kinds[n] != "inline":
                reasons[n] = str(exc)
            continue
        if kinds[n] == "inline" and not (isinstance(found, Mapped) and found.given):
            continue  # only a call whose tuple a block reads (``x.max(dim=1)[0]``) maps
        if isinstance(found, Alias):
            alias[n] = found.source
        else:
            mapped[n] = found
            absorbed.update(found.given, found.consumed)
    groups = _chains(nodes, order, kinds, mapped, alias, absorbed)
    return _assemble(gm, nodes, order, kinds, mapped, alias, groups, reasons)


def _classify(nodes: list[fx.Node], values: dict[fx.Node, Value]) -> dict[fx.Node, str]:
    kinds: dict[fx.Node, str] = {}
    live: set[fx.Node] = set()  # nodes that depend on an input
    for n in nodes:
        parents = n.all_input_nodes
        if n.op == "placeholder":
            live.add(n)
            kinds[n] = "input"
        elif n.op == "output":
            kinds[n] = "output"
        elif n.op == "get_attr" or not any(p in live for p in parents):
            kinds[n] = "inline"
        else:
            live.add(n)
            value = values.get(n)
            if value is not None and value.is_tensor and value.batched:
                kinds[n] = "value"
            elif (n.op == "call_module" or any(kinds[p] == "opaque" for p in parents)
                  or value is not None and value.is_tensor):
                kinds[n] = "opaque"  # a tuple, or a tensor without the batch first
            else:
                kinds[n] = "inline"
    return kinds


class _WiredContext(Context):
    def __init__(self, gm: fx.GraphModule, values: dict[fx.Node, Value],
                 kinds: dict[fx.Node, str]) -> None:
        super().__init__(gm, values)
        self.kinds = kinds

    def is_tensor(self, node: object) -> bool:
        return isinstance(node, fx.Node) and self.kinds.get(node) in ("input", "value") and \
            super().is_tensor(node)


def _needs(n: fx.Node, kinds: dict[fx.Node, str]) -> tuple[list[fx.Node], list[fx.Node]]:
    """(wired or opaque nodes `n` reads, inline nodes it recomputes), looking through the
    inline ones."""
    outer: list[fx.Node] = []
    inline: list[fx.Node] = []
    stack = list(n.all_input_nodes)
    while stack:
        p = stack.pop(0)
        if kinds[p] == "inline":
            if p not in inline:
                inline.append(p)
                stack.extend(p.all_input_nodes)
        elif p not in outer:
            outer.append(p)
    return outer, inline


def _consumers(p: fx.Node, kinds: dict[fx.Node, str]) -> set[fx.Node]:
    """The non-inline nodes that read `p`, directly or through inline nodes."""
    out: set[fx.Node] = set()
    stack = list(p.users)
    seen: set[fx.Node] = set()
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        if kinds[u] == "inline":
            stack.extend(u.users)
        else:
            out.add(u)
    return out


def _chains(nodes: list[fx.Node], order: dict[fx.Node, int], kinds: dict[fx.Node, str],
            mapped: dict, alias: dict, absorbed: set) -> list[list[fx.Node]]:
    groups: list[list[fx.Node]] = []
    group_of: dict[fx.Node, list[fx.Node]] = {}
    for n in nodes:
        if (kinds[n] not in ("value", "opaque") or n in mapped or n in alias
                or n in absorbed):
            continue
        outer, _ = _needs(n, kinds)
        joined = None
        for p in outer:
            if n.op == "call_module" and kinds[p] != "opaque":
                continue  # a module call starts its own Code node unless it must not
            group = group_of.get(p)
            if (group is not None and group[-1] is p and _consumers(p, kinds) == {n}
                    and not _closed(group, kinds)
                    and all(d in group or order[d] < order[group[0]] for d in outer)):
                joined = group
                break
        if joined is None:
            joined = []
            groups.append(joined)
        joined.append(n)
        group_of[n] = joined
    return groups


def _closed(group: list[fx.Node], kinds: dict[fx.Node, str]) -> bool:
    """A module call that returns one tensor stays a Code node of its own (its class on
    the canvas); only a module's tuple output takes the indexing after it along."""
    return group[0].op == "call_module" and kinds[group[0]] == "value"


def _assemble(gm: fx.GraphModule, nodes: list[fx.Node], order: dict[fx.Node, int],
              kinds: dict[fx.Node, str], mapped: dict[fx.Node, Mapped],
              alias: dict[fx.Node, fx.Node], groups: list[list[fx.Node]],
              reasons: dict[fx.Node, str]) -> Plan:
    value_of: dict[fx.Node, str] = {}
    port_of: dict[fx.Node, str] = {}
    inputs = [n for n in nodes if n.op == "placeholder"]
    for n in inputs:
        value_of[n] = n.name
    starts = {group[0]: group for group in groups}
    parts: list[BlockPart | CodePart] = []
    notes: list[str] = []
    #: module calls and inputs keep their fx names; other nodes take what is left
    used_ids = {n.name for n in nodes if n.op in ("placeholder", "call_module")}
    for n in nodes:
        if n in alias:
            source = alias[n]
            if source not in value_of:
                raise PlanError(f"{n.name} passes on a value that is not a wire")
            value_of[n] = value_of[source]
            if source in port_of:
                port_of[n] = port_of[source]
        elif n in mapped:
            found = mapped[n]
            part_id = n.name if n.op == "call_module" else unique_id(_block_id(n, found),
                                                                   used_ids)
            for out in found.given or [n]:
                value_of[out] = part_id
            port_of.update(found.port_outputs)
            parts.append(BlockPart(part_id, n, found))
            if found.note:
                notes.append(found.note)
        elif n in starts:
            parts.append(_code_part(starts[n], kinds, value_of, reasons, used_ids))
            tail = starts[n][-1]
            if kinds[tail] != "value":
                raise PlanError(f"{tail.name} gives a {tail.name!r} tuple that several parts "
                                "of the model read")
    returned = read_returned(next(n for n in nodes if n.op == "output"))
    notes += returned.notes
    if returned.several:
        outputs, ends = end_outputs(returned, parts, value_of, port_of, kinds, used_ids)
        return Plan(inputs, parts, value_of, outputs[0], notes + _shared(gm, parts), port_of,
                    outputs, ends)
    result = returned.nodes[0]
    if result not in value_of:
        raise PlanError("the model returns a tensor without the batch first (a canvas "
                        "output keeps the batch first)")
    if kinds[result] == "input":
        raise PlanError("the model returns its input unchanged")
    if result in port_of:
        raise PlanError("the model returns one output of a block with several (a canvas "
                        "model ends in a block's one output)")
    del order
    return Plan(inputs, parts, value_of, value_of[result], notes + _shared(gm, parts),
                port_of, [value_of[result]])


def _shared(gm: fx.GraphModule, parts: list[BlockPart | CodePart]) -> list[str]:
    """A module with weights called more than once: each call is its own node, with its
    own copy of the weights, which the person should know (the counts differ too)."""
    calls: dict[str, list[str]] = {}
    for part in parts:
        targets = ([part.mapped.module] if isinstance(part, BlockPart) else
                   [str(m.target) for m in part.members if m.op == "call_module"])
        for target in targets:
            if target is not None:
                calls.setdefault(target, []).append(part.id)
    notes = []
    for target, ids in calls.items():
        if len(ids) > 1 and any(True for _ in gm.get_submodule(target).parameters()):
            notes.append(f"{target} is called {len(ids)} times: the nodes {', '.join(ids)} "
                         "each get their own copy of its weights (equal now, trained apart)")
    return notes


def _code_part(group: list[fx.Node], kinds: dict[fx.Node, str], value_of: dict[fx.Node, str],
               reasons: dict[fx.Node, str], used_ids: set[str]) -> CodePart:
    wires: list[fx.Node] = []
    helpers: list[fx.Node] = []
    for member in group:
        outer, inline = _needs(member, kinds)
        for p in outer:
            if p not in group and p not in wires:
                if p not in value_of:
                    raise PlanError(f"{member.name} reads {p.name}, which is not a tensor "
                                    "passed between parts")
                wires.append(p)
        for p in inline:
            if p not in helpers:
                helpers.append(p)
    modules = [m for m in group if m.op == "call_module"]
    part_id = modules[0].name if modules else unique_id(
        _scoped(group[-1], re.sub(r"_\d+$", "", group[-1].name)), used_ids)
    part = CodePart(part_id, list(group), [], wires,
                    [f"{m.name}: {reasons[m]}" if len(group) > 1 else reasons[m]
                     for m in group if reasons.get(m)])
    position = {n: i for i, n in enumerate(group[0].graph.nodes)}
    part.helpers = sorted(helpers, key=position.__getitem__)
    value_of[group[-1]] = part.id
    return part


def _block_id(n: fx.Node, found: Mapped) -> str:
    """Module calls keep their attribute path (``layer1_0_conv1``); a function call is named
    after its block, inside the module whose forward made it (``layer1_relu``)."""
    if n.op == "call_module":
        return n.name
    if n.op == "get_attr":  # a learned tensor: named as the model names it
        return re.sub(r"\W", "_", str(n.target))
    return _scoped(n, re.sub(r"[^a-z0-9]+", "", found.type.lower()))


def _scoped(n: fx.Node, base: str) -> str:
    stack = n.meta.get("nn_module_stack") or {}
    paths = [v[0] if isinstance(v, tuple) else str(k) for k, v in stack.items()]
    scope = re.sub(r"\W", "_", paths[-1]) if paths and paths[-1] else ""
    return f"{scope}_{base}" if scope else base
