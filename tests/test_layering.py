"""The engine never imports Qt: checked on the source, so it holds even where import-linter
is not run."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "engine"
FORBIDDEN = ("PySide6", "pyqtgraph", "shiboken6", "torchloom.gui")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level >= 3 or (node.level == 2 and (node.module or "").startswith("gui")):
                yield "torchloom.gui"
            elif node.module:
                yield node.module


def test_engine_never_imports_qt_or_the_gui():
    offenders = [f"{path.relative_to(ENGINE.parent)}: {name}"
                 for path in ENGINE.rglob("*.py") for name in imported_modules(path)
                 if name.split(".")[0] in FORBIDDEN or name.startswith(FORBIDDEN)]
    assert not offenders, offenders


def test_importing_the_engine_loads_no_qt():
    import subprocess
    import sys

    code = ("import sys, torchloom.engine.cli, torchloom.engine.project, "
            "torchloom.engine.compile, torchloom.engine.summary, torchloom.engine.api; "
            "print([m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
