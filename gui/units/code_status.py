"""What a Code block says on its face: "not trusted", or its error with the file and line.

The engine attaches a Code block's problems to the node as plain messages (`not trusted:
net.py: ...`, `/path/net.py:5: has a syntax error: ...`). A badge alone hides which file and
line to open, so the node shows them in its body; the tooltip keeps the whole message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

CODE_BLOCK = "Code"
NOT_TRUSTED = "not trusted"
OUTSIDE = "outside the project's folder"  # the engine's words (codefiles.untrusted_message)
_WHERE = re.compile(r"(?P<path>[^\s:]+\.py):(?P<line>\d+):\s*(?P<rest>.*)")


def code_status(node: Any, errors: list[Any]) -> tuple[str, str] | None:
    """(headline, where) for a Code node with an error, or None (then it shows its shape)."""
    if getattr(node, "type", None) != CODE_BLOCK:
        return None
    errs = [e for e in errors if getattr(e, "severity", "error") == "error"]
    if not errs:
        return None
    message = str(errs[0].message)
    file_name = Path(str(node.params.get("file") or "")).name or "no file chosen"
    if message.startswith(NOT_TRUSTED):
        if OUTSIDE in message:  # the name alone would hide that it is /etc/passwd
            return f"{NOT_TRUSTED}: outside the project", str(node.params.get("file"))
        return NOT_TRUSTED, file_name
    found = _WHERE.search(message)
    if found:
        rest, where = found.group("rest"), f"{Path(found.group('path')).name} line " \
            f"{found.group('line')}"
        if rest.startswith("forward raised "):  # the exception first; where it was raised below
            return rest[len("forward raised "):], f"in forward, {where}"
        for prefix in ("has a ", "has "):  # "has a syntax error: ..." → "syntax error: ..."
            if rest.startswith(prefix):
                rest = rest[len(prefix):]
                break
        return rest, where
    return message, file_name


def untrusted_reason(files: list[Path], project_dir: Path | None = None) -> str | None:
    """Why Train is off, for its tooltip and the Training panel; None when nothing blocks.
    A file outside the project's folder is named in full: its name alone could be anyone's."""
    from torchloom.engine.codefiles import outside_project

    if not files:
        return None
    shown = [f"{p.resolve()} (outside the project's folder)" if outside_project(p, project_dir)
             else p.name for p in files[:3]]
    names = ", ".join(shown) + (" …" if len(files) > 3 else "")
    return (f"Training is off: this project's Code blocks run Python files you have not "
            f"trusted ({names}). Use File → Trust code files… to run them.")
