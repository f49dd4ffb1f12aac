"""The `python` export: one readable ``.py`` file that rebuilds the model with torch alone.

People leave a visual tool the day it cannot hand them real code, so the file is written
for a person to read and keep: every submodule is constructed with its full keyword
arguments, `forward` is the compiled graph's own generated code (``gm.code``) tidied, and
the few Torchloom layer classes it uses are copied in. Submodules carry the node ids as
names, so its `state_dict` keys are exactly those of a run folder's ``model.safetensors``.
The export then proves it: the written file is executed, given the compiled model's
weights, and must produce identical outputs.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import runpy
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..blocks.base import Block
from ..errors import ExportError
from ..project import Project
from .model import ExportModel, prepare_model

if TYPE_CHECKING:
    from . import ExportResult

FMT = "python"
#: The module Torchloom's own layer classes live in; their source is carried into exports.
LAYERS_MODULE = "torchloom.engine.layers"
CODE_BLOCK = "Code"
_OWN_NAMES = ("Model", "build")
_LINE = 99  # longest line a constructor call is kept on one line for


def python_source(model: ExportModel, note: str | None = None) -> str:
    """The standalone ``.py`` text for `model`: torch imports, carried layer classes, any
    Code-block sources, ``class Model``, ``build()`` and a small ``__main__`` check.

    Raises:
        ExportError: a block cannot be written as code (named in the message).
    """
    parts = _Parts(model)
    chunks = []  # top-level pieces, two blank lines apart
    for i, cls in enumerate(parts.layer_classes):
        ruler = _ruler("Torchloom layers used by this model (plain PyTorch)") if i == 0 else ""
        chunks.append(ruler + inspect.getsource(cls))
    for path, source in parts.code_sections:
        aliases = "".join(f"{alias} = {name}\n" for alias, name in parts.aliases.get(path, []))
        chunks.append(_ruler(f"your code: {path.name} (Code block)") + "\n" + source.strip()
                      + "\n" + ("\n\n" + aliases if aliases else "") + "\n\n"
                      + _ruler(f"end of {path.name}"))
    chunks += [*parts.units.classes(), _model_class(model, parts), *_build_and_main(model)]
    head = (_header(model, note)
            + "\nfrom __future__ import annotations\n\nimport torch\nfrom torch import nn\n")
    return head + "".join("\n\n" + chunk.strip("\n") + "\n" for chunk in chunks)


def export_python(project: Project, out: Path, weights: Path | None = None,
                  note: str | None = None) -> "ExportResult":
    """Write the ``.py`` file for `project` and check it reproduces the compiled model.

    The file is checked under a temporary name and only then renamed into place, so a
    failed export leaves nothing behind.

    Args:
        out: the file to write (an existing folder receives ``model.py``).
        weights: a run folder or ``.safetensors`` file whose weights the check uses.
        note: a line for the docstring on what the model was trained for (its task, loss
            and metrics).

    Raises:
        ExportError: a block cannot be written, or the file does not reproduce the model.
    """
    from . import ExportResult
    from .python_imports import local_modules_importable, outside_imports
    from .verify import prepare_target, staged

    model = prepare_model(project, weights, fmt=FMT)
    out = Path(out)
    path = prepare_target(out / "model.py" if out.is_dir() else out, FMT)
    text = python_source(model, note)
    with staged(path, FMT) as tmp, local_modules_importable(project):
        tmp.write_text(text, encoding="utf-8")
        checks = verify_python_file(tmp, model, shown=path)
    notes = ["load trained weights with build().load_state_dict("
             "safetensors.torch.load_file(\"<run>/model.safetensors\"))"]
    needs = outside_imports(text, project)
    checks["standalone"] = not needs
    return ExportResult(FMT, [path], checks, notes + needs)


def verify_python_file(path: Path, model: ExportModel, shown: Path | None = None
                       ) -> dict[str, Any]:
    """Execute the written file in a fresh namespace, load the compiled model's weights
    (strictly) and require outputs identical to the compiled model's on a random batch.

    `shown` is the path to name in errors (the final name of a staged file)."""
    from ..sampling import run_seeded
    from .verify import max_abs_diff

    where = str(shown or path)
    try:
        namespace = runpy.run_path(str(path), run_name=f"torchloom_export_{uuid.uuid4().hex}")
        rebuilt = namespace["build"]()
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the export is unusable
        raise ExportError(f"the written file does not run: {type(exc).__name__}: {exc}",
                          fmt=FMT, path=where) from None
    expected = model.module.state_dict()
    have = rebuilt.state_dict()
    if list(have) != list(expected):
        missing = sorted(set(expected) - set(have))
        extra = sorted(set(have) - set(expected))
        raise ExportError(f"the written model's weight names differ from the compiled model's "
                          f"(missing {missing[:4]}, unexpected {extra[:4]})", fmt=FMT,
                          path=where)
    try:
        rebuilt.load_state_dict(expected, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"the compiled weights do not load into the written model: {exc}",
                          fmt=FMT, path=where) from None
    rebuilt.eval()
    inputs = model.example_inputs(batch=3, seed=0)
    with torch.no_grad():  # seeded alike: a model that samples draws the same noise
        want = run_seeded(model.module, inputs)
        try:
            got = run_seeded(rebuilt, inputs)
        except Exception as exc:  # noqa: BLE001 - as above
            raise ExportError(f"the written model fails on a batch: {type(exc).__name__}: "
                              f"{exc}", fmt=FMT, path=where) from None
    wants, gots = ((want, got) if isinstance(want, tuple) else ((want,), (got,)))
    if not (isinstance(got, type(want)) and len(gots) == len(wants)
            and all(isinstance(g, torch.Tensor) and g.shape == w.shape and g.dtype == w.dtype
                    for g, w in zip(gots, wants))):
        raise ExportError("the written model's output has a different shape or type",
                          fmt=FMT, path=where)
    diff = max_abs_diff(want, got)
    if not all(torch.equal(g, w) for g, w in zip(gots, wants)):
        raise ExportError(f"the written model's outputs differ from the compiled model's "
                          f"(max difference {diff:.3g})", fmt=FMT, path=where)
    return {"outputs_identical": True, "max_abs_diff": diff,
            "parameters": sum(p.numel() for p in rebuilt.parameters())}


# ---- the pieces of the file ---------------------------------------------------------------


class _Parts:
    """Per submodule: the constructor call, and which classes and code files it needs."""

    def __init__(self, model: ExportModel) -> None:
        from .python_units import UnitClasses

        graph = model.project.graph
        self.calls: dict[str, str] = {}
        self.aliases: dict[Path, list[tuple[str, str]]] = {}
        self.layers: set[type] = set()
        self.code: dict[Path, str] = {}
        self.taken: dict[str, str] = {}  # top-level name -> where it is defined
        self.units = UnitClasses(self)  # a class per unit, written before Model
        for name, module in model.module.named_children():
            node_id = model.node_ids.get(name, name)
            node = graph.node(node_id)
            specs = model.analysis.nodes[node_id].input_specs
            self.calls[name] = self.node_call(graph, node, module, specs, _prefix(name))
        self.calls = self.units.resolve_calls(self.calls)
        layers, taken = self.layers, self.taken
        clash = sorted({c.__name__ for c in layers} & set(taken))
        if clash:
            raise ExportError(f"your code file {taken[clash[0]]} defines '{clash[0]}', the name "
                              "of a Torchloom layer this model uses; rename it", fmt=FMT)
        self.layer_classes = sorted(layers, key=lambda c: inspect.getsourcelines(c)[1])
        self.code_sections = list(self.code.items())

    def node_call(self, graph: Any, node: Any, module: nn.Module, specs: Any,
                  indent: int) -> str:
        """The constructor call that rebuilds `module` (node `node` of `graph`)."""
        layers, code, taken = self.layers, self.code, self.taken
        node_id = node.id
        block = node.block
        assert block is not None
        where = f"the {node.type} block"
        if getattr(block, "is_unit", False):
            return self.units.call(graph, node, module, specs, indent)
        if node.type == CODE_BLOCK:
            params = node.build_params(graph.base_dir)
            path = Path(params["file"])
            if path not in code:
                code[path] = _code_source(path, node_id, node.type)
                for top in _top_level_names(code[path], node_id, node.type):
                    if top in taken and taken[top] != path.name:
                        raise ExportError(f"{path.name} and {taken[top]} both define "
                                          f"'{top}'; rename one of them", fmt=FMT,
                                          node=node_id)
                    taken[top] = path.name
            class_name = params["class_name"]
            if class_name in _OWN_NAMES:  # the exported file defines these names itself
                alias = f"_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{class_name}"
                if (alias, class_name) not in self.aliases.setdefault(path, []):
                    self.aliases[path].append((alias, class_name))
                class_name = alias
            return _call(class_name, params["kwargs"], indent)
        if type(block).build is not Block.build:
            raise ExportError(f"{where} builds its module in its own way, which the "
                              "python export cannot write as code", fmt=FMT, node=node_id)
        cls = type(module)
        if cls.__module__ == LAYERS_MODULE:
            layers.update(c for c in cls.__mro__ if c.__module__ == LAYERS_MODULE)
            cls_text = cls.__name__
        elif cls.__module__.startswith("torch.nn") and getattr(nn, cls.__name__, None) is cls:
            cls_text = f"nn.{cls.__name__}"
        else:
            raise ExportError(f"{where} builds {cls.__module__}.{cls.__name__}, which is "
                              "neither torch.nn nor a Torchloom layer, so the python "
                              "export cannot write it", fmt=FMT, node=node_id)
        params = node.build_params(graph.base_dir)
        kwargs = {**block.inferred([s.shape for s in specs]), **block.fixed, **params}
        return _call(cls_text, kwargs, indent)


def _ruler(title: str) -> str:
    # A file name is not code: nothing in it may end the comment line.
    title = "".join(c if c.isprintable() else "?" for c in title)
    return f"# ---- {title} ".ljust(88, "-") + "\n"


def _prefix(name: str) -> int:
    return len(f"        self.{name} = ")


def _code_source(path: Path, node_id: str, type_name: str) -> str:
    from ..codefiles import code_source

    try:
        source = code_source(path)
    except Exception as exc:  # noqa: BLE001 - ModelImportError, or an OS error
        raise ExportError(f"cannot read the {type_name} block's code file: {exc}", fmt=FMT,
                          node=node_id, path=str(path)) from None
    # `from __future__` must open a file, and the exported file already has annotations
    # and the two torch imports: drop those lines rather than repeat them.
    return re.sub(r"(?m)^(from __future__ import [^\n]*|import torch|from torch import nn)"
                  r"[ \t]*(\n|\Z)", "", source)


def _top_level_names(source: str, node_id: str, type_name: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ExportError(f"the {type_name} block's code file has a syntax error (line "
                          f"{exc.lineno})", fmt=FMT, node=node_id) from None
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
    return names


def _call(cls_text: str, kwargs: dict[str, Any], indent: int) -> str:
    """``Cls(a=1, b=2)``, wrapped under the first argument where it would pass `_LINE`."""
    if any(keyword.iskeyword(k) or not k.isidentifier() for k in kwargs):
        return f"{cls_text}(**{_literal(kwargs)})"
    args = [f"{k}={_literal(v)}" for k, v in kwargs.items()]
    hang = indent + len(cls_text) + 1  # continuation lines line up with the first argument
    lines, line = [], ""
    for i, arg in enumerate(args):
        piece = arg + (")" if i == len(args) - 1 else ",")
        if line and hang + len(line) + 1 + len(piece) > _LINE:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line if args else ")")
    return f"{cls_text}(" + ("\n" + " " * hang).join(lines)


def _literal(value: Any) -> str:
    """Python source for a parameter value; text in double quotes, as people write it."""
    if isinstance(value, str) and '"' not in value and "\\" not in value and value.isprintable():
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _doc(text: Any) -> str:
    """Text safe inside a triple-quoted docstring."""
    text = "".join(c if c.isprintable() else " " for c in str(text))
    return text.replace("\\", "/").replace('"""', "'''")


