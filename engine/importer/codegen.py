"""The one Python file that holds an import's Code nodes: ``<project>_code.py``.

Code never goes inline into the project JSON. A submodule the canvas has no block for is
referred to by its own class, so the person's source file is copied into the code file
once, in a marked section. The unmapped *functional* parts of a forward (``x *
torch.sigmoid(x)``) become small generated classes whose forward is torch.fx's own code
for those few lines, with the submodules, parameters and buffers they use as attributes.
Constructor arguments are the ones the model was really built with (recorded while it was
constructed), else read back from same-named attributes; either way they are checked by
rebuilding the module on the meta device.
"""

from __future__ import annotations

import builtins
import inspect
import json
import math
import re
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from .plan import CodePart
from .source import LoadedModel, first_line


@dataclass
class CodeClass:
    """What a Code node names, and where its tensors come from."""

    class_name: str
    kwargs: dict[str, Any]
    #: state_dict key inside the node's module -> key in the traced model
    tensors: dict[str, str]
    notes: list[str] = field(default_factory=list)


class CodeFile:
    """Collects copied sources, aliases and generated classes, then writes them as one file."""

    def __init__(self, loaded: LoadedModel | None, title: str) -> None:
        self.loaded = loaded
        self.title = title
        self.copied: dict[str, Path] = {}
        self.imports: list[str] = []
        self.aliases: list[str] = []
        self.classes: list[str] = []
        self.names: set[str] = set()
        #: generated classes by their code with the names taken out: (class, attributes)
        self.shared: dict[str, tuple[str, list[str]]] = {}

    @property
    def empty(self) -> bool:
        return not (self.classes or self.aliases)

    # ---- references to classes and functions ---------------------------------------

    def reference(self, obj: Any) -> str:
        """A name under which `obj` (a class or function) exists in the code file."""
        module, qualname = getattr(obj, "__module__", ""), getattr(obj, "__qualname__", "")
        if "<" in qualname or not module:
            raise ValueError(f"{qualname or obj!r} is defined inside a function, where a file "
                             "cannot reach it")
        files = self.loaded.files if self.loaded is not None else {}
        if module in files:
            self._copy(module, files[module])
            if "." not in qualname:
                return qualname
            return self._alias(qualname.replace(".", "_"), qualname)
        if isinstance(obj, type) and getattr(nn, obj.__name__, None) is obj:
            return self._alias(f"Torch{obj.__name__}", f"nn.{obj.__name__}")
        top, _, rest = qualname.partition(".")
        alias = f"Lib{top}"
        line = f"from {module} import {top} as {alias}"
        if line not in self.imports:
            self.imports.append(line)
        return self._alias(f"Lib{qualname.replace('.', '_')}", f"{alias}.{rest}") if rest \
            else alias

    def _alias(self, name: str, expr: str) -> str:
        line = f"{name} = {expr}"
        if line not in self.aliases:
            self.aliases.append(line)
        return name

    def _copy(self, module: str, path: Path) -> None:
        if module not in self.copied:
            self.copied[module] = path

    def _class_name(self, base: str) -> str:
        name = "Code_" + re.sub(r"\W", "_", base)
        while name in self.names:
            name += "_"
        self.names.add(name)
        return name

    # ---- one Code node per part --------------------------------------------------------

    def module_class(self, part_id: str, module: nn.Module, target: str,
                     given: dict[str, Any] | None = None) -> CodeClass:
        """A Code node that is the module itself: its class, built with its arguments."""
        ref = self.reference(type(module))
        kwargs, notes = constructor_kwargs(module, self.loaded, given)
        notes += _check_rebuild(part_id, ref, type(module), kwargs, module)
        prefix = f"{target}." if target else ""
        tensors = {k: prefix + k for k in module.state_dict()}
        return CodeClass(ref, kwargs, tensors, notes)

    def generated_class(self, part: CodePart, gm: fx.GraphModule,
                        wire_names: dict[fx.Node, str]) -> CodeClass:
        """A small class running the part's traced lines, holding what they use; its
        forward's arguments are named after the nodes wired into it."""
        name = self._class_name(part.id)
        init: list[str] = []
        tensors: dict[str, str] = {}
        notes: list[str] = []
        attrs: dict[str, str] = {}
        graph = fx.Graph()
        env: dict[fx.Node, fx.Node] = {}
        for wire in part.inputs:
            env[wire] = graph.placeholder(_attr_name(wire_names.get(wire, wire.name), set()))
        for n in sorted(part.helpers + part.members, key=_position(part)):
            copy = graph.node_copy(n, lambda a: env[a])
            if n.op in ("call_module", "get_attr"):
                target = str(n.target)
                if target not in attrs:
                    attrs[target] = _attr_name(target, set(attrs.values()))
                    line, found, more = self._attribute(part.id, gm, target, attrs[target])
                    init.append(line)
                    tensors.update(found)
                    notes += more
                copy.target = attrs[target]
            env[n] = copy
        graph.output(env[part.output])
        code = graph.python_code(root_module="self")
        body = self._forward(code)
        key = _nameless(init, body, graph, list(attrs.values()))
        if key in self.shared:  # the same lines in another use of a repeated block
            name, names = self.shared[key]
            rename = dict(zip(attrs.values(), names))
            shared = {rename[k.split(".")[0]] + k[len(k.split(".")[0]):]: v
                      for k, v in tensors.items()}
            return CodeClass(name, {}, shared, notes)
        self.shared[key] = (name, list(attrs.values()))
        doc = "; ".join(part.reasons) or "code the canvas has no block for"
        doc = textwrap.fill(f"Node {part.id} on the canvas: {_doc(doc)}.", 88,
                            subsequent_indent="    ")
        lines = [f"class {name}(nn.Module):", f'    """{doc}"""', "",
                 "    def __init__(self) -> None:", "        super().__init__()"]
        if tensors:
            lines.append("        # the values of its weights come from the project's weights file")
        lines += [f"        {line}" for line in init]
        self.classes.append("\n".join(lines) + "\n\n" + body)
        return CodeClass(name, {}, tensors, notes)

    def _attribute(self, part_id: str, gm: fx.GraphModule, target: str, attr: str
                   ) -> tuple[str, dict[str, str], list[str]]:
        value = _fetch(gm, target)
        if isinstance(value, nn.Module):
            ref = self.reference(type(value))
            kwargs, notes = constructor_kwargs(value, self.loaded, None)
            notes += _check_rebuild(part_id, ref, type(value), kwargs, value)
            tensors = {f"{attr}.{k}": f"{target}.{k}" for k in value.state_dict()}
            return _wrapped_call(f"self.{attr} = {ref}(", kwargs), tensors, notes
        if isinstance(value, torch.Tensor):
            shape = ", ".join(str(s) for s in value.shape)
            empty = f"torch.zeros(({shape}{',' if value.dim() == 1 else ''}), dtype={value.dtype})"
            if isinstance(value, nn.Parameter):
                grad = "" if value.requires_grad else ", requires_grad=False"
                line = f"self.{attr} = nn.Parameter({empty}{grad})"
            else:
                line = f'self.register_buffer("{attr}", {empty})'
            return line, {attr: target}, []
        if _jsonable(value):
            return f"self.{attr} = {value!r}", {}, []
        raise ValueError(f"{target} is a {type(value).__name__}, which cannot be written")

    def _forward(self, code: Any) -> str:
        src = re.sub(r";  (?:\w+ = )+None$", "", code.src.strip("\n"), flags=re.MULTILINE)
        used = set(re.findall(r"\b\w+\b", src))
        for name, obj in code.globals.items():
            if name not in used or getattr(builtins, name, object()) is obj:
                continue
            self._global(name, obj)
        return "\n".join(("    " + line) if line.strip() else "" for line in src.splitlines())

    def _global(self, name: str, obj: Any) -> None:
        if obj is torch:
            return
        if isinstance(obj, types.ModuleType):
            line = f"import {obj.__name__}" + (f" as {name}" if name != obj.__name__ else "")
        elif isinstance(obj, float) and (math.isinf(obj) or math.isnan(obj)):
            line = f"{name} = float({str(obj)!r})"
        elif obj is type(None):
            line = f"{name} = type(None)"
        elif obj is torch.device:
            line = f"{name} = torch.device"
        else:
            ref = self.reference(obj)
            line = "" if ref == name else f"{name} = {ref}"
        if line and line not in self.imports:
            self.imports.append(line)

    # ---- the file ----------------------------------------------------------------------

    def text(self) -> str:
        future: list[str] = []
        sections: list[str] = []
        for path in self.copied.values():
            source, hoisted = _without_future(path.read_text(encoding="utf-8"))
            future += [line for line in hoisted if line not in future]
            sections.append(f"# ---- copied from {path.name} (your code) " + "-" * 40 + "\n"
                            + source.rstrip() + "\n" + f"# ---- end of {path.name} " + "-" * 50)
        head = [f'"""Code nodes of {_doc(self.title)}, written by `torchloom import`.\n\n'
                "Torchloom runs this file only once it is trusted. It holds your own code\n"
                "(copied from the file you imported) and small classes generated for the parts\n"
                'of its forward that the canvas has no block for."""\n']
        head += future
        head += ["import torch", "from torch import nn", *self.imports]
        parts = ["\n".join(head), *sections]
        if self.aliases or self.classes:
            parts.append("# ---- generated by torchloom import " + "-" * 50 + "\n\n"
                         + "\n".join(self.aliases))
        parts += self.classes
        return "\n\n\n".join(p.strip("\n") for p in parts if p.strip()) + "\n"


