"""Tracing the module with torch.fx, keeping known layers whole and stepping around code
that cannot be traced.

Every layer type the catalogue maps stays a leaf (one ``call_module``), as do torch.nn's
own modules. A submodule whose forward cannot be traced symbolically (``if x.sum() > 0:``)
is found, made a leaf too, and tracing starts again, so only that submodule ends up as a
Code node. Questions a forward asks about its input's device, dtype or shape (``if
input.is_cuda``, ``assert x.dim() == 4``) are answered from the sample batches (see
`specialise`), so they do not stop the trace. If the top module itself cannot be traced,
the result says so and the whole model becomes one Code node.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn

from .mapping import is_mapped_module
from .source import first_line
from .specialise import Specialiser, proxies_ask_their_tracer

#: How many times a failing submodule is made a leaf before giving up on tracing.
MAX_RETRIES = 50


class ImportTracer(fx.Tracer):
    """A tracer whose leaves are the mapped layers, torch.nn's own modules and `leaves`."""

    def __init__(self, leaves: set[str], specialiser: Specialiser | None = None) -> None:
        super().__init__()
        # a registered buffer read with traced sizes (nanoGPT's ``self.bias[:, :, :T, :T]``)
        # must be a graph node, not a tensor that a Proxy cannot index
        self.proxy_buffer_attributes = True
        self.leaves = leaves
        self.failed_at: str | None = None
        self.specialiser = specialiser

    def to_bool(self, obj: fx.Proxy) -> bool:
        if self.specialiser is None:
            return super().to_bool(obj)
        return self.specialiser.to_bool(obj)

    def iter(self, obj: fx.Proxy) -> Iterator[Any]:
        if self.specialiser is None:
            return super().iter(obj)
        return self.specialiser.iterate(obj)

    def length_of(self, obj: fx.Proxy) -> int:
        """``len(proxy)``, asked through `proxies_ask_their_tracer`."""
        if self.specialiser is None:
            raise RuntimeError("'len' is not supported in symbolic tracing")
        return self.specialiser.length(obj)

    def index_of(self, obj: fx.Proxy) -> int:
        """``int(proxy)`` / ``range(proxy)``, asked through `proxies_ask_their_tracer`."""
        if self.specialiser is None:
            raise TypeError("a traced value cannot be used as a Python int")
        return self.specialiser.index(obj)

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if module_qualified_name in self.leaves or is_mapped_module(m):
            return True
        return super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple[Any, ...],
                    kwargs: dict[str, Any]) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_at is None:  # the innermost module sees the error first
                try:
                    self.failed_at = self.path_of_module(m)
                except NameError:  # a module that is not an attribute: nothing to mark
                    self.failed_at = ""
            raise


@dataclass
class Traced:
    """The traced graph module, or why the top module could not be traced."""

    gm: fx.GraphModule | None
    leaves: list[str] = field(default_factory=list)
    #: Why each forced leaf (and, for `gm` None, the top module) could not be traced.
    reasons: dict[str, str] = field(default_factory=dict)
    #: The questions about the input answered while tracing (see `specialise`).
    notes: list[str] = field(default_factory=list)


def trace_module(root: nn.Module, inputs: int = 1,
                 examples: Sequence[Sequence[torch.Tensor]] = ()) -> Traced:
    """Trace `root` called with `inputs` tensors (arguments after those keep their
    defaults, e.g. ``mask=None``), retrying with each untraceable submodule as a leaf.

    `examples` are sample batches (of different sizes) of those inputs: with them, the
    forward's questions about its input's metadata are answered instead of failing."""
    leaves: set[str] = set()
    reasons: dict[str, str] = {}
    defaults = _defaults_after(root, inputs)
    for _ in range(MAX_RETRIES):
        specialiser = Specialiser(root, examples, defaults) if examples else None
        tracer = ImportTracer(leaves, specialiser)
        try:
            with proxies_ask_their_tracer():
                graph = tracer.trace(root, concrete_args=defaults or None)
        except Exception as exc:  # noqa: BLE001 - tracing user code raises anything
            where = tracer.failed_at
            if not where or where in leaves:
                reasons[""] = first_line(exc)
                return Traced(None, sorted(leaves), reasons)
            leaves.add(where)
            reasons[where] = first_line(exc)
            continue
        gm = fx.GraphModule(tracer.root, graph, class_name=type(root).__name__)
        functionalize(gm)
        gm.graph.eliminate_dead_code()
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        _drop_default_guards(gm, placeholders[inputs:])
        for node in placeholders[inputs:]:
            if not node.users:  # an argument left at its default (`mask=None`)
                gm.graph.erase_node(node)
        gm.recompile()
        return Traced(gm, sorted(leaves), reasons,
                      specialiser.notes if specialiser is not None else [])
    reasons[""] = "too many submodules cannot be traced"
    return Traced(None, sorted(leaves), reasons)


def _drop_default_guards(gm: fx.GraphModule, defaulted: list[fx.Node]) -> None:
    """fx guards an argument fixed at its default (``scale=2``) with ``torch._assert(scale ==
    2)``; the imported model has no such argument, so the guard goes (and then the
    placeholder, unused)."""
    fixed = set(defaulted)
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and node.target is torch._assert:
            roots = _placeholders_under(node)
            if roots and roots <= fixed:
                gm.graph.erase_node(node)
    gm.graph.eliminate_dead_code()


def _placeholders_under(node: fx.Node) -> set[fx.Node]:
    found, stack, seen = set(), [node], set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n.op == "placeholder":
            found.add(n)
        stack.extend(n.all_input_nodes)
    return found


def _defaults_after(root: nn.Module, inputs: int) -> dict[str, Any]:
    """The forward's parameters past the first `inputs`, with their default values."""
    try:
        params = list(inspect.signature(root.forward).parameters.values())
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in params[inputs:]
            if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _in_place(gm: fx.GraphModule, node: fx.Node) -> bool:
    """``y.relu_()``, ``F.relu(y, inplace=True)``, ``torch.relu_(y)``, ``nn.ReLU(inplace=True)``."""
    if node.kwargs.get("inplace") is True:
        return True
    if node.op == "call_module":
        return getattr(gm.get_submodule(str(node.target)), "inplace", False) is True
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    return (node.op in ("call_method", "call_function") and isinstance(name, str)
            and name.endswith("_") and not name.startswith("_"))


def functionalize(gm: fx.GraphModule) -> None:
    """Make in-place calls explicit: whatever reads the tensor after ``y.relu_()`` reads the
    call's result instead. Blocks are out of place, and an in-place call whose result is
    not used would otherwise vanish from the graph."""
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for node in list(gm.graph.nodes):
        if not node.args or not isinstance(node.args[0], fx.Node) or not _in_place(gm, node):
            continue
        source = node.args[0]
        for user in list(source.users):
            if user is not node and order[user] > order[node]:
                user.replace_input_with(source, node)
