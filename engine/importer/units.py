"""Imported modules that repeat a child class become units.

After a model is imported block by block (and proved to compute what the module computes),
every child module whose class occurs more than once (a ResNet's ``BasicBlock``s, a
transformer's layers) is grouped into one unit per structure; the sizes that differ between
uses (``out_channels``, ``stride``) become promoted parameters, and uses that follow each
other with the same settings become one node with ``repeat``. The weights are moved to the
nested names and the unit model must give exactly the flat model's outputs; otherwise the
import keeps the flat graph.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import torch
from torch import fx, nn

from ..compile import compile_graph, module_names
from ..graph import Edge, Graph, Node
from ..params import params_to_json
from ..project import Project, dumps_project, loads_project
from ..shapes import infer
from ..units import UnitError, group, plan_group
from ..units.model import REPEAT, PromotedParam, Target, unit_type
from .outputs import same_outputs

if TYPE_CHECKING:
    from .build import Built

#: (unit node id, copy index or None, inner node id) for every flat node moved into a unit
_Where = tuple[str, "int | None", str]


def repeated_instances(root: nn.Module) -> list[tuple[str, str]]:
    """(path, class name) of the outermost child modules whose class (a person's own, with
    children) occurs at least twice, in module order."""
    found: dict[type, list[str]] = {}
    for path, module in root.named_modules():
        cls = type(module)
        if not path or cls.__module__.startswith("torch.") or not list(module.children()):
            continue
        found.setdefault(cls, []).append(path)
    chosen = sorted(((p, cls.__name__) for cls, paths in found.items() if len(paths) > 1
                     for p in paths), key=lambda item: _order(root, item[0]))
    out: list[tuple[str, str]] = []
    for path, name in chosen:
        if not any(path.startswith(p + ".") for p, _ in out):
            out.append((path, name))
    return out


def _order(root: nn.Module, path: str) -> int:
    return [p for p, _ in root.named_modules()].index(path)


def _inside(scope: str, path: str) -> bool:
    return scope == path or scope.startswith(path + ".")


def _local(node_id: str, path: str) -> str:
    prefix = re.sub(r"\W", "_", path) + "_"
    return node_id[len(prefix):] if node_id.startswith(prefix) and len(node_id) > len(prefix) \
        else node_id


def _node_id(path: str) -> str:
    return re.sub(r"\W", "_", path)


def unitize(project: Project, built: "Built", root: nn.Module, flat: fx.GraphModule,
            inputs: tuple[torch.Tensor, ...]) -> tuple[fx.GraphModule, list[str]] | None:
    """Group repeated child modules of `root` into units, in `project`. Returns the unit
    model with the flat model's weights, and notes; None (project untouched) if nothing
    repeats or the unit model would not compute exactly what the flat one does."""
    if not isinstance(root, nn.Module) or not built.scopes:
        return None
    instances = repeated_instances(root)
    if not instances:
        return None
    work = loads_project(dumps_project(project))
    work.graph.base_dir = project.graph.base_dir
    try:
        where, notes = _group_all(work, built.scopes, instances)
    except Exception:  # noqa: BLE001 - never fail an import over units: keep it flat
        if os.environ.get("TORCHLOOM_DEBUG"):
            raise
        return None
    if not where:
        return None
    heads = _heads_after(work, list(project.heads), where)
    if heads is None:
        return None
    work.set_heads({new: project.heads[old] for old, new in heads.items()})
    try:
        model = _with_weights(project.graph, work, flat, where)
        same = same_outputs(model, flat, inputs)
    except Exception:  # noqa: BLE001 - never fail an import over units: keep it flat
        return None
    if not same:
        return None
    project.graph = work.graph
    project.units = work.units
    project.heads = dict(work.heads)
    project.link_units()
    return model, notes


def _heads_after(work: Project, heads: list[str], where: dict[str, _Where]
                 ) -> dict[str, str] | None:
    """Each output node's id once grouped (old -> new, in order): a head that ends a use of
    a unit is that unit's node. None when one cannot be followed (it ends a copy inside a
    repeat, or it is no longer the unit's output): the import then stays flat."""
    graph, out = work.graph, {}
    for head in heads:
        found = where.get(head) if head not in graph else (head, None, "")
        if found is None or found[1] is not None or found[0] not in graph.output_ids():
            return None
        if found[0] != head:
            unit = work.units.get(graph.node(found[0]).type.removeprefix("unit:"))
            if [port.node for port in unit.outputs] != [found[2]]:
                return None
        out[head] = found[0]
    return out if len(set(out.values())) == len(out) else None


