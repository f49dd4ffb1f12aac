"""The ``"units"`` key of a project file (and of a block-library file): reading with
errors that name the place, writing, and the check that no unit contains itself.

    "units": {"ResBlock": {
        "nodes": [{"id": "x", "type": "Input", ...}, ...], "edges": [...],
        "inputs": [{"name": "in", "node": "x"}],
        "outputs": [{"name": "out", "node": "relu2"}],
        "params": {"channels": {"default": 64, "doc": "...",
                                "targets": [{"node": "conv1", "param": "out_channels"}]}}}}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import NAME_RE, REPEAT, PromotedParam, Target, UnitDef, UnitPort, Units, unit_name

if TYPE_CHECKING:
    from ..project import _Reader

_UNIT_KEYS = ("nodes", "edges", "inputs", "outputs", "params", "doc")


def units_from_dict(data: Any, r: "_Reader", where: str = "units") -> Units:
    """Read every unit definition; a broken one is a `ProjectFileError` naming the place."""
    from ..project import graph_from_dict

    units = Units()
    for name, raw in r.obj(data, where).items():
        at = f"{where}.{name}"
        if not NAME_RE.match(name):
            raise r.fail("a unit name is a letter or _ then letters, digits or _ (at most 100): "
                         "it becomes a Python class name", at)
        raw = r.obj(raw, at)
        graph, _ = graph_from_dict({"nodes": raw.get("nodes", []), "edges": raw.get("edges", [])},
                                   r, at)
        inputs = _ports(raw.get("inputs", []), r, f"{at}.inputs")
        outputs = _ports(raw.get("outputs", []), r, f"{at}.outputs")
        defn = UnitDef(name, graph, inputs, outputs, {},
                       r.string(raw.get("doc", ""), f"{at}.doc", limit=2000),
                       {k: v for k, v in raw.items() if k not in _UNIT_KEYS})
        _check_ports(defn, r, at)
        for pname, praw in r.obj(raw.get("params", {}), f"{at}.params").items():
            defn.params[pname] = _promoted(pname, praw, defn, r, f"{at}.params.{pname}")
        units.add(defn)
    _check_loops(units, r, where)
    for defn in units.defs.values():
        for pname in defn.params:
            _check_default(defn, pname, r, f"{where}.{defn.name}.params.{pname}")
    return units


def _ports(data: Any, r: "_Reader", where: str) -> list[UnitPort]:
    ports = []
    for i, raw in enumerate(r.lst(data, where)):
        raw = r.obj(raw, f"{where}[{i}]")
        ports.append(UnitPort(r.string(raw.get("name"), f"{where}[{i}].name", limit=200),
                              r.string(raw.get("node"), f"{where}[{i}].node", limit=200)))
    return ports


def _check_ports(defn: UnitDef, r: "_Reader", at: str) -> None:
    graph = defn.graph
    for key, ports in (("inputs", defn.inputs), ("outputs", defn.outputs)):
        names = [p.name for p in ports]
        for i, port in enumerate(ports):
            if names.count(port.name) > 1:
                raise r.fail(f"two {key} are named '{port.name}'", f"{at}.{key}[{i}].name")
            if port.node not in graph:
                raise r.fail(f"names node '{port.node}', which is not in the unit",
                             f"{at}.{key}[{i}].node")
            is_input = graph.node(port.node).type == "Input"
            if key == "inputs" and not is_input:
                raise r.fail(f"node '{port.node}' must be an Input node: a unit's inputs enter "
                             "through Input nodes", f"{at}.{key}[{i}].node")
            if key == "outputs" and is_input:
                raise r.fail("a unit's output cannot be one of its Input nodes",
                             f"{at}.{key}[{i}].node")
    if len(defn.outputs) != 1:
        raise r.fail(f"a unit has exactly one output, this one lists {len(defn.outputs)}",
                     f"{at}.outputs")
    listed = {p.node for p in defn.inputs}
    for node in graph.nodes:
        if node.type == "Input" and node.id not in listed:
            raise r.fail(f"the Input node '{node.id}' is not listed in inputs", f"{at}.inputs")


def _promoted(pname: str, raw: Any, defn: UnitDef, r: "_Reader", at: str) -> PromotedParam:
    if not (isinstance(pname, str) and pname.isidentifier()) or pname in (REPEAT, "_base_dir"):
        raise r.fail("a promoted parameter name must be an identifier other than 'repeat'", at)
    raw = r.obj(raw, at)
    if "default" not in raw:
        raise r.fail("a promoted parameter needs a default", at)
    targets = []
    for i, traw in enumerate(r.lst(raw.get("targets", []), f"{at}.targets")):
        tat = f"{at}.targets[{i}]"
        traw = r.obj(traw, tat)
        node = r.string(traw.get("node"), f"{tat}.node", limit=200)
        param = r.string(traw.get("param"), f"{tat}.param", limit=200)
        if node not in defn.graph:
            raise r.fail(f"names node '{node}', which is not in the unit", f"{tat}.node")
        targets.append(Target(node, param))
    if not targets:
        raise r.fail("a promoted parameter feeds at least one inner parameter (targets)", at)
    extra = {k: v for k, v in raw.items() if k not in ("default", "targets", "doc", "kind")}
    return PromotedParam(raw["default"], targets, r.string(raw.get("doc", ""), f"{at}.doc",
                                                           limit=2000), extra)


def _check_default(defn: UnitDef, pname: str, r: "_Reader", at: str) -> None:
    """Each target must have the parameter, and the default must fit its declaration."""
    from ..params import ParamValueError

    promoted = defn.params[pname]
    for i, target in enumerate(promoted.targets):
        block = defn.graph.node(target.node).block
        if block is None:
            continue  # an unknown inner type is reported on the node when the unit is used
        decl = block.params.get(target.param)
        if decl is None:
            raise r.fail(f"{defn.graph.node(target.node).type} has no parameter "
                         f"'{target.param}'", f"{at}.targets[{i}].param")
        try:
            decl.validate(promoted.default)
        except ParamValueError as exc:
            raise r.fail(f"the default {exc} (it feeds {target.node}.{target.param})",
                         f"{at}.default") from None


def unit_dependencies(units: Units) -> dict[str, list[str]]:
    """For each unit, the units its graph uses directly."""
    deps: dict[str, list[str]] = {}
    for name, defn in units.defs.items():
        used = [unit_name(n.type) for n in defn.graph.nodes]
        deps[name] = list(dict.fromkeys(u for u in used if u is not None))
    return deps


def find_unit_loop(units: Units) -> list[str] | None:
    """A chain of unit names that leads back to its start (``[A, B, A]``), or None."""
    deps = unit_dependencies(units)
    state: dict[str, int] = {}

    def visit(name: str, chain: list[str]) -> list[str] | None:
        state[name] = 1
        for dep in deps.get(name, []):
            if state.get(dep) == 1:
                return [*chain[chain.index(dep):], dep] if dep in chain else [name, dep]
            if dep in deps and dep not in state:
                found = visit(dep, [*chain, dep])
                if found:
                    return found
        state[name] = 2
        return None

    for name in deps:
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return None


def _check_loops(units: Units, r: "_Reader", where: str) -> None:
    loop = find_unit_loop(units)
    if loop:
        what = ("contains itself" if len(loop) == 2
                else "contains itself through " + " -> ".join(loop))
        raise r.fail(f"the unit {loop[0]} {what}: a unit cannot use itself",
                     f"{where}.{loop[0]}")


def unit_to_dict(defn: UnitDef) -> dict[str, Any]:
    from ..project import graph_to_dict

    out: dict[str, Any] = graph_to_dict(defn.graph)
    out["inputs"] = [{"name": p.name, "node": p.node} for p in defn.inputs]
    out["outputs"] = [{"name": p.name, "node": p.node} for p in defn.outputs]
    params: dict[str, Any] = {}
    decls = defn.param_decls()
    for pname, promoted in defn.params.items():
        entry: dict[str, Any] = {"default": promoted.default}
        if pname in decls:
            entry["kind"] = decls[pname].kind
        if promoted.doc:
            entry["doc"] = promoted.doc
        entry["targets"] = [{"node": t.node, "param": t.param} for t in promoted.targets]
        entry.update(promoted.extra)
        params[pname] = entry
    if params:
        out["params"] = params
    if defn.doc:
        out["doc"] = defn.doc
    out.update(defn.extra)
    return out


def units_to_dict(units: Units) -> dict[str, Any]:
    return {name: unit_to_dict(defn) for name, defn in units.defs.items()}