def _input_lines(model: ExportModel) -> list[str]:
    lines = []
    for node_id, name in zip(model.input_ids(), _placeholders(model)):
        spec = model.analysis.nodes[node_id].spec
        assert spec is not None
        node = "" if name == node_id else f" (node {_doc(node_id)})"
        lines.append(f"    {name}: {spec.show()} {spec.dtype}{node}")
    return lines


def _placeholders(model: ExportModel) -> list[str]:
    return [str(n.target) for n in model.module.graph.nodes if n.op == "placeholder"]


def _header(model: ExportModel, note: str | None = None) -> str:
    project = model.project
    source = f" ({_doc(project.path.name)})" if project.path is not None else ""
    out_spec = model.analysis.output_spec
    params = sum(p.numel() for p in model.module.parameters())
    lines = [f'"""{_doc(project.name)}: a PyTorch model exported by Torchloom.', "",
             f"Project: {_doc(project.name)}{source}",
             "Inputs (N is the batch size):", *_input_lines(model),
             *_output_lines(model, out_spec),
             f"Parameters: {params:,}", *([_doc(note)] if note else []), "",
             "This file needs only PyTorch. Load a Torchloom run's weights (its",
             "model.safetensors; the names match this model's submodules) with:", "",
             "    import safetensors.torch",
             "    model = build()",
             '    model.load_state_dict(safetensors.torch.load_file("model.safetensors"))',
             "    model.eval()"]
    floats = [i for i in model.input_ids() if not model.analysis.nodes[i].spec.is_int]
    if floats:
        lines += ["", "Torchloom normalises float inputs during training: feed the model data",
                  "normalised the same way (the run folder's run.json lists the mean and std",
                  'under "normalization").']
    return "\n".join([*lines, '"""', ""])