def _group_all(work: Project, scopes: dict[str, str], instances: list[tuple[str, str]]
               ) -> tuple[dict[str, _Where], list[str]]:
    graph = work.graph
    by_sig: dict[Any, list[tuple[str, list[str]]]] = {}
    for path, cls in instances:
        ids = [n.id for n in graph.nodes if _inside(scopes.get(n.id, "\0"), path)]
        if not ids:
            continue
        try:
            plan = plan_group(graph, ids)
        except UnitError:
            continue
        local = {i: _local(i, path) for i in ids}
        if len(set(local.values())) != len(ids) or any(v == "in" for v in local.values()):
            continue
        edges = tuple((local[e.src] if e.src in local else f"<{plan.sources.index(e.src)}>",
                       local[e.dst], e.port, e.from_port) for e in graph.edges if e.dst in local)
        sig = (cls, tuple((local[i], graph.node(i).type) for i in ids), edges,
               local[plan.output])
        by_sig.setdefault(sig, []).append((path, ids))
    where: dict[str, _Where] = {}
    notes = []
    for sig, uses in by_sig.items():
        if len(uses) < 2:
            continue
        name = work.units.free_name(sig[0])
        promoted = _promoted(graph, uses)
        for k, (path, ids) in enumerate(uses):
            result = group(work, ids, name if k == 0 else "Tmp_" + name, analysis=infer(graph))
            if k == 0:
                _rename_inner(result.unit, path)
                result.unit.params = {p: PromotedParam(values[0], [Target(_local(i, path), q)
                                                                   for i, q in targets])
                                      for p, (targets, values) in promoted.items()}
            else:
                work.units.remove(result.unit.name)
            node = graph.node(result.node_id)
            node.type = unit_type(name)
            node.params = {p: values[k] for p, (_t, values) in promoted.items()}
            new_id = _node_id(path)
            if new_id != node.id and new_id not in graph:
                _rename_node(graph, node.id, new_id)
            else:
                new_id = node.id
            where.update({i: (new_id, None, _local(i, path)) for i in ids})
        notes.append(f"{len(uses)} uses of {sig[0]} became the unit {name}")
    _merge_repeats(graph, where)
    return where, notes


def _promoted(graph: Graph, uses: list[tuple[str, list[str]]]
              ) -> dict[str, tuple[list[tuple[str, str]], list[Any]]]:
    """Parameters whose values differ between uses, merged where they always agree:
    name -> ([(first use's node id, param)...], value per use)."""
    first_path, first_ids = uses[0]
    columns: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    for pos, node_id in enumerate(first_ids):
        block = graph.node(node_id).block
        if block is None:
            continue
        per_use = [params_to_json(block.params, graph.node(ids[pos]).resolved_params())
                   for _p, ids in uses]
        for key in per_use[0]:
            values = tuple(repr(v[key]) for v in per_use)
            if len(set(values)) > 1:
                columns.setdefault(values, []).append((node_id, key))
    out: dict[str, tuple[list[tuple[str, str]], list[Any]]] = {}
    for targets in columns.values():
        name = targets[0][1]
        if name in out or name == REPEAT or graph.node(targets[0][0]).type == "Code":
            # a Code node's "kwargs" says whose: gate_kwargs
            name = f"{_local(targets[0][0], first_path)}_{name}"
        node_id, key = targets[0]
        pos = first_ids.index(node_id)
        block = graph.node(node_id).block
        values = [params_to_json(block.params, graph.node(ids[pos]).resolved_params())[key]
                  for _p, ids in uses]
        out[name] = (targets, values)
    return out


