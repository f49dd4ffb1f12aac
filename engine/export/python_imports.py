"""What an exported ``.py`` imports beyond torch: a Code block's file may import a module
beside it, or a package. The export says so instead of calling the file standalone."""

from __future__ import annotations

import ast
import contextlib
import sys
from typing import Iterator

from ..codefiles import code_files, local_modules
from ..project import Project

#: What the file's own lines import; anything else comes from a Code block's file.
_OWN_IMPORTS = {"__future__", "torch", "safetensors", "sys"}


def outside_imports(text: str, project: Project) -> list[str]:
    """Sentences for what the file imports beyond torch and the standard library: a module
    beside a Code block's file (copy it next to the export) or a package to install. The
    export's check runs where those happen to be importable; elsewhere they must be there."""
    local = {p.stem for p in code_files(project.graph)}
    names: list[str] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    out = []
    for name in dict.fromkeys(names):
        if name in _OWN_IMPORTS or name in sys.stdlib_module_names:
            continue
        if name in local:
            out.append(f"not standalone: your code imports {name}, from {name}.py beside "
                       "your code file; copy that file next to the export")
        else:
            out.append(f"your code imports {name}: install it wherever the export runs")
    return out


@contextlib.contextmanager
def local_modules_importable(project: Project) -> Iterator[None]:
    """Let the export's check import the modules beside the project's code files (trusted
    with them); afterwards they are gone again, from the path and the module cache."""
    files = [p for p in code_files(project.graph) if p.exists()]
    folders = [str(f) for f in dict.fromkeys(p.parent.resolve() for p in files)]
    names = {m.stem for p in files for m in local_modules(p)}
    added = [f for f in folders if f not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            if folder in sys.path:
                sys.path.remove(folder)
        for name in names:
            sys.modules.pop(name, None)
