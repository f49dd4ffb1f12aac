"""Python files that Code blocks run, and the trust step in front of them.

A project file is inert: nothing in it is executed. A Code block only *names* a ``.py`` file
next to the project and a class in it. That file runs only once the person has trusted it,
like an editor's workspace trust. Trust is per content hash, so a file that changes after
it was trusted is untrusted again. Trust is remembered in the user-data folder, or for this
process only (the command line's ``--trust-code``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.abc
import importlib.util
import json
import os
import sys
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .errors import CodeTrustError, ModelImportError
from .fileio import atomic_write_text
from .safe_read import FileTooBigError, read_limited
from .userdata import data_dir

if TYPE_CHECKING:
    from torch import nn

    from .graph import Graph

TRUST_FILE = "trusted_code.json"
CODE_BLOCK = "Code"
TRUST_HINT = ("it has not been trusted yet, or it changed since: trust it in the app, or pass "
              "--trust-code on the command line, to run it")
MAX_CODE_BYTES = 2 * 2**20

_lock = threading.RLock()
_session: set[str] = set()
_trust_all = False
_loaded: dict[tuple[str, str], types.ModuleType] = {}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(read_code(path)).hexdigest()


def read_code(path: Path) -> bytes:
    """A code file's bytes, at most MAX_CODE_BYTES (refused in words beyond that)."""
    try:
        return read_limited(path, MAX_CODE_BYTES)
    except FileTooBigError as exc:
        raise ModelImportError(f"is {exc.size // 1024} KiB or more; a code file is at most "
                               f"{MAX_CODE_BYTES // 2**20} MiB", path=str(path)) from None
    except FileNotFoundError:
        raise ModelImportError("no such code file (it belongs next to the project file)",
                               path=str(path)) from None
    except OSError as exc:
        raise ModelImportError(f"cannot be read: {exc.strerror or exc}", path=str(path)) from None


def _store_path() -> Path:
    return data_dir() / TRUST_FILE


