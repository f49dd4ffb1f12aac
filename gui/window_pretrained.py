"""Run → Start from pretrained weights…: pick a local weights file, see what it fits.

The file is matched to the blocks at once (`engine.train.pretrained.preview_pretrained`),
so the person reads which blocks it loads and which start fresh, and why, before anything
trains; the next run then starts from it, as it would start from the last run's weights
(Reset weights forgets it again). A file that fits nothing is said in the same message
box, naming the file, and changes nothing.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from torchloom.engine.errors import TorchloomError

TITLE = "Start from pretrained weights"


def file_filter() -> str:
    """The dialog's filter, from the engine's list of weights-file endings."""
    from torchloom.engine.project import WEIGHT_SUFFIXES

    patterns = " ".join(f"*{s}" for s in WEIGHT_SUFFIXES)
    return f"Weights ({patterns});;All files (*)"


def start_from_pretrained(window: Any, path: Path | None = None) -> QMessageBox | None:
    """Ask for a file (unless `path` is given), match it, say what it loads. Returns the
    message box shown (non-blocking, kept on the window), or None when nothing was chosen."""
    doc = window.document
    if doc is None or window.controller.running:
        return None
    if path is None:
        folder = doc.path.parent if doc.path is not None else Path.home()
        chosen, _ = QFileDialog.getOpenFileName(window, TITLE, str(folder), file_filter())
        if not chosen:
            return None
        path = Path(chosen)
    from torchloom.engine.train.pretrained import preview_pretrained

    box = QMessageBox(window)
    box.setWindowTitle(TITLE)
    try:
        report = preview_pretrained(doc.project, path)
    except TorchloomError as exc:
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(f"<b>{html.escape(path.name)} cannot be used.</b>")
        box.setInformativeText(html.escape(exc.describe()))
    else:
        window.weights_from = path
        lines = report.lines()
        box.setIcon(QMessageBox.Icon.Information)
        box.setText(f"<b>{html.escape(lines[0][:1].upper() + lines[0][1:])}</b>")
        box.setInformativeText("<br>".join(html.escape(line.strip()) for line in lines[1:])
                               + "<br><br>The next run starts from these weights "
                               "(Run → Reset weights forgets them).")
        window.training_panel.say(f"The next run starts from {html.escape(path.name)}: "
                                  f"{len(report.matched)} block(s) loaded, "
                                  f"{len(report.reinitialized)} fresh.")
    window._pretrained_box = box  # keep it alive while it shows
    box.open()
    return box
