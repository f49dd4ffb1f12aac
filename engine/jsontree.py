"""Checks on parsed JSON that the parser does not make, before it becomes a project.

A file can be valid JSON and still impossible to keep: nested so deeply that saving it,
copying it for undo or printing it hits Python's recursion limit, or holding an unpaired
surrogate (``"\\ud800"``), text that no UTF-8 file or terminal can hold, so the project could
neither be shown nor saved again. Both are refused when the file is read, naming the place.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import ProjectFileError

#: Deepest nesting a project file may have; a project is about six levels deep.
MAX_DEPTH = 64

#: A JSON escape of a UTF-16 surrogate: paired ones decode to one character, lone ones to
#: text that cannot be encoded.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NESTED = (dict, list)
_LOOK_INTO = {dict, list, str}


def check_tree(parsed: Any, text: str, path: str | None) -> None:
    """Raise `ProjectFileError` for nesting deeper than `MAX_DEPTH` or an unpaired surrogate
    in any string or key of `parsed` (the JSON read from `text`).

    Walked with a stack, not recursion; strings are only looked at when `text` could hold
    a lone surrogate, and lists of plain numbers are skipped in one step, so a 10 MB file
    costs a fraction of its parse.
    """
    text_ok = not _SURROGATE_ESCAPE.search(text) and _encodable(text)
    look = _NESTED if text_ok else (dict, list, str)
    stack: list[tuple[Any, int, Any]] = [(parsed, 1, None)]
    while stack:
        value, depth, link = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise _not_unicode(path, link)
            continue
        if not isinstance(value, _NESTED):
            continue
        if depth > MAX_DEPTH:
            raise ProjectFileError(f"is nested more than {MAX_DEPTH} levels deep; a project "
                                   "is a few levels deep", path=path, where=_place(link))
        if isinstance(value, dict):
            bad = None if text_ok else next((k for k in value if not _encodable(k)), None)
            if bad is not None:
                raise _not_unicode(path, (bad, link))
            items: Any = value.items()
        elif _LOOK_INTO.isdisjoint(map(type, value)):
            continue  # only numbers, true/false and null
        else:
            items = enumerate(value)
        stack.extend((item, depth + 1, (key, link)) for key, item in items
                     if isinstance(item, look))


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _not_unicode(path: str | None, link: Any) -> ProjectFileError:
    return ProjectFileError("holds text that is not valid Unicode (an unpaired surrogate such "
                            "as \\ud800): the file cannot be shown or saved again", path=path,
                            where=_place(link))


def _place(link: Any) -> str:
    """``graph.nodes[3].id`` for the chain of keys leading there (the first twelve); odd
    keys are escaped so the message can be printed."""
    parts: list[Any] = []
    while link is not None:
        key, link = link
        parts.append(key)
    out = ""
    for part in reversed(parts[-12:]):
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part.encode("utf-8", "backslashreplace").decode("utf-8")[:40]
            out += f".{name}" if out else name
    return (out + ("..." if len(parts) > 12 else "")) or "the top level"
