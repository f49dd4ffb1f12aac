"""Assembling the imported project: the graph, its Code file, its weights, its layout.

The graph is built from the plan, shape-checked with the same inference the canvas uses,
and a block the canvas rejects (say a Linear on a 4-D tensor) is turned back into code and
the plan redone, so what lands on the canvas always compiles. Then the module's tensors are
copied node by node into the compiled graph, and the import proves itself: the original
module and the imported graph run on the same batch and must agree.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from ..codefiles import trust_with_imports
from ..compile import compile_graph, module_names
from ..errors import ModelImportError
from ..fileio import atomic_write_text
from ..graph import Graph
from ..layout import auto_layout
from ..sampling import run_seeded
from ..shapes import Analysis, infer
from .codegen import CodeClass, CodeFile
from .outputs import returned_tensors
from .plan import BlockPart, CodePart, Plan, PlanError, make_plan
from .rollback import created
from .siblings import carry_siblings
from .source import LoadedModel, first_line
from .values import Value

#: Rounds of "a block failed its shape check: make it code and plan again".
MAX_ROUNDS = 4
CODE_TYPE = "Code"


@dataclass
class Built:
    """A graph whose shapes check out, with what each node's tensors come from."""

    graph: Graph
    analysis: Analysis
    #: node id -> {key inside the node's module: key in the source module}
    tensors: dict[str, dict[str, str]]
    code_nodes: list[str]
    code_file: Path | None
    notes: list[str]
    reasons: list[str]
    #: node id -> the innermost module whose forward made it (``layer1.0``), for units
    scopes: dict[str, str] = field(default_factory=dict)
    #: The nodes the model ends in, in the order its forward returns them; more than one
    #: become the project's heads (`outputs`)
    outputs: list[str] = field(default_factory=list)


def code_file_for(out: Path) -> Path:
    return out.with_name(f"{out.stem}_code.py")


def build_from_trace(loaded: LoadedModel, gm: fx.GraphModule, values: dict[fx.Node, Value],
                     specs: list[tuple[list[int], str]], out: Path, trust: bool) -> Built:
    """Plan, build and shape-check, turning rejected blocks into code until it all fits.

    Raises:
        PlanError: the traced graph cannot be expressed with single-output nodes.
    """
    forced: dict[str, str] = {}
    for _ in range(MAX_ROUNDS):
        plan = make_plan(gm, values, forced)
        built = _build(loaded, gm, plan, specs, out, trust)
        rejected = {p.node.name: f"the block does not fit here: {errors[0].message}"
                    for p in plan.parts if isinstance(p, BlockPart)
                    for errors in [_errors(built.analysis, p.id)] if errors}
        if not rejected:
            return built
        forced.update(rejected)
    return built


def _errors(analysis: Analysis, node_id: str) -> list[Any]:
    return [e for e in analysis.nodes[node_id].errors if e.severity == "error"]


def _build(loaded: LoadedModel, gm: fx.GraphModule, plan: Plan,
           specs: list[tuple[list[int], str]], out: Path, trust: bool) -> Built:
    graph = new_graph(out)
    code = CodeFile(loaded, loaded.class_name)
    path = code_file_for(out)
    for node, (shape, dtype) in zip(plan.inputs, specs):
        graph.add_node("Input", {"shape": list(shape), "dtype": dtype}, node.name)
    tensors: dict[str, dict[str, str]] = {}
    code_nodes: list[str] = []
    reasons: list[str] = []
    notes = list(plan.notes)
    for part in plan.parts:
        if isinstance(part, BlockPart):
            graph.add_node(part.mapped.type, part.mapped.params, part.id)
            ports = part.mapped.ports or [None] * len(part.mapped.inputs)
            for source, port in zip(part.mapped.inputs, ports):
                graph.connect(plan.value_of[source], part.id, port,
                              from_port=plan.port_of.get(source))
            if part.mapped.module is not None:
                tensors[part.id] = {"": part.mapped.module}
            elif part.mapped.tensors:
                tensors[part.id] = dict(part.mapped.tensors)
            continue
        made = _code_class(code, part, gm, wire_names(plan))
        notes += made.notes
        reasons += [f"{part.id}: {r}" for r in part.reasons]
        add_code_node(graph, part.id, path, made)
        for source in part.call_args:
            graph.connect(plan.value_of[source], part.id, from_port=plan.port_of.get(source))
        tensors[part.id] = {k: v for k, v in made.tensors.items()}
        code_nodes.append(part.id)
    written = write_code(code, path, trust) if code_nodes else None
    place(graph)
    scopes = {p.id: "" if p.id in plan.ends else
              _scope(p.node if isinstance(p, BlockPart) else p.output) for p in plan.parts}
    if len(plan.outputs) > 1:  # the project gives them heads; the shapes check reads them
        graph.heads = tuple(plan.outputs)
    return Built(graph, infer(graph), tensors, code_nodes, written, notes, reasons, scopes,
                 list(plan.outputs))