def _rename_inner(unit: Any, path: str) -> None:
    """Inner ids without the instance's prefix: ``layer1_0_conv1`` -> ``conv1``."""
    old = unit.graph
    new = Graph()
    rename = {n.id: _local(n.id, path) for n in old.nodes}
    for n in old.nodes:
        new.insert_node(Node(rename[n.id], n.type, n.params, n.pos, n.extra))
    for e in old.edges:
        new.insert_edge(Edge(rename[e.src], rename[e.dst], e.port, e.extra, e.from_port))
    unit.graph = new
    new.units = old.units
    for port in (*unit.inputs, *unit.outputs):
        port.node = rename[port.node]


def _rename_node(graph: Graph, old: str, new: str) -> None:
    index = graph.node_index(old)
    node, edges = graph.remove_node(old)
    node.id = new
    moved = [(i, Edge(new if e.src == old else e.src, new if e.dst == old else e.dst, e.port,
                      e.extra, e.from_port)) for i, e in edges]
    graph.restore_node(node, moved, index)


def _merge_repeats(graph: Graph, where: dict[str, _Where]) -> None:
    """Consecutive uses of one unit with the same settings, wired one into the next, become
    one node with ``repeat``."""
    for node in list(graph.nodes):
        if node.id not in graph or not node.type.startswith("unit:"):
            continue
        chain = [node.id]
        while True:
            outs = graph.out_edges(chain[-1])
            if len(outs) != 1:
                break
            nxt = graph.node(outs[0].dst)
            if (nxt.type != node.type or nxt.params != node.params
                    or len(graph.in_edges(nxt.id)) != 1 or nxt.params.get(REPEAT, 1) != 1):
                break
            chain.append(nxt.id)
        if len(chain) < 2:
            continue
        last_outs = graph.out_edges(chain[-1])
        for later in chain[1:]:
            graph.remove_node(later)
        for e in last_outs:
            graph.insert_edge(Edge(chain[0], e.dst, e.port, e.extra, e.from_port))
        node.params[REPEAT] = len(chain)
        copy_of = {uid: k for k, uid in enumerate(chain)}
        for flat_id, (uid, _k, local) in list(where.items()):
            if uid in copy_of:
                where[flat_id] = (chain[0], copy_of[uid], local)
        parent = chain[0].rsplit("_", 1)[0]
        if all(c.rsplit("_", 1)[0] == parent for c in chain) and parent not in graph \
                and parent != chain[0] and re.fullmatch(r"\d+", chain[0].rsplit("_", 1)[-1]):
            _rename_node(graph, chain[0], parent)
            for flat_id, (uid, k, local) in list(where.items()):
                if uid == chain[0]:
                    where[flat_id] = (parent, k, local)


def _with_weights(flat_graph: Graph, work: Project, flat: fx.GraphModule,
                  where: dict[str, _Where]) -> fx.GraphModule:
    """Compile the unit graph and give it the flat model's tensors under nested names."""
    model = compile_graph(work.graph, seed=0)
    flat_names = module_names(n.id for n in flat_graph.nodes)
    by_name = {name: node_id for node_id, name in flat_names.items()}
    names = module_names(n.id for n in work.graph.nodes)
    inner_names: dict[str, dict[str, str]] = {}
    state = {}
    for key, tensor in flat.state_dict().items():
        first, _, rest = key.partition(".")
        node_id = by_name[first]
        if node_id in where:
            uid, k, local = where[node_id]
            unit = work.graph.node(uid).block.defn  # type: ignore[union-attr]
            inner = inner_names.setdefault(unit.name, module_names(n.id for n in unit.graph.nodes))
            copy = "" if k is None or work.graph.node(uid).params.get(REPEAT, 1) == 1 else f".{k}"
            state[f"{names[uid]}{copy}.{inner[local]}.{rest}"] = tensor
        else:
            state[f"{names[node_id]}.{rest}"] = tensor
    model.load_state_dict(state, strict=True)
    model.eval()
    return model