def _output_lines(model: ExportModel, out_spec: Any) -> list[str]:
    """``Output: [N, 10]``; for several heads, the tuple's tensors in order."""
    heads = model.output_ids()
    if not heads:
        return [f"Output: {out_spec.show() if out_spec else '?'}"]
    lines = ["Outputs (a tuple, one per head, in this order):"]
    for node_id in heads:
        spec = model.analysis.nodes[node_id].spec
        lines.append(f"    {_doc(node_id)}: {spec.show() if spec else '?'}")
    return lines


def _model_class(model: ExportModel, parts: _Parts) -> str:
    lines = ["class Model(nn.Module):",
             f'    """{_doc(model.project.name)}, as drawn on the Torchloom canvas."""', "",
             "    def __init__(self) -> None:", "        super().__init__()"]
    lines += [f"        self.{name} = {call}" for name, call in parts.calls.items()]
    lines += ["", *_forward(model)]
    return "\n".join(lines) + "\n"


def _forward(model: ExportModel) -> list[str]:
    """``gm.code``'s forward, tidied: typed signature, no ``x = None`` frees, no blank or
    import lines, and each step annotated with the shape it produces."""
    gm = model.module
    shapes: dict[str, str] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            node_id = model.node_ids.get(str(node.target), str(node.target))
            spec = model.analysis.nodes[node_id].spec
            if spec is not None:
                shapes[node.name] = spec.show()
    args = ", ".join(f"{p}: torch.Tensor" for p in _placeholders(model))
    heads = model.output_ids()
    returns = ("tuple[" + ", ".join(["torch.Tensor"] * len(heads)) + "]" if heads
               else "torch.Tensor")
    out = [f"    def forward(self, {args}) -> {returns}:"]
    body_started = False
    for raw in gm.code.splitlines():
        line = raw.rstrip()
        text = line.strip()
        if not text or text.startswith(("import ", "from ", "#")) or "wrap(" in text:
            continue
        if text.startswith("def forward("):
            body_started = True
            continue
        if not body_started:
            continue
        line = re.sub(r";\s+(?:\w+\s*=\s*)+None$", "", line)
        match = re.match(r"\s*(\w+) = self\.", line)
        if match and match.group(1) in shapes:
            line = f"{line}  # {shapes[match.group(1)]}"
        out.append("    " + line)
    return out


