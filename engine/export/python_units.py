"""Units in the `python` export: one class per unit, used by `Model` (and by other units).

A unit's inner blocks get the same keyword arguments in every use except where a promoted
parameter or a measured size (``in_channels`` of the first copy vs the next) differs; those
become the class's constructor arguments (a promoted one keeps its name, ``channels``; a
measured one is named ``<inner node>_<argument>``). `forward` is the unit's compiled fx
code, so the weights' names (``block1.0.conv1.weight``) and outputs match the compiled model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from torch import nn

from ..compile import module_names
from ..errors import ExportError
from ..units.expand import concrete_graph
from ..units.model import REPEAT

if TYPE_CHECKING:
    from .python_code import _Parts

FMT = "python"
_MARK = "\x00unit{}\x00"


class _Expr:
    """A name written as code (a constructor argument), not as a literal."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


@dataclass
class _Use:
    """One copy of a unit in the model: per inner submodule, (class text, kwargs) for a
    catalogue block or the finished call text for anything else."""

    entries: dict[str, tuple[str, dict[str, Any] | None, str]]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Class:
    unit: str
    defn: Any
    depth: int
    uses: list[_Use] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    class_name: str = ""
    arg_names: list[str] = field(default_factory=list)
    text: str = ""


class UnitClasses:
    """Collects every use of every unit while `_Parts` walks the model, then writes them."""

    def __init__(self, parts: "_Parts") -> None:
        self.parts = parts
        self.by_unit: dict[str, _Class] = {}
        self.calls: list[tuple[str, int, list[_Use], int]] = []  # (unit, indent, uses, repeat)
        self.depth = 0
        self._done = False

    def call(self, graph: Any, node: Any, module: nn.Module, specs: Any, indent: int) -> str:
        block = node.block
        defn = block.defn
        params = node.build_params(graph.base_dir)
        repeat = int(params.get(REPEAT, 1))
        cls = self.by_unit.setdefault(defn.name, _Class(defn.name, defn, self.depth))
        cls.depth = max(cls.depth, self.depth)
        from ..shapes import infer

        current = list(specs)
        uses = []
        self.depth += 1
        try:
            for k in range(repeat):
                inner = concrete_graph(block.units, defn, params, current, graph.base_dir)
                analysis = infer(inner)
                gm = module if repeat == 1 else module[k]  # type: ignore[index]
                uses.append(self._use(inner, analysis, gm))
                if not cls.forward:
                    cls.forward = _forward_lines(gm)
                current = [analysis.output_spec]
        finally:
            self.depth -= 1
        cls.uses += uses
        self.calls.append((defn.name, indent, uses, repeat))
        return _MARK.format(len(self.calls) - 1)

    def _use(self, inner: Any, analysis: Any, gm: nn.Module) -> _Use:
        names = module_names(n.id for n in inner.nodes)
        ids = {name: node_id for node_id, name in names.items()}
        entries: dict[str, tuple[str, dict[str, Any] | None, str]] = {}
        for name, sub in gm.named_children():
            node = inner.node(ids.get(name, name))
            specs = analysis.nodes[node.id].input_specs
            text = self.parts.node_call(inner, node, sub, specs, 8 + len(f"self.{name} = "))
            block = node.block
            if node.type == "Code":  # its kwargs may differ per use, like a block's
                kwargs = node.build_params(inner.base_dir).get("kwargs") or {}
                entries[name] = (text.split("(", 1)[0], dict(kwargs), node.id)
            elif getattr(block, "is_unit", False):
                entries[name] = (text, None, node.id)
            else:
                params = node.build_params(inner.base_dir)
                kwargs = {**block.inferred([s.shape for s in specs]), **block.fixed, **params}
                entries[name] = (text.split("(", 1)[0], kwargs, node.id)
        return _Use(entries)

    # ---- writing, once every use is known ------------------------------------------------

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        from .python_code import _OWN_NAMES

        reserved = set(_OWN_NAMES) | set(self.parts.taken) | {
            c.__name__ for c in self.parts.layers}
        for cls in sorted(self.by_unit.values(), key=lambda c: -c.depth):
            name = cls.unit
            while name in reserved:
                name += "Unit"
            reserved.add(name)
            cls.class_name = name
            self._write(cls)

    def _write(self, cls: _Class) -> None:
        from .python_code import _call, _doc

        promoted = {(t.node, t.param): p for p, d in cls.defn.params.items() for t in d.targets}
        first = cls.uses[0]
        by_node = {node_id: name for name, (_h, _k, node_id) in first.entries.items()}

        def values_of(name: str, key: str) -> tuple[Any, ...]:
            return tuple(u.entries[name][1][key] for u in cls.uses)  # type: ignore[index]

        # Constructor arguments: promoted parameters that vary first, then measured sizes;
        # a size that always equals an argument reuses it (num_features=channels).
        arg_values: dict[str, tuple[Any, ...]] = {}
        for (node_id, key), pname in promoted.items():
            name = by_node.get(node_id)
            kwargs = first.entries[name][1] if name else None
            if kwargs is not None and key in kwargs and pname not in arg_values:
                vals = values_of(name, key)  # type: ignore[arg-type]
                if any(v != vals[0] for v in vals):
                    arg_values[pname] = vals
        lines = []
        for name, (head, kwargs, node_id) in first.entries.items():
            prefix = 8 + len(f"self.{name} = ")
            if kwargs is not None and any(  # a Code node of another class, or other kwargs
                    u.entries[name][0] != head or set(u.entries[name][1] or ()) != set(kwargs)
                    for u in cls.uses):
                raise ExportError(f"the unit {cls.unit} uses {node_id} with different "
                                  "classes or arguments in different places, which the "
                                  "python export cannot write as one class", fmt=FMT,
                                  node=node_id)
            if kwargs is None:
                texts = {self._resolve(u.entries[name][0]) for u in cls.uses}
                if len(texts) > 1:
                    raise ExportError(f"the unit {cls.unit} uses {node_id} with different "
                                      "settings in different places, which the python export "
                                      "cannot write as one class", fmt=FMT, node=node_id)
                lines.append(f"        self.{name} = {texts.pop()}")
                continue
            written: dict[str, Any] = {}
            for key, value in kwargs.items():
                vals = values_of(name, key)
                if all(v == value for v in vals):
                    written[key] = value
                    continue
                arg = promoted.get((node_id, key))
                if arg is None or arg_values.get(arg) != vals:
                    same = [a for a, v in arg_values.items() if v == vals]
                    arg = same[0] if same else re.sub(r"\W", "_", f"{name}_{key}")
                arg_values.setdefault(arg, vals)
                written[key] = _Expr(arg)
            lines.append(f"        self.{name} = {_call(head, written, prefix)}")
        args = list(arg_values)
        for i, use in enumerate(cls.uses):
            use.args = {a: v[i] for a, v in arg_values.items()}
        cls.arg_names = args
        sig = "self" + (", *, " + ", ".join(args) if args else "")
        if len(sig) > 70:
            sig = "\n            self,\n            *,\n" + "".join(
                f"            {a},\n" for a in args) + "        "
        head = [f"class {cls.class_name}(nn.Module):",
                f'    """The unit {_doc(cls.unit)}, a group of blocks drawn as one node."""', "",
                f"    def __init__({sig}) -> None:", "        super().__init__()"]
        cls.text = "\n".join([*head, *lines, "", *cls.forward]) + "\n"

    def _resolve(self, text: str) -> str:
        return re.sub("\x00unit(\\d+)\x00", lambda m: self._call_text(int(m.group(1))), text)

    def _call_text(self, index: int) -> str:
        from .python_code import _call

        self._finish()
        unit, indent, uses, repeat = self.calls[index]
        cls = self.by_unit[unit]
        if repeat == 1:
            return _call(cls.class_name, {a: uses[0].args[a] for a in cls.arg_names}, indent)
        one = [_call(cls.class_name, {a: u.args[a] for a in cls.arg_names}, 12) for u in uses]
        return "nn.Sequential(\n" + "".join(f"            {c},\n" for c in one) + "        )"

    def resolve_calls(self, calls: dict[str, str]) -> dict[str, str]:
        """`calls` with every unit marker replaced by its constructor call."""
        self._finish()
        return {k: self._resolve(v) for k, v in calls.items()}

    def classes(self) -> list[str]:
        self._finish()
        ordered = sorted(self.by_unit.values(), key=lambda c: -c.depth)
        return [c.text for c in ordered]


def _forward_lines(gm: nn.Module) -> list[str]:
    """The unit copy's fx-generated forward, tidied like the model's."""
    placeholders = [str(n.target) for n in gm.graph.nodes if n.op == "placeholder"]
    out = ["    def forward(self, " + ", ".join(f"{p}: torch.Tensor" for p in placeholders)
           + ") -> torch.Tensor:"]
    started = False
    for raw in gm.code.splitlines():
        line = raw.rstrip()
        text = line.strip()
        if not text or text.startswith(("import ", "from ", "#")) or "wrap(" in text:
            continue
        if text.startswith("def forward("):
            started = True
            continue
        if started:
            out.append("    " + re.sub(r";\s+(?:\w+\s*=\s*)+None$", "", line))
    return out
