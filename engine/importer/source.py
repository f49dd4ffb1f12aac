"""Loading the person's module: ``file.py:ClassName`` executed, the class built with kwargs.

Importing a ``.py`` file runs it, like ``python file.py`` would: it is the person's own
code and they chose to import it. The file's folder is on ``sys.path`` while it runs, so
``from my_layers import Block`` beside it works. While the model is constructed, the
constructors of the classes defined in those files are watched, so every submodule's exact
keyword arguments are known later, when an unmapped submodule becomes a Code node.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import inspect
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from torch import nn

from ..codefiles import MAX_CODE_BYTES
from ..errors import ModelImportError
from ..safe_read import read_limited


@dataclass
class LoadedModel:
    """The constructed module with what the importer needs to rebuild its parts."""

    module: nn.Module
    path: Path
    class_name: str
    kwargs: dict[str, Any]
    #: The executed module (its classes are referred to by name in the code file).
    namespace: types.ModuleType
    #: Files whose classes the model uses: the source file and siblings it imported.
    files: dict[str, Path] = field(default_factory=dict)
    #: id(submodule) -> the keyword arguments its constructor got (None: not expressible).
    init_args: dict[int, dict[str, Any] | None] = field(default_factory=dict)


def split_source(source: str) -> tuple[Path, str]:
    """``path/to/file.py:ClassName`` -> (path, class name); the colon is the last one, so a
    Windows drive letter stays in the path."""
    path, sep, name = str(source).rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise ModelImportError("give the source as path/to/file.py:ClassName (the class to "
                               "import after the last colon)", path=str(source))
    return Path(path), name


def load_model(source: str, kwargs: dict[str, Any] | None = None) -> LoadedModel:
    """Execute the file, find the class and construct it with `kwargs`, in eval mode.

    Raises:
        ModelImportError: the file is missing or does not run (with its line), the class is
            missing or not an nn.Module, or its constructor raised (first line of the error).
    """
    path, class_name = split_source(source)
    kwargs = dict(kwargs or {})
    if not path.is_file():
        raise ModelImportError("no such file" if not path.exists() else "is not a file",
                               path=str(path))
    if path.suffix != ".py":
        raise ModelImportError("is not a .py file (import a Python file or an exported .pt2)",
                               path=str(path))
    folder = path.resolve().parent
    before = set(sys.modules)
    with _on_path(folder):
        namespace = _execute(path)
        cls = getattr(namespace, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            found = [n for n, v in vars(namespace).items()
                     if isinstance(v, type) and issubclass(v, nn.Module)
                     and v.__module__ == namespace.__name__]
            listing = f" (its nn.Module classes: {', '.join(found)})" if found else ""
            what = "no class" if cls is None else "no nn.Module class"
            raise ModelImportError(f"has {what} named '{class_name}'{listing}", path=str(path))
        files = _local_files(namespace, folder, before)
        recorder = _InitRecorder(_local_classes(files))
        try:
            with recorder:
                module = cls(**kwargs)
        except Exception as exc:  # noqa: BLE001 - their constructor may raise anything
            hint = f" (its arguments: {_signature(cls)})" if isinstance(exc, TypeError) else ""
            raise ModelImportError(f"{class_name}(**{_short(kwargs)}) raised "
                                   f"{type(exc).__name__}: {first_line(exc)}{hint}",
                                   path=str(path), line=_error_line(exc, path)) from None
    if not isinstance(module, nn.Module):  # pragma: no cover - __new__ trickery
        raise ModelImportError(f"{class_name}() did not return an nn.Module", path=str(path))
    module.eval()
    return LoadedModel(module, path, class_name, kwargs, namespace,
                       {name: Path(f) for name, f in files.items()}, recorder.args)


def check_forward_arguments(loaded: LoadedModel, count: int) -> None:
    """Arguments of the forward past the `count` tensors must have defaults (they are left
    at them, ``hidden=None``): one without is named, with how to wrap the model.

    Raises:
        ModelImportError: an argument has no default and no input shape was given for it.
    """
    forward = loaded.module.forward
    try:
        params = list(inspect.signature(forward).parameters.values())
    except (TypeError, ValueError):
        return
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params) and len(positional) <= count:
        return
    missing = [p.name for p in positional[count:] if p.default is inspect.Parameter.empty]
    missing += [p.name for p in params
                if p.kind is p.KEYWORD_ONLY and p.default is inspect.Parameter.empty]
    if not missing:
        return
    cls = loaded.class_name
    names = ", ".join(f"'{m}'" for m in missing)
    tensors = ", ".join(p.name for p in positional[:count]) or "x"
    shapes = f"{count} input shape{'s' if count != 1 else ''} {'were' if count != 1 else 'was'}"
    try:
        line: int | None = inspect.getsourcelines(forward)[1]
    except (OSError, TypeError):
        line = None
    raise ModelImportError(
        f"{cls}.forward needs the argument{'s' if len(missing) > 1 else ''} {names}, which "
        f"{'have' if len(missing) > 1 else 'has'} no default, and {shapes} given: give one "
        f"--input-shape per tensor argument, or import a wrapper class whose forward takes "
        f"only the tensors, e.g. class Wrapped(nn.Module) with self.model = {cls}(...) and "
        f"def forward(self, {tensors}): return self.model({tensors}, "
        + ", ".join(f"{m}=..." for m in missing) + ")",
        path=str(loaded.path), line=line)


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 240 else text[:237] + "..."


def _signature(cls: type) -> str:
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return "unknown"
    return ", ".join(str(p) for p in params) or "none"


def _short(kwargs: dict[str, Any]) -> str:
    text = json.dumps(kwargs)
    return text if len(text) <= 80 else text[:77] + "..."


@contextlib.contextmanager
def _on_path(folder: Path) -> Iterator[None]:
    """`folder` first on ``sys.path`` while its file runs, and its own ``model.py`` found
    there: a module of that name that an earlier import (another project's folder) left in
    ``sys.modules`` is set aside meanwhile, or ``from model import GPT`` would read the
    other folder's file. Installed packages are never set aside."""
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    hidden = _set_aside_shadowed(folder)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)
        sys.modules.update(hidden)