def _scope(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    paths = [v[0] if isinstance(v, tuple) else str(k) for k, v in stack.items()]
    return str(paths[-1]) if paths else ""


def wire_names(plan: Plan) -> dict[fx.Node, str]:
    """What a Code node's forward calls each wire it reads: its source node, and the port
    for one output of several (``gru_sequence``, ``gru_hidden``), so that two outputs of
    one block read by one Code node are two arguments, not one name twice."""
    return {n: f"{node_id}_{plan.port_of[n]}" if n in plan.port_of else node_id
            for n, node_id in plan.value_of.items()}


def _code_class(code: CodeFile, part: CodePart, gm: fx.GraphModule,
                value_of: dict[fx.Node, str]) -> CodeClass:
    target = part.single_module
    try:
        if target is not None:
            return code.module_class(part.id, gm.get_submodule(target), target)
        return code.generated_class(part, gm, value_of)
    except ValueError as exc:  # a class or function that a file cannot refer to
        raise PlanError(f"{part.id}: {exc}") from None


def new_graph(out: Path) -> Graph:
    graph = Graph()
    graph.base_dir = out.parent.resolve()
    return graph


def add_code_node(graph: Graph, node_id: str, path: Path, made: CodeClass) -> None:
    graph.add_node(CODE_TYPE, {"file": path.name, "class_name": made.class_name,
                               "kwargs": made.kwargs}, node_id)


def write_code(code: CodeFile, path: Path, trust: bool) -> Path:
    """Write the code file, and the files beside the model that it imports; trust them
    when the person ran the import (it is their code, and they chose to run it)."""
    created(path)
    try:
        atomic_write_text(path, code.text())
    except OSError as exc:
        raise ModelImportError(f"cannot be written: {exc.strerror or exc}",
                               path=str(path)) from None
    if code.loaded is not None:
        carry_siblings(path, code.loaded.path.parent)
    if trust:  # for this session; `remember_trust` keeps the final files' trust
        trust_with_imports(path, remember=False)  # with the siblings, now beside it
    return path


def remember_trust(path: Path) -> None:
    """The person just ran this code (and the files beside it that it imports)."""
    trust_with_imports(path, remember=True)


def place(graph: Graph) -> None:
    for node_id, pos in auto_layout(graph).items():
        graph.node(node_id).pos = pos


# ---- the whole model as one Code node ----------------------------------------------------


def build_whole(loaded: LoadedModel, specs: list[tuple[list[int], str]], out: Path,
                trust: bool, why: str) -> Built:
    """One Code node holding the model as it is, built with the given kwargs: the import
    for a module whose own forward cannot be traced."""
    graph = new_graph(out)
    names = _forward_names(loaded.module, len(specs))
    for name, (shape, dtype) in zip(names, specs):
        graph.add_node("Input", {"shape": list(shape), "dtype": dtype}, name)
    code = CodeFile(loaded, loaded.class_name)
    path = code_file_for(out)
    node_id = "model" if "model" not in names else "model_1"
    try:
        made = code.module_class(node_id, loaded.module, "", given=loaded.kwargs)
    except ValueError as exc:
        raise ModelImportError(f"{loaded.class_name} cannot be kept as a Code node: {exc}",
                               path=str(loaded.path)) from None
    add_code_node(graph, node_id, path, made)
    for name in names:
        graph.connect(name, node_id)
    written = write_code(code, path, trust)
    place(graph)
    reasons = [f"{node_id}: the model is kept whole: {why}"]
    return Built(graph, infer(graph), {node_id: made.tensors}, [node_id], written, made.notes,
                 reasons)


def _forward_names(module: nn.Module, count: int) -> list[str]:
    try:
        params = [p for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:count] if p.name.isidentifier()]
    return names if len(names) == count else [f"x{i}" if i else "x" for i in range(count)]


