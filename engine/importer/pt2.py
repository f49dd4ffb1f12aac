"""Importing a ``.pt2`` (a `torch.export` ExportedProgram) onto the canvas.

A program holds ATen ops, not modules, so this is best effort by design: ops are grouped by
the module they came from (``nn_module_stack``), each group of a known layer type becomes
its block with parameters read back from the ops (`pt2_read`), and a few parameterless ops
outside any layer (relu, add, cat, flatten, pooling, ``[:, -1]``) become blocks too. A
program op that is none of these cannot be a Code node (there is no Python source to keep),
so the import stops and names it: import the ``.py`` instead. Every ``.pt2`` that
Torchloom exports imports back.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import fx

from ..errors import ModelImportError
from ..project import Project
from ..safe_read import NotAFileError, check_regular
from .build import Built, new_graph, place
from .mapping import collapse, window
from .outputs import end_graph, give_heads
from .pt2_ops import PIECES, pieces_op, tensor_op
from .pt2_read import (READERS, Group, arg, op_name, product, unflatten_params,
                       upsample_params)
from .result import ImportResult
from .source import first_line
from .values import example_inputs

_IDENTITY = {"contiguous", "clone", "alias", "detach", "lift_fresh_copy"}
_SIMPLE = {"relu": "ReLU", "relu_": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def import_pt2(path: Path, out: Path) -> ImportResult:
    """Import an exported program; the input shapes are the program's own."""
    from .pipeline import finish

    program = _load(path)
    where = str(path)
    sig = program.graph_signature
    owned = {**sig.inputs_to_parameters, **sig.inputs_to_buffers,
             **getattr(sig, "inputs_to_lifted_tensor_constants", {})}
    nodes = list(program.graph.nodes)
    weights = {n: owned[n.name] for n in nodes if n.op == "placeholder" and n.name in owned}
    users = [n for n in nodes if n.op == "placeholder" and n.name in sig.user_inputs]
    specs = [_spec(n, where) for n in users]
    graph = new_graph(out)
    for node, (shape, dtype) in zip(users, specs):
        graph.add_node("Input", {"shape": shape, "dtype": dtype}, node.name)
    value_of: dict[fx.Node, str] = {n: n.name for n in users}
    ports: dict[fx.Node, str] = {}  # the output port a piece of a Split is read from
    tensors: dict[str, dict[str, str]] = {}
    groups = _groups(nodes, weights)
    done: set[fx.Node] = set()
    limits = []
    for node in nodes:
        if node.op != "call_function" or node in done or not _is_tensor(node):
            continue
        owner = _owner(node)
        if owner is not None:
            ops = groups[owner[0]]
            done.update(ops)
            node_id = _unique(owner[0].replace(".", "_") or "model", graph)
            group = Group(owner[0], owner[1], ops, _params(ops, weights, owner[0]), where)
            type_name, reader = READERS[owner[1]]
            inputs, output = _ends(ops, weights, group)
            _add(graph, node_id, type_name, reader(group), inputs, value_of, group, ports)
            value_of[output] = node_id
            if group.params:
                tensors[node_id] = {"": owner[0]}
            if type_name == "Embedding":
                limits.append(group.shape("weight")[0])
        else:
            _free_op(graph, node, weights, value_of, where, ports)
    outputs = end_graph(graph, next(n for n in nodes if n.op == "output").args[0], value_of,
                        ports)
    if outputs is None:
        raise ModelImportError("the program returns a value that is no tensor with the batch "
                               "first; a canvas output is one", path=where)
    place(graph)
    from ..shapes import infer

    graph.heads = tuple(outputs) if len(outputs) > 1 else ()
    built = Built(graph, infer(graph), tensors, [], None, [], [], outputs=outputs)
    with _quiet():
        original = program.module()
    available = {**program.state_dict, **program.constants}
    limit = min(limits) if limits else 2
    check = example_inputs([tuple(s) for s, _ in specs], [d for _, d in specs], 3, limit, 1)
    project = Project(graph=graph, name=path.stem, path=out)
    if len(outputs) > 1:
        give_heads(project, outputs, built.notes)
    return finish(project, built, original, available, check, out)