def _set_aside_shadowed(folder: Path) -> dict[str, types.ModuleType]:
    try:
        own = {p.stem for p in folder.glob("*.py")} | {
            p.parent.name for p in folder.glob("*/__init__.py")}
    except OSError:
        return {}
    installed = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix})
    hidden: dict[str, types.ModuleType] = {}
    for name in own & set(sys.modules):
        file = getattr(sys.modules[name], "__file__", None)
        if not file:
            continue
        where = Path(file).resolve()
        if where.parent == folder or where.parent.parent == folder or \
                str(where).startswith(installed):
            continue
        hidden[name] = sys.modules.pop(name)
    return hidden


def _execute(path: Path) -> types.ModuleType:
    """Run the file as a module with a unique name (two imports never share state)."""
    resolved = path.resolve()
    try:
        source = read_limited(path, MAX_CODE_BYTES)
        digest = hashlib.sha256(str(resolved).encode() + source).hexdigest()[:12]
        name = f"torchloom_import_{digest}_{_ident(path.stem)}"
        compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise ModelImportError(f"has a syntax error: {exc.msg}", path=str(path),
                               line=exc.lineno) from None
    except OSError as exc:
        raise ModelImportError(f"cannot be read: {exc.strerror or exc}",
                               path=str(path)) from None
    spec = importlib.util.spec_from_file_location(name, resolved)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses, typing and inspect look classes up here
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        sys.modules.pop(name, None)
        raise ModelImportError(f"called exit({exc.code}) when run: guard script code with "
                               "if __name__ == '__main__':", path=str(path)) from None
    except Exception as exc:  # noqa: BLE001 - their code may raise anything
        sys.modules.pop(name, None)
        raise ModelImportError(f"raised {type(exc).__name__} when run: {first_line(exc)}",
                               path=str(path), line=_error_line(exc, path)) from None
    return module


def _ident(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text)
    return out if out.isidentifier() else f"m_{out}"


def _error_line(exc: BaseException, path: Path) -> int | None:
    """The last line of `path` in the traceback: where their code failed."""
    target = str(path.resolve())
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()) == target:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _local_files(namespace: types.ModuleType, folder: Path, before: set[str]) -> dict[str, str]:
    """The executed module and the modules it pulled in from its own folder."""
    files = {namespace.__name__: str(Path(namespace.__file__ or "").resolve())}
    for name in set(sys.modules) - before:
        mod = sys.modules.get(name)
        file = getattr(mod, "__file__", None)
        if file and Path(file).resolve().parent == folder and name not in files:
            files[name] = str(Path(file).resolve())
    return files


def _local_classes(files: dict[str, str]) -> list[type]:
    classes = []
    for name in files:
        mod = sys.modules.get(name)
        for value in vars(mod).values() if mod else ():
            if (isinstance(value, type) and issubclass(value, nn.Module)
                    and value.__module__ == name):
                classes.append(value)
    return classes


class _InitRecorder:
    """Wraps the `__init__` of the person's classes while the model is built, keeping the
    keyword arguments each instance got (the outermost class's view of them)."""

    def __init__(self, classes: list[type]) -> None:
        self.classes = classes
        self.args: dict[int, dict[str, Any] | None] = {}
        self._keep: list[nn.Module] = []  # ids stay unique while instances are alive
        self._saved: list[tuple[type, Any]] = []

    def __enter__(self) -> "_InitRecorder":
        for cls in self.classes:
            original = cls.__dict__.get("__init__")
            if original is None:
                continue
            self._saved.append((cls, original))
            cls.__init__ = self._wrap(original)  # type: ignore[misc]
        return self

    def __exit__(self, *exc: Any) -> None:
        for cls, original in self._saved:
            cls.__init__ = original  # type: ignore[misc]

    def _wrap(self, original: Any) -> Any:
        recorder = self

        def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            if id(self) not in recorder.args:
                recorder.args[id(self)] = bound_kwargs(original, self, args, kwargs)
                recorder._keep.append(self)
            original(self, *args, **kwargs)

        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        return __init__


def bound_kwargs(init: Any, instance: Any, args: tuple, kwargs: dict[str, Any]
                 ) -> dict[str, Any] | None:
    """The call as keyword arguments, or None when it cannot be written that way (*args)."""
    try:
        bound = inspect.signature(init).bind(instance, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    out: dict[str, Any] = {}
    params = inspect.signature(init).parameters
    for i, (name, value) in enumerate(bound.arguments.items()):
        if i == 0:
            continue  # self
        kind = params[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            if value:
                return None
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        else:
            out[name] = value
    return out