# ---- weights -----------------------------------------------------------------------------


def available_tensors(gm: fx.GraphModule | nn.Module) -> dict[str, torch.Tensor]:
    """Every tensor a node may take its values from: the state dict plus the constants
    and plain tensor attributes a traced graph reads (``get_attr``)."""
    out = dict(gm.state_dict(keep_vars=True))
    graph = getattr(gm, "graph", None)
    for node in graph.nodes if isinstance(graph, fx.Graph) else ():
        if node.op == "get_attr" and str(node.target) not in out:
            value = _fetch_tensor(gm, str(node.target))
            if value is not None:
                out[str(node.target)] = value
    return out


def carry_weights(built: Built, available: dict[str, torch.Tensor], seed: int = 0
                  ) -> tuple[fx.GraphModule, list[str], list[str]]:
    """Compile the graph and copy the source's tensors in, node by node.

    A node whose tensors do not all line up (name, shape and dtype) keeps its fresh, seeded
    initialisation. Returns (compiled module, nodes carried, nodes fresh).
    """
    compiled = compile_graph(built.graph, built.analysis, seed=seed)
    names = module_names(n.id for n in built.graph.nodes)
    carried, fresh = [], []
    with torch.no_grad():
        for node_id, mapping in built.tensors.items():
            wanted = compiled.get_submodule(names[node_id]).state_dict(keep_vars=True)
            if not wanted:
                continue
            pairs = [(tensor, _squeezed(available.get(_origin(mapping, key) or ""), tensor))
                     for key, tensor in wanted.items()]
            if all(f is not None and f.shape == t.shape and f.dtype == t.dtype
                   for t, f in pairs):
                for tensor, found in pairs:
                    tensor.copy_(found)
                carried.append(node_id)
            else:
                fresh.append(node_id)
    compiled.eval()
    return compiled, carried, fresh


def _squeezed(found: torch.Tensor | None, wanted: torch.Tensor) -> torch.Tensor | None:
    """A model's ``[1, L, E]`` learned tensor is a Parameter block's ``[L, E]``: the 1 is
    the copy the batch broadcasts."""
    if (found is not None and found.dim() == wanted.dim() + 1 and found.shape[0] == 1
            and found.shape[1:] == wanted.shape):
        return found.reshape(wanted.shape)
    return found


def _origin(mapping: dict[str, str], key: str) -> str | None:
    if "" in mapping:  # a block: the module's own tensor names, under its path
        prefix = mapping[""]
        return f"{prefix}.{key}" if prefix else key
    return mapping.get(key)


def _fetch_tensor(root: nn.Module, key: str) -> torch.Tensor | None:
    value: Any = root
    for part in key.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value if isinstance(value, torch.Tensor) else None


def compare(original: nn.Module, imported: nn.Module, inputs: tuple[torch.Tensor, ...]
            ) -> tuple[bool, float | None, str | None]:
    """(identical, max abs difference, problem) of the two models on the same batch."""
    try:  # seeded alike: a model that samples (a VAE) draws the same noise in both
        wanted = returned_tensors(run_seeded(original, inputs))
        given = returned_tensors(run_seeded(imported, inputs))
    except Exception as exc:  # noqa: BLE001 - either model may raise anything
        return False, None, f"running the models failed: {first_line(exc)}"
    if wanted is None or given is None:
        return False, None, "the models do not both return tensors"
    if len(wanted) != len(given):
        return False, None, (f"the module returns {len(wanted)} tensors, the import "
                             f"{len(given)}")
    diffs = []
    for k, (want, got) in enumerate(zip(wanted, given)):
        which = f"output {k}: " if len(wanted) > 1 else ""
        if want.shape != got.shape:
            return False, None, (f"{which}output shapes differ: {list(want.shape)} vs "
                                 f"{list(got.shape)}")
        if want.is_floating_point():
            diffs.append(float((want - got).detach().abs().max()) if want.numel() else 0.0)
        else:
            diffs.append(float((want != got).sum()))
    return all(torch.equal(a, b) for a, b in zip(wanted, given)), max(diffs), None