def _build_and_main(model: ExportModel) -> tuple[str, str]:
    names = _placeholders(model)
    make = []
    limit = _token_limit(model)
    for node_id, name in zip(model.input_ids(), names):
        spec = model.analysis.nodes[node_id].spec
        assert spec is not None
        size = ", ".join(map(str, (2, *spec.shape)))
        if spec.is_int:
            make.append(f"    {name} = torch.randint(0, {limit}, ({size}))")
        else:
            make.append(f"    {name} = torch.randn({size})")
    build = ("def build() -> Model:\n"
             '    """The model with fresh weights; load trained ones with load_state_dict."""\n'
             "    return Model()\n")
    lines = ['if __name__ == "__main__":',
             "    # A quick check: python this_file.py [model.safetensors]",
             "    import sys", "",
             "    model = build().eval()",
             "    if len(sys.argv) > 1:",
             "        from safetensors.torch import load_file", "",
             "        model.load_state_dict(load_file(sys.argv[1]))",
             *make,
             "    with torch.no_grad():",
             f"        out = model({', '.join(names)})",
             *(['    print("output shapes:", [tuple(o.shape) for o in out])']
               if model.output_ids() else ['    print("output shape:", tuple(out.shape))'])]
    return build, "\n".join(lines) + "\n"


def _token_limit(model: ExportModel) -> int:
    sizes = [m.num_embeddings for m in model.module.modules() if isinstance(m, nn.Embedding)]
    return max(1, min(sizes)) if sizes else 2
