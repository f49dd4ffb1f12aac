"""The pieces of an import plan: the blocks and Code nodes a traced graph becomes, and the
plan that holds them (made by `plan.make_plan`, ended by `outputs.end_outputs`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import fx

from .mapping import Mapped


class PlanError(Exception):
    """The traced graph has a shape no set of blocks and Code nodes can express (a tuple
    passed between parts, a nested return); the whole model becomes one Code node."""


@dataclass
class BlockPart:
    id: str
    node: fx.Node
    mapped: Mapped


@dataclass
class CodePart:
    id: str
    #: The unmapped nodes it runs, in order; the last one gives its output.
    members: list[fx.Node]
    #: Sizes, constants and attributes it recomputes, in order.
    helpers: list[fx.Node] = field(default_factory=list)
    #: The wired tensors it reads, in the order its forward takes them.
    inputs: list[fx.Node] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def output(self) -> fx.Node:
        return self.members[-1]

    @property
    def single_module(self) -> str | None:
        """The target when this part is one plain module call on wired tensors."""
        node = self.members[0]
        if (len(self.members) == 1 and node.op == "call_module" and not self.helpers
                and not node.kwargs and all(isinstance(a, fx.Node) for a in node.args)):
            return str(node.target)
        return None

    @property
    def call_args(self) -> list[fx.Node]:
        """The wires in edge order: a plain module call keeps its own argument order."""
        if self.single_module is not None:
            return list(self.members[0].args)  # type: ignore[arg-type]
        return self.inputs


@dataclass
class Plan:
    inputs: list[fx.Node]
    parts: list[BlockPart | CodePart]
    value_of: dict[fx.Node, str]
    output: str
    notes: list[str] = field(default_factory=list)
    #: The output port a value comes from, for a block with several (a Split's pieces).
    port_of: dict[fx.Node, str] = field(default_factory=dict)
    #: Every node the model ends in, in the order its forward returns them: [`output`]
    #: for one tensor; for several, the graph's heads (`engine.heads`).
    outputs: list[str] = field(default_factory=list)
    #: The Identity nodes added to end an output (a returned tensor read further on too).
    ends: set[str] = field(default_factory=set)


def unique_id(base: str, used: set[str]) -> str:
    """`base`, or `base_1`, `base_2`... the first not in `used` (which it joins)."""
    name, k = base, 1
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name
