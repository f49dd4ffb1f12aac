"""Units in memory: a named sub-graph with ports and promoted parameters, and the `Block`
a ``unit:<Name>`` node gets from it.

A unit's graph is an ordinary `Graph` whose entries are `Input` nodes (one per unit input
port, listed in `UnitDef.inputs`); its one output is the node named in `UnitDef.outputs`.
Every unit node of a project and every node inside a unit reads the same `Units` object, so
a ``unit:ResBlock`` node finds its definition without any global registry (two open
projects may each define their own ``ResBlock``).
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ..blocks.base import Block, Port, SampleShape, TensorSpec
from ..params import Int, Param

if TYPE_CHECKING:
    from torch import nn

    from ..graph import Graph

#: Units whose parameter declarations are being read (a unit inside itself must not recurse).
_DECLARING: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar(
    "declaring", default=frozenset())
UNIT_PREFIX = "unit:"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
#: The parameter every unit node has: how many copies are stacked in sequence.
REPEAT = "repeat"
MAX_REPEAT = 1000


def unit_name(type_name: Any) -> str | None:
    """``"ResBlock"`` for ``"unit:ResBlock"``, None for any other block type."""
    if isinstance(type_name, str) and type_name.startswith(UNIT_PREFIX):
        return type_name[len(UNIT_PREFIX):]
    return None


def unit_type(name: str) -> str:
    return UNIT_PREFIX + name


@dataclass
class UnitPort:
    """A port of the unit: `name` as outside edges see it (``to_port``), `node` the inner
    node behind it (an `Input` node for inputs, any node for the output)."""

    name: str
    node: str


@dataclass
class Target:
    """One inner parameter a promoted parameter feeds."""

    node: str
    param: str


@dataclass
class PromotedParam:
    """A unit-level parameter (``channels``) feeding inner parameters (``conv1.out_channels``).

    Its declared type is the first target's declaration (an Int with its range, say), with
    this parameter's own default and doc.
    """

    default: Any
    targets: list[Target]
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class UnitDef:
    name: str
    graph: "Graph"
    inputs: list[UnitPort]
    outputs: list[UnitPort]
    params: dict[str, PromotedParam] = field(default_factory=dict)
    doc: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def target_decl(self, pname: str) -> Param | None:
        """The declaration of the inner parameter a promoted one feeds (its first target)."""
        promoted = self.params[pname]
        if not promoted.targets:
            return None
        target = promoted.targets[0]
        if target.node not in self.graph:
            return None
        block = self.graph.node(target.node).block
        return block.params.get(target.param) if block is not None else None

    def param_decls(self) -> dict[str, Param]:
        """``repeat`` plus every promoted parameter, as the inspector and validation read them."""
        decls: dict[str, Param] = {REPEAT: Int(1, "How many copies of the unit are stacked in "
                                               "sequence, each with its own weights.",
                                               min=1, max=MAX_REPEAT)}
        active = _DECLARING.get()
        if self.name in active:  # a unit inside itself: the shape pass reports the loop
            return decls
        token = _DECLARING.set(active | {self.name})
        try:
            self._promoted_decls(decls)
        finally:
            _DECLARING.reset(token)
        return decls

    def _promoted_decls(self, decls: dict[str, Param]) -> None:
        for pname, promoted in self.params.items():
            decl = self.target_decl(pname)
            if decl is None:
                continue
            try:
                default = decl.validate(promoted.default)
            except ValueError:
                default = decl.default
            doc = promoted.doc or ", ".join(f"{t.node}.{t.param}" for t in promoted.targets)
            decls[pname] = _with(decl, default, doc)


def _with(decl: Param, default: Any, doc: str) -> Param:
    import dataclasses

    return dataclasses.replace(decl, default=default, doc=doc)


class Units:
    """The unit definitions of one project, by name (in file order)."""

    def __init__(self) -> None:
        self.defs: dict[str, UnitDef] = {}

    def __contains__(self, name: object) -> bool:
        return name in self.defs

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.defs))

    def __len__(self) -> int:
        return len(self.defs)

    def get(self, name: str) -> UnitDef | None:
        return self.defs.get(name)

    def add(self, defn: UnitDef) -> UnitDef:
        """Add (or replace) a definition; its graph reads these units for nested units."""
        defn.graph.units = self
        self.defs[defn.name] = defn
        return defn

    def remove(self, name: str) -> UnitDef:
        return self.defs.pop(name)

    def block(self, name: str) -> "UnitBlock | None":
        defn = self.defs.get(name)
        return UnitBlock(defn, self) if defn is not None else None

    def rename_inner(self, graph: "Graph", old: str, new: str) -> None:
        """Node `old` of a unit's graph is now `new`: the unit's ports and the targets of its
        promoted parameters follow. A graph that is no unit's changes nothing here."""
        for defn in self.defs.values():
            if defn.graph is not graph:
                continue
            for port in (*defn.inputs, *defn.outputs):
                if port.node == old:
                    port.node = new
            for promoted in defn.params.values():
                for target in promoted.targets:
                    if target.node == old:
                        target.node = new

    def free_name(self, base: str) -> str:
        """`base`, or `base2`, `base3`... whichever is not taken yet."""
        name, n = base, 2
        while name in self.defs:
            name, n = f"{base}{n}", n + 1
        return name


class UnitBlock(Block):
    """The block declaration of one unit, made on demand from its definition."""

    category = "Units"
    is_unit = True

    def __init__(self, defn: UnitDef, units: Units) -> None:
        self.defn = defn
        self.units = units
        self.type_name = unit_type(defn.name)  # type: ignore[misc]
        self.doc = defn.doc or f"The unit {defn.name}: a group of blocks used as one."  # type: ignore[misc]
        self.inputs = tuple(Port(p.name, dtype="any", layout="any tensor")  # type: ignore[misc]
                            for p in defn.inputs)
        self.params = defn.param_decls()  # type: ignore[misc]

    def resolve(self, params: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
        return {**params, "_base_dir": str(base_dir) if base_dir is not None else None}

    def build(self, params: dict[str, Any], input_shapes: Sequence[SampleShape | TensorSpec]
              ) -> "nn.Module":
        """The unit as a module (an fx GraphModule; `repeat` > 1: an `nn.Sequential` of them).

        `input_shapes` may be `TensorSpec`s (the compiler passes them, so token ids stay
        int64); plain shapes are taken as float32.
        """
        from .expand import build_unit

        specs = [s if isinstance(s, TensorSpec) else TensorSpec(tuple(s)) for s in input_shapes]
        return build_unit(self.units, self.defn, params, specs)
