"""Text from someone's file, made safe to show: ids, names, paths and messages.

A project file is text from anyone. An id may hold a line break (a fake second line on a
node), an escape sequence, or markup (`<img src=...>` in a rich-text label or tooltip). The
window shows such text the way the command line prints it (`engine.cli.output.one_line`:
control characters as ``\\u001b``), and every rich-text label escapes it as HTML too.
"""

from __future__ import annotations

import html

from PySide6.QtGui import Qt  # mightBeRichText lives with the text classes

from torchloom.engine.cli.output import one_line


def plain(text: object) -> str:
    """One line, control characters (line breaks too) shown as ``\\uXXXX``: for a node's
    label, a field, a title."""
    return one_line(str(text))


def plain_lines(text: object) -> str:
    """Like `plain`, but a message's own line breaks stay."""
    return "\n".join(one_line(line) for line in str(text).split("\n"))


def rich(text: object) -> str:
    """`plain`, then escaped for a rich-text label or tooltip: markup in an id is shown,
    never rendered."""
    return html.escape(plain(text), quote=False)


def message(text: object) -> str:
    """For a message box, whose text Qt renders as HTML when it looks like HTML: line
    breaks stay; text that Qt would take for markup is escaped into rich text that shows it
    as written."""
    shown = plain_lines(text)
    if not Qt.mightBeRichText(shown):
        return shown
    return "<qt>" + html.escape(shown, quote=False).replace("\n", "<br>") + "</qt>"


__all__ = ["message", "plain", "plain_lines", "rich"]