def _position(part: CodePart) -> Any:
    order = {n: i for i, n in enumerate(part.output.graph.nodes)}
    return order.__getitem__


def _nameless(init: list[str], body: str, graph: fx.Graph, attrs: list[str]) -> str:
    """A generated class's code with its names replaced by their positions, so that the
    same lines in two uses of a repeated block (``h.0.attn`` and ``h.1.attn``) give one
    class, which a unit of that block can then hold."""
    names = {a: f"_a{i}" for i, a in enumerate(attrs)}
    names.update({n.name: f"_v{i}" for i, n in enumerate(graph.nodes)
                  if n.name not in names})
    text = "\n".join(init) + "\n" + body
    text = re.sub(r"self\.(\w+)", lambda m: "self." + names.get(m.group(1), m.group(1)), text)
    return re.sub(r"(?<![.\w])\w+", lambda m: names.get(m.group(), m.group()), text)


def _attr_name(target: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", target)
    if not name.isidentifier() or name in ("forward", "training"):
        name = f"m_{name}"
    while name in taken:
        name += "_"
    return name


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _doc(text: str) -> str:
    return text.replace('"""', "'''").replace("\\", "/")


def _without_future(source: str) -> tuple[str, list[str]]:
    """`from __future__` must open a file; the copy's ones move to the top of the code file."""
    hoisted = re.findall(r"^from __future__ import [^\n]+$", source, flags=re.MULTILINE)
    return re.sub(r"^from __future__ import [^\n]+$", "", source, flags=re.MULTILINE), hoisted


def _wrapped_call(head: str, kwargs: dict[str, Any], width: int = 90) -> str:
    """``head`` + keyword arguments + ``)``, wrapped under the opening parenthesis (the
    line sits 8 spaces deep in ``__init__``)."""
    pad = " " * (len(head) + 8)
    lines, line = [], head
    items = [f"{k}={v!r}" for k, v in kwargs.items()]
    for i, item in enumerate(items):
        text = item + ("," if i < len(items) - 1 else ")")
        if line != head and len(line) + 1 + len(text) + 8 > width:
            lines.append(line.rstrip())
            line = pad + text
        else:
            line += ("" if line == head else " ") + text
    lines.append(line if items else head + ")")
    return "\n".join(lines)


def _call_args(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


# ---- constructor arguments -------------------------------------------------------------


def to_json(value: Any) -> Any:
    """A copy a Code node's kwargs can hold (tuples become lists), or raise ValueError."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if isinstance(value, (list, tuple)):  # (a Code node's kwargs hold no nested objects)
        return [to_json(v) for v in value]
    raise ValueError(type(value).__name__)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(to_json(value))
    except (ValueError, TypeError):
        return False
    return True


def _torch_kwargs(module: nn.Module) -> dict[str, Any] | None:
    """Constructor arguments of torch classes that do not keep them as attributes."""
    if isinstance(module, nn.RNNBase):
        out = {k: getattr(module, k) for k in ("input_size", "hidden_size", "num_layers",
                                               "bias", "batch_first", "dropout",
                                               "bidirectional")}
        if isinstance(module, nn.LSTM):
            out["proj_size"] = module.proj_size
        if type(module) is nn.RNN:
            out["nonlinearity"] = module.nonlinearity
        return out
    if isinstance(module, nn.MultiheadAttention):
        return {"embed_dim": module.embed_dim, "num_heads": module.num_heads,
                "dropout": module.dropout, "bias": module.in_proj_bias is not None,
                "add_bias_kv": module.bias_k is not None, "add_zero_attn": module.add_zero_attn,
                "kdim": module.kdim, "vdim": module.vdim, "batch_first": module.batch_first}
    if isinstance(module, nn.TransformerEncoderLayer):
        act = {1: "relu", 2: "gelu"}.get(module.activation_relu_or_gelu, "relu")
        return {"d_model": module.self_attn.embed_dim, "nhead": module.self_attn.num_heads,
                "dim_feedforward": module.linear1.out_features, "dropout": module.dropout.p,
                "activation": act, "layer_norm_eps": module.norm1.eps,
                "batch_first": module.self_attn.batch_first, "norm_first": module.norm_first,
                "bias": module.linear1.bias is not None}
    return None


def constructor_kwargs(module: nn.Module, loaded: LoadedModel | None,
                       given: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The keyword arguments that rebuild `module`, and notes on what could not be found."""
    cls = type(module)
    recorded = given if given is not None else (
        loaded.init_args.get(id(module)) if loaded is not None else None)
    if recorded is None:
        recorded = _torch_kwargs(module)
    if recorded is None:
        recorded = _from_attributes(module)
    kwargs: dict[str, Any] = {}
    skipped = []
    for key, value in recorded.items():
        try:
            kwargs[key] = to_json(value)
        except ValueError:
            skipped.append(key)
    notes = []
    if skipped:
        notes.append(f"{cls.__name__}: the argument(s) {', '.join(skipped)} cannot be written as "
                     "JSON; set them in the inspector (kwargs) or in the code file")
    return kwargs, notes


def _from_attributes(module: nn.Module) -> dict[str, Any]:
    """Match the constructor's parameters with same-named attributes of the instance."""
    try:
        params = inspect.signature(type(module).__init__).parameters
    except (TypeError, ValueError):
        return {}
    out: dict[str, Any] = {}
    for i, (name, param) in enumerate(params.items()):
        if i == 0 or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in ("device", "dtype") or not hasattr(module, name):
            continue
        value = getattr(module, name)
        if isinstance(param.default, bool) and (value is None or isinstance(value, torch.Tensor)):
            out[name] = value is not None  # `bias=True` kept as a Parameter or None
        elif not isinstance(value, (torch.Tensor, nn.Module)) and _jsonable(value):
            out[name] = value
    return out


def _check_rebuild(part_id: str, ref: str, cls: type, kwargs: dict[str, Any],
                   original: nn.Module) -> list[str]:
    """Build the class again (on the meta device) and compare its tensors' names and shapes."""
    try:
        with torch.device("meta"):
            rebuilt = cls(**kwargs)
    except Exception as exc:  # noqa: BLE001 - their constructor may raise anything
        return [f"{part_id}: {ref}({_call_args(kwargs)}) fails ({first_line(exc)}): set its "
                "kwargs in the inspector"]
    want = {k: tuple(v.shape) for k, v in original.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
    if want != got:
        return [f"{part_id}: {ref} rebuilt with {json.dumps(kwargs)} does not match the "
                "original's weights: set its kwargs in the inspector"]
    return []


__all__ = ["CodeClass", "CodeFile", "constructor_kwargs", "to_json"]