def _remembered() -> dict[str, str]:
    try:
        data = json.loads(_store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    hashes = data.get("sha256") if isinstance(data, dict) else None
    return {k: str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}


def is_trusted(path: Path, project_dir: Path | str | None = None) -> bool:
    """True when this exact content of `path` was trusted (now or in an earlier session).

    ``--trust-code`` covers only files inside `project_dir`: a project that arrived may name
    ``../../x.py`` or ``/home/you/.bashrc.py``, and trusting "this project's code" must not
    run a file the person never looked at outside it (`trust_file` names such a file)."""
    try:
        digest = file_sha256(Path(path))
    except ModelImportError:
        return False
    return _digest_trusted(digest, Path(path), project_dir)


def _digest_trusted(digest: str, path: Path, project_dir: Path | str | None) -> bool:
    with _lock:
        if digest in _session or digest in _remembered():
            return True
        return _trust_all and not outside_project(path, project_dir)


def real_place(path: Path | str) -> Path:
    """Where `path` really is, symbolic links followed. Never raises: a link loop (which
    `Path.resolve` raises RuntimeError for) stays as far as it resolves, and the read
    that follows says what is wrong with it."""
    return Path(os.path.realpath(path))


def outside_project(path: Path | str, project_dir: Path | str | None) -> bool:
    """True when `path` (its real place: symbolic links followed) is not inside the
    project's folder. A project with no folder yet (never saved) has no outside."""
    if not project_dir:
        return False
    try:
        real_place(path).relative_to(real_place(project_dir))
    except ValueError:
        return True
    return False


def untrusted_message(path: Path, project_dir: Path | str | None) -> str:
    """Why a Code block's file does not run, with the full path when it lies outside the
    project's folder (the name alone would hide that it is ``/etc/passwd``)."""
    if outside_project(path, project_dir):
        return (f"not trusted: {real_place(path)} lies outside the project's folder "
                f"({real_place(str(project_dir))}): --trust-code does not cover it; look "
                f"at it, then trust it in the app or name it with --trust-code-file "
                f"{real_place(path)}")
    return f"not trusted: {Path(path).name}: {TRUST_HINT}"


def trust_all_for_session(on: bool = True) -> None:
    """Trust every code file inside the project's folder for this process: the command
    line's ``--trust-code`` (a file outside it needs ``--trust-code-file``)."""
    global _trust_all
    _trust_all = on


def trust_file(path: Path, remember: bool = True) -> str:
    """Trust the current content of `path`; `remember` keeps it for later sessions."""
    path = Path(path)
    digest = file_sha256(path)
    with _lock:
        _session.add(digest)
        if remember:
            known = _remembered()
            known[digest] = str(path.resolve())
            atomic_write_text(_store_path(), json.dumps({"sha256": known}, indent=1) + "\n")
    return digest


def forget_session_trust() -> None:
    """Drop the trust given for this process only (tests use it)."""
    global _trust_all
    with _lock:
        _trust_all = False
        _session.clear()
        _loaded.clear()


def resolve_code_path(file: str, base_dir: Path | None) -> Path:
    path = Path(file)
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def code_source(path: Path) -> str:
    """The file's text (no trust needed to *read* it: showing code runs nothing)."""
    return read_code(Path(path)).decode("utf-8", errors="replace")


def load_code_class(path: Path, class_name: str,
                    project_dir: Path | str | None = None) -> type["nn.Module"]:
    """The class `class_name` from a trusted file, executing the file once per content.

    Raises:
        CodeTrustError: the file (with its current content) is not trusted.
        ModelImportError: the file is missing, does not run, or lacks the class.
    """
    from torch import nn

    path = Path(path)
    raw = read_code(path)
    digest = hashlib.sha256(raw).hexdigest()
    with _lock:
        if not _digest_trusted(digest, path, project_dir):
            outside = outside_project(path, project_dir)  # the error names the file itself
            raise CodeTrustError(untrusted_message(path, project_dir) if outside
                                 else f"not trusted: {TRUST_HINT}", path=str(path))
        key = (str(path.resolve()), digest)
        module = _loaded.get(key)
        if module is None:
            module = _execute(path, raw, digest, project_dir)
            _loaded[key] = module
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ModelImportError(f"has no nn.Module class named '{class_name}'", path=str(path))
    return cls


def _execute(path: Path, raw: bytes, digest: str,
             project_dir: Path | str | None = None) -> types.ModuleType:
    name = f"torchloom_code_{digest[:16]}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    try:
        code = compile(raw, str(path), "exec")
    except SyntaxError as exc:
        raise ModelImportError(f"has a syntax error: {exc.msg}", path=str(path),
                               line=exc.lineno) from None
    folder = path.parent.resolve()
    gate = _LocalGate(folder, path, project_dir)
    for local in local_modules(path):  # a same-named module from another project is stale
        sys.modules.pop(local.stem, None)
    sys.modules[name] = module  # dataclasses and typing look classes up here
    sys.meta_path.insert(0, gate)
    try:
        exec(code, module.__dict__)  # noqa: S102 - the person trusted this exact file
    except CodeTrustError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:  # noqa: BLE001 - their code may raise anything
        sys.modules.pop(name, None)
        line = _error_line(exc, str(path))
        raise ModelImportError(f"raised {type(exc).__name__} when run: {exc}", path=str(path),
                               line=line) from None
    finally:
        sys.meta_path.remove(gate)
        for loaded in gate.loaded:  # the next project's helpers.py is not this one's
            sys.modules.pop(loaded, None)
    return module


class _LocalGate(importlib.abc.MetaPathFinder):
    """While a code file runs, `import helpers` finds ``helpers.py`` beside it, and only if
    that file is trusted too: trusting one file must not run another nobody looked at."""

    def __init__(self, folder: Path, importer: Path,
                 project_dir: Path | str | None = None) -> None:
        self.folder, self.importer, self.project_dir = folder, importer, project_dir
        self.loaded: list[str] = []

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if path is not None or "." in fullname:
            return None  # only top-level names can be files beside the code file
        candidate = self.folder / f"{fullname}.py"
        if (self.folder / fullname / "__init__.py").is_file():
            raise CodeTrustError(f"imports the package folder '{fullname}' beside it; a code "
                                 "file may import torch, installed packages and single .py "
                                 "files beside it", path=str(self.importer))
        if not candidate.is_file():
            return None
        if not is_trusted(candidate, self.project_dir):
            raise CodeTrustError(f"imports {candidate.name}, which is not trusted: {TRUST_HINT}",
                                 path=str(self.importer))
        self.loaded.append(fullname)
        return importlib.util.spec_from_file_location(fullname, candidate)


def imported_names(source: bytes | str) -> list[str]:
    """The top-level module names a file imports, in order (read with `ast`: nothing runs);
    none for a file that does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


def local_modules(path: Path, _seen: set[Path] | None = None) -> list[Path]:
    """The ``.py`` files beside `path` that it imports, directly or through each other
    (read with `ast`: nothing runs). They need trust as much as the file itself."""
    seen = _seen if _seen is not None else set()
    try:
        source = read_code(Path(path))
    except ModelImportError:
        return []
    out: list[Path] = []
    for name in imported_names(source):
        candidate = Path(path).parent / f"{name}.py"
        if candidate.is_file() and candidate.resolve() not in seen:
            seen.add(candidate.resolve())
            out.append(candidate)
            out += local_modules(candidate, seen)
    return out


def _error_line(exc: BaseException, filename: str) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def code_files(graph: "Graph") -> list[Path]:
    """The code files a graph's Code blocks name, resolved, each once, in node order, with
    the files beside them that they import."""
    seen: dict[str, Path] = {}
    units = getattr(graph, "units", None)  # Code blocks inside units run too
    inner = [n for name in (units or ()) for n in units.get(name).graph.nodes]
    for node in [*graph.nodes, *inner]:
        if node.type != CODE_BLOCK:
            continue
        file = node.params.get("file")
        if isinstance(file, str) and file:
            path = resolve_code_path(file, graph.base_dir)
            seen.setdefault(str(path), path)
            for local in local_modules(path):
                seen.setdefault(str(local), local)
    return list(seen.values())


def untrusted_files(graph: "Graph") -> list[Path]:
    return [p for p in code_files(graph)
            if p.exists() and not is_trusted(p, graph.base_dir)]


def trust_files(paths: Iterable[Path], remember: bool = True) -> None:
    for path in paths:
        trust_file(path, remember=remember)


def trust_with_imports(path: Path, remember: bool = True) -> None:
    """Trust a file and the files beside it that it imports: for a file the person has just
    run themselves (an import of their own model), not for a project that arrived."""
    trust_files([Path(path), *local_modules(path)], remember=remember)
