"""GUI test fixtures: an isolated data folder, the engine loaded, a main window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from torchloom.engine.resources import examples_dir


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """Settings, recent files and autosaves go to a temporary folder, never the home."""
    folder = tmp_path / "appdata"
    monkeypatch.setenv("TORCHLOOM_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def window(qtbot):
    import shiboken6
    from PySide6.QtCore import QEvent

    from torchloom.gui.app import make_app
    from torchloom.gui.engine_loader import engine_loader
    from torchloom.gui.main_window import MainWindow

    make_app()
    engine_loader().start()
    assert engine_loader().wait(60)
    win = MainWindow()
    win.ask_unsaved = lambda name: "discard"  # teardown closes without a dialog
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    if shiboken6.isValid(win):  # close and really delete it: windows must not pile up
        win.ask_unsaved = lambda name: "discard"
        win.close()
        win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


@pytest.fixture
def example(window):
    """The MNIST CNN example open in the window (as a file, so saving works)."""
    def open_example(name: str = "mnist_cnn.json", tmp: Path | None = None):
        path = examples_dir() / name
        if tmp is not None:
            copy = tmp / name
            copy.write_bytes(path.read_bytes())
            path = copy
        assert window.open_path(path)
        settle()
        return window.document
    return open_example


def settle() -> None:
    """Let queued work (shape inference is coalesced on a zero-delay timer) run."""
    for _ in range(3):
        QApplication.processEvents()


def activate(window, qtbot) -> None:
    """Make `window` the active window and wait until it is: keys and shortcuts go to the
    active window, and X11 activates asynchronously."""
    with qtbot.waitActive(window):
        window.activateWindow()


def view_point(window, scene_pos: QPointF):
    return window.view.mapFromScene(scene_pos)


def send_mouse(window, kind, scene_pos: QPointF, button=Qt.MouseButton.LeftButton,
               buttons=None, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """A real QMouseEvent into the canvas viewport, with the button state a drag has."""
    from PySide6.QtCore import QEvent

    viewport = window.view.viewport()
    local = QPointF(view_point(window, scene_pos))
    global_pos = QPointF(viewport.mapToGlobal(local.toPoint()))
    types = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease,
             "double": QEvent.Type.MouseButtonDblClick}
    if buttons is None:
        buttons = button if kind in ("press", "move", "double") else Qt.MouseButton.NoButton
    event = QMouseEvent(types[kind], local, global_pos,
                        Qt.MouseButton.NoButton if kind == "move" else button, buttons, modifiers)
    QApplication.sendEvent(viewport, event)


def drag(window, start: QPointF, end: QPointF, steps: int = 5) -> None:
    send_mouse(window, "press", start)
    for i in range(1, steps + 1):
        point = start + (end - start) * (i / steps)
        send_mouse(window, "move", point)
    send_mouse(window, "release", end)
    settle()


def double_click_palette_item(window, qtbot, item) -> None:
    """A click then a double-click on a palette entry, as a hand does it."""
    window.palette.tree.scrollToItem(item)
    rect = window.palette.tree.visualItemRect(item)
    viewport = window.palette.tree.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=rect.center())
    settle()
