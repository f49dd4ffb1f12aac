"""Start the app: window first, torch in the background, the project as soon as asked.

Start-up order matters for how fast the window appears: Qt and the catalogue load in well
under a second, torch takes about 1.4 s, so the window (with the project's blocks) shows
before torch is imported and shapes fill in when it is.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from torchloom.engine.cli.output import one_line, say

from . import theme
from .engine_loader import engine_loader
from .main_window import MainWindow
from .paths import settings

SCREENSHOT_SIZE = (1600, 1000)


def make_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    if not app.property("torchloom_ready"):  # a style sheet re-polishes every widget: once
        app.setApplicationName("Torchloom")
        app.setOrganizationName("Torchloom")
        theme.apply_theme(app, str(settings().value("theme", "dark")))  # type: ignore[arg-type]
        app.setProperty("torchloom_ready", True)
    return app  # type: ignore[return-value]


def run_gui(project: str | None = None, screenshot: str | None = None,
            theme_name: str | None = None, report_startup: bool = False,
            train: bool = False) -> int:
    """`torchloom gui`. Returns the process exit code."""
    app = make_app()
    if theme_name:
        theme.apply_theme(app, theme_name)
    loader = engine_loader()
    loader.limit_gui_thread = True
    window = MainWindow()
    if screenshot:  # scripted: problems go to stderr, never to a dialog nobody can click
        window.report = lambda title, text: say(  # type: ignore[method-assign]
            one_line(f"error: {title}: {text}"), sys.stderr)
    if project:
        if not window.open_path(Path(project)) and screenshot:
            return 2
    if screenshot:
        return _screenshot(app, window, Path(screenshot), train)
    window.show()
    if report_startup:
        start = float(os.environ.get("TORCHLOOM_T0", "0") or 0)

        def report() -> None:
            print(f"startup {time.time() - start:.3f}", flush=True)
            if os.environ.get("TORCHLOOM_EXIT_AFTER_STARTUP"):
                app.quit()

        QTimer.singleShot(0, report)
    QTimer.singleShot(0, loader.start)
    QTimer.singleShot(50, window.recover_leftovers)
    return app.exec()


def _screenshot(app: QApplication, window: MainWindow, out: Path, train: bool = False) -> int:
    """Render the window at a fixed size once shapes are in (and, with `train`, once the
    project's training has run), save a PNG, exit."""
    window.resize(*SCREENSHOT_SIZE)
    window.show()
    loader = engine_loader()
    loader.start()
    if not loader.wait(120):
        say(one_line(f"error: {loader.error or 'PyTorch did not load'}"), sys.stderr)
        return 1
    app.processEvents()
    if window.document is not None:
        window.document.refresh()
    app.processEvents()
    code = 0
    if train:
        code = _train_and_wait(app, window)
    window.fit()
    app.processEvents()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        saved = window.grab().save(str(out))
    except OSError as exc:  # a read-only place: "cannot write there", never a traceback
        saved, why = False, f" ({exc.strerror or exc})"
    else:
        why = ""
    if not saved:  # the code of every path that cannot be used
        say(one_line(f"error: {out}: the screenshot could not be written{why}"), sys.stderr)
        return 2
    window.autosaver.stop()
    window.wait_background()
    say(f"saved {out}")
    return code


def _train_and_wait(app: QApplication, window: MainWindow) -> int:
    failures: list[str] = []
    window.controller.failed.connect(failures.append)
    if not window.train():
        say(one_line("error: training could not start: "
                     f"{window.training_panel.message.text() or 'no project'}"), sys.stderr)
        return 1
    while window.controller.running:
        app.processEvents()
        time.sleep(0.01)
    app.processEvents()
    result = window.controller.last_result
    if failures or result is None or result.status != "finished":
        say(one_line(f"error: training failed: {failures[0] if failures else 'no result'}"),
            sys.stderr)
        return 1
    from torchloom.engine.cli.train import done_line  # the words `torchloom train` ends with

    say(f"trained {len(result.epochs)} epochs; {done_line(window.document.task, result)}")
    return 0
