"""The question in front of a project's code files: "Run this project's code?".

A file outside the project's folder is the one to look at twice (a project that arrived
may name `../../x.py` or `/home/you/.profile.py`), so it is listed with its full path, in the
theme's error red, with the words "outside the project's folder". Paths come from a file
someone else wrote: they are escaped, never read as markup.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from . import theme
from .text import plain


def trust_text(files: list[Path], project_dir: Path | None) -> str:
    """The prompt's rich text: one line per file, those outside the folder in red."""
    from torchloom.engine.codefiles import outside_project

    rows = []
    for path in files:
        shown = html.escape(plain(str(path)))
        if outside_project(path, project_dir):  # where it really is, not "proj/../../x"
            shown = html.escape(plain(str(Path(path).resolve())))
            rows.append(f"<li><span style='color:{theme.current().error}'><b>{shown}</b>: "
                        "outside the project's folder</span></li>")
        else:
            rows.append(f"<li>{shown}</li>")
    return ("<p>This project's Code blocks run Python code from these files:</p>"
            f"<ul>{''.join(rows)}</ul>"
            "<p>Code runs with your permissions. Trust the files only if you know where "
            "they come from. Until then those blocks show as not trusted and the model "
            "cannot train.</p>")


def trust_box(parent: QWidget | None, files: list[Path],
              project_dir: Path | None) -> tuple[QMessageBox, object]:
    """The message box and its "Trust and run" button (the caller runs `exec`)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Run this project's code?", "", parent=parent)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(trust_text(files, project_dir))
    trust = box.addButton("Trust and run", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    return box, trust


__all__ = ["trust_box", "trust_text"]