def _load(path: Path) -> Any:
    try:
        check_regular(path)
    except NotAFileError as exc:
        raise ModelImportError(f"is {exc.kind}, not a .pt2 file", path=str(path)) from None
    except OSError:
        raise ModelImportError("no such file", path=str(path)) from None
    refuse_pickles(path)
    try:
        with _quiet(), _weights_only():
            return torch.export.load(str(path))
    except Exception as exc:  # noqa: BLE001 - a foreign or damaged file raises anything
        if _is_torch_save(path):
            raise ModelImportError("is a torch.save file (a pickle of weights or a module), "
                                   "not a torch.export program: save one with "
                                   "torch.export.save(torch.export.export(model, (x,)), path)",
                                   path=str(path)) from None
        raise ModelImportError(f"is not a readable torch.export program: {first_line(exc)}",
                               path=str(path)) from None


def _is_torch_save(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def refuse_pickles(path: Path) -> None:
    """A .pt2 may store tensors and objects as pickles, which run code when read.
    `torch.export.load` reads them with full pickle; Torchloom reads only plain tensors,
    so such a file is refused before anything in it is loaded."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                base = name.rsplit("/", 1)[-1]
                if base.startswith(("custom_obj_", "opaque_obj_")):
                    raise ModelImportError(
                        f"holds a pickled object ({base}), which could run code when read; "
                        "Torchloom imports only programs made of plain tensors",
                        path=str(path))
                if not base.endswith("_config.json"):
                    continue
                config = json.loads(archive.read(name)).get("config", {})
                for fqn, meta in (config.items() if isinstance(config, dict) else ()):
                    if isinstance(meta, dict) and meta.get("use_pickle"):
                        raise ModelImportError(
                            f"stores '{fqn}' as a pickle, which could run code when read; "
                            "Torchloom imports only programs made of plain tensors",
                            path=str(path))
    except (zipfile.BadZipFile, OSError, ValueError, AttributeError) as exc:
        raise ModelImportError(f"is not a readable torch.export program (.pt2 archive): "
                               f"{first_line(exc)}", path=str(path)) from None


@contextlib.contextmanager
def _weights_only() -> Iterator[None]:
    """Make every `torch.load` inside the loader weights-only, even where it asks for full
    pickle (its sample inputs, its fallbacks)."""
    old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch.export logs a failed load's whole traceback as a warning: a person never sees
    a traceback, so its loggers are silenced as the exporters' are."""
    from ..export.verify import quiet

    with quiet():
        yield


def _spec(node: fx.Node, where: str) -> tuple[list[int], str]:
    val = node.meta.get("val")
    try:
        shape = [int(s) for s in val.shape[1:]]
    except (TypeError, AttributeError):
        raise ModelImportError(f"input {node.name} has sizes that vary besides the batch: "
                               "a canvas Input has one fixed shape", path=where) from None
    dtype = {torch.float32: "float32", torch.int64: "int64"}.get(val.dtype)
    if dtype is None or not shape:
        raise ModelImportError(f"input {node.name} is {val.dtype} of shape {list(val.shape)}; "
                               "an Input is float32 or int64 with a batch dimension", path=where)
    return shape, dtype


def _is_tensor(node: fx.Node) -> bool:
    return isinstance(node.meta.get("val"), torch.Tensor)


def _owner(node: fx.Node) -> tuple[str, str] | None:
    """The outermost module in the node's stack that a block stands for: (path, class)."""
    stack = node.meta.get("nn_module_stack") or {}
    for value in stack.values():
        path, cls = value if isinstance(value, tuple) else (str(value), "")
        name = str(cls).rsplit(".", 1)[-1].split("'")[0]
        if path and name in READERS:
            return str(path), name
    return None


def _groups(nodes: list[fx.Node], weights: dict[fx.Node, str]) -> dict[str, list[fx.Node]]:
    out: dict[str, list[fx.Node]] = {}
    for node in nodes:
        owner = _owner(node) if node.op == "call_function" else None
        if owner is not None:
            out.setdefault(owner[0], []).append(node)
    return out


def _params(ops: list[fx.Node], weights: dict[fx.Node, str], path: str
            ) -> dict[str, torch.Tensor]:
    prefix = f"{path}." if path else ""
    found: dict[str, torch.Tensor] = {}
    for op in ops:
        for a in op.all_input_nodes:
            if a in weights and weights[a].startswith(prefix):
                found[weights[a][len(prefix):]] = a.meta.get("val")
    return found


def _ends(ops: list[fx.Node], weights: dict[fx.Node, str], group: Group
          ) -> tuple[list[fx.Node], fx.Node]:
    """The tensors flowing into the group, in first-use order, and the one flowing out."""
    members = set(ops)
    inputs: list[fx.Node] = []
    for op in ops:
        for a in _tensor_args(op):
            if a not in members and a not in weights and a not in inputs:
                inputs.append(a)
    outputs = [op for op in ops if _is_tensor(op) and any(u not in members for u in op.users)]
    if len(outputs) != 1:
        raise group.fail("passes more than one tensor on (e.g. an LSTM's final hidden state)")
    return inputs, outputs[0]


def _tensor_args(op: fx.Node) -> list[fx.Node]:
    out: list[fx.Node] = []
    for a in list(op.args) + list(op.kwargs.values()):
        items = a if isinstance(a, (list, tuple)) else [a]
        out += [x for x in items if isinstance(x, fx.Node) and _is_tensor(x)]
    return out


def _is_token_ids(node: fx.Node) -> bool:
    val = node.meta.get("val")
    return val is not None and not val.dtype.is_floating_point


def _add(graph: Any, node_id: str, type_name: str, params: dict[str, Any],
         inputs: list[fx.Node], value_of: dict[fx.Node, str], group: Group | None,
         ports_of: dict[fx.Node, str]) -> None:
    attention = type_name in ("MultiheadAttention", "TransformerEncoderLayer", "SequencePool")
    # the token ids of attention and pooling (where padding is) are their one integer input
    ports = [("tokens" if attention and _is_token_ids(src) else
              "query" if type_name == "MultiheadAttention" else None) for src in inputs]
    if type_name == "MultiheadAttention" and ports.count("query") != 1:
        raise ModelImportError(f"module {node_id}: only self-attention (one input) can be "
                               "read from a .pt2")
    try:
        graph.add_node(type_name, params, node_id)
        for source, port in zip(inputs, ports):
            graph.connect(value_of[source], node_id, port, from_port=ports_of.get(source))
    except KeyError as exc:
        raise ModelImportError(f"{node_id} reads a value that is not a wire ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a parameter outside the block's range
        text = getattr(exc, "message", None) or first_line(exc)
        raise ModelImportError(f"{node_id} ({type_name}) cannot be imported: {text}") from None


def _unique(base: str, graph: Any) -> str:
    name, k = base, 1
    while name in graph:
        name, k = f"{base}_{k}", k + 1
    return name


def _free_op(graph: Any, node: fx.Node, weights: dict[fx.Node, str],
             value_of: dict[fx.Node, str], where: str, ports: dict[fx.Node, str]) -> None:
    """A parameterless op outside any known module: its block, an alias, or a refusal."""
    name = op_name(node)
    whole = node.args[0] if name == "py.getitem" else None
    if isinstance(whole, fx.Node) and op_name(whole) in PIECES and whole.args[0] in value_of:
        if whole not in value_of:  # the Split, made when its first piece is read
            found = pieces_op(whole)
            if found is not None:
                whole_id = _unique(whole.name, graph)
                _add(graph, whole_id, *found, [whole.args[0]], value_of, None, ports)
                value_of[whole] = whole_id
        if whole in value_of:
            value_of[node] = value_of[whole]
            ports[node] = f"out{node.args[1]}"
            return
    args = _tensor_args(node)
    if any(a in weights for a in args):
        raise ModelImportError(f"the program uses aten.{name} with weights outside any layer "
                               "Torchloom knows: import the .py instead, where it becomes a "
                               "Code node", path=where)
    inputs = [a for a in args if a in value_of]
    found = _free_block(node, name, inputs)
    if found is None:
        raise ModelImportError(f"the program uses aten.{name} ({node.name}), which no block "
                               "expresses: import the .py instead, where it becomes a Code "
                               "node", path=where)
    if found == "alias":
        value_of[node] = value_of[inputs[0]]
        return
    type_name, params = found
    node_id = _unique(node.name, graph)
    _add(graph, node_id, type_name, params, inputs, value_of, None, ports)
    value_of[node] = node_id


def _free_block(node: fx.Node, name: str, inputs: list[fx.Node]) -> Any:
    if not inputs:
        return None
    shape = tuple(inputs[0].meta["val"].shape)
    out = tuple(node.meta["val"].shape)
    rank = len(shape)
    if name in _IDENTITY or (name == "slice" and arg(node, 1, "dim", 0) == 0
                             and arg(node, 2, "start", 0) in (0, None)
                             and (arg(node, 3, "end") or 2**62) >= 2**62):
        return "alias"
    if name in _SIMPLE:
        return _SIMPLE[name], {}
    if name == "gelu":
        return "GELU", {"approximate": node.kwargs.get("approximate", "none")}
    if name == "leaky_relu":
        return "LeakyReLU", {"negative_slope": float(arg(node, 1, "negative_slope", 0.01))}
    if name in ("softmax", "_softmax"):
        return "Softmax", {"dim": int(arg(node, 1, "dim"))}
    if name == "dropout":
        return "Dropout", {"p": float(arg(node, 1, "p", 0.5))}
    if name in ("add", "add_") and len(inputs) == 2 and len(node.args) == 2 and \
            tuple(inputs[1].meta["val"].shape) == shape:
        return "Add", {}
    if name == "cat" and len(inputs) >= 2:
        dim = int(arg(node, 1, "dim", 0))
        return ("Concat", {"dim": dim - 1 if dim > 0 else dim}) if dim % rank else None
    if name == "flatten" and int(arg(node, 1, "start_dim", 0)) % rank >= 1:
        return "Flatten", {"start_dim": int(arg(node, 1, "start_dim", 0)) % rank,
                           "end_dim": int(arg(node, 2, "end_dim", -1))}
    if name in ("view", "reshape", "_unsafe_view") and len(out) == 2 and rank >= 2 and \
            _static(out[1]) == product(shape[1:]):
        return "Flatten", {"start_dim": 1, "end_dim": -1}
    if name in ("max_pool2d", "max_pool1d"):
        kernel, stride = window(arg(node, 1, "kernel_size"), arg(node, 2, "stride") or None)
        return ("MaxPool2d" if name.endswith("2d") else "MaxPool1d"), {
            "kernel_size": kernel, "stride": stride,
            "padding": collapse(arg(node, 3, "padding", 0)),
            "dilation": collapse(arg(node, 4, "dilation", 1)),
            "ceil_mode": bool(arg(node, 5, "ceil_mode", False))}
    if name == "unflatten" and int(arg(node, 1, "dim", 0)) % rank >= 1:
        return "Unflatten", unflatten_params(node)
    if name.startswith("upsample_") and rank == 4:
        params = upsample_params(node)  # else an Interpolate (align_corners) or no block
        if params is not None:
            return "Upsample", params
    if name == "adaptive_avg_pool2d":
        return "AdaptiveAvgPool2d", {"output_size": collapse(arg(node, 1, "output_size"))}
    if name in ("mean", "amax") and rank == 3 and list(arg(node, 1, "dim", []) or []) in (
            [1], [-2]) and not arg(node, 2, "keepdim", False):
        return "SequencePool", {"mode": "mean" if name == "mean" else "max"}
    if name == "select" and rank == 3 and arg(node, 1, "dim") == 1 and arg(node, 2, "index") == -1:
        return "SequencePool", {"mode": "last"}
    return tensor_op(node, name, inputs)


def _static(size: Any) -> int | None:
    try:
        return int(size)
    except (TypeError, ValueError):
        return None
