"""GUI test fixtures: an isolated data folder, the engine loaded, a main window."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from torchloom.engine.resources import examples_dir

if TYPE_CHECKING:
    from torchloom.engine.project import Project
    from torchloom.gui.document import Document


#: How long a wait for the event loop may take before the test calls it a hang. A hang
#: guard, never a speed: pytest-qt's own default (5 s) is a timing assertion on a machine
#: loaded enough, and a person-visible result that comes later is still the result.
HANG_GUARD_MS = 60_000


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
    qtbot.waitExposed(win, timeout=HANG_GUARD_MS)
    yield win
    if shiboken6.isValid(win):  # close and really delete it: windows must not pile up
        win.ask_unsaved = lambda name: "discard"
        win.close()
        win.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()


class Canvas:
    """A project's canvas alone: its document, scene and view (and, asked for, the
    inspector beside it), without the window's docks, menus, training and inspect panels,
    which cost each test that builds them about a second.

    For tests of what the canvas (or the inspector) does by itself: it has the window's
    `document`, `scene`, `view` and `inspector`, so `drag` and `send_mouse` drive it the
    same way. What the window adds (its actions and shortcuts, adding from the palette)
    needs `window`."""

    def __init__(self, qtbot, inspector: bool = False) -> None:
        from PySide6.QtWidgets import QHBoxLayout, QWidget

        from torchloom.gui.inspector import Inspector

        self.qtbot = qtbot
        self.document = self.scene = self.view = None
        self.host = QWidget()
        self.host.resize(1400, 900)
        self.layout = QHBoxLayout(self.host)
        self.inspector = Inspector(self.host) if inspector else None
        if self.inspector is not None:
            self.layout.addWidget(self.inspector)

    def open(self, project: Project) -> Document:
        """Show `project` as the window does when it opens one."""
        from torchloom.gui.canvas.scene import CanvasScene
        from torchloom.gui.canvas.view import CanvasView
        from torchloom.gui.document import Document  # noqa: F811 - the class, not the hint

        self.close()
        self.document = Document(project)
        self.scene = CanvasScene(self.document)
        self.view = CanvasView(self.scene, self.host)
        self.layout.insertWidget(0, self.view, 1)
        if self.inspector is not None:
            self.scene.node_selection_changed.connect(self.inspector.show_nodes)
            self.inspector.set_document(self.document)
        self.host.show()
        self.qtbot.waitExposed(self.host, timeout=HANG_GUARD_MS)
        self.view.fit_readable()
        self.view.setFocus()
        settle()
        return self.document

    def new_project(self) -> Document:
        """The project File > New opens."""
        from torchloom.gui.window_files import untitled_project

        return self.open(untitled_project())

    def open_example(self, name: str = "mnist_cnn.json") -> Document:
        from torchloom.engine.project import load_project

        return self.open(load_project(examples_dir() / name))

    def close(self) -> None:
        import shiboken6
        from PySide6.QtCore import QEvent

        if self.inspector is not None:
            self.inspector.set_document(None)
        if self.view is not None and shiboken6.isValid(self.view):
            self.layout.removeWidget(self.view)
            self.view.deleteLater()
        if self.document is not None:
            self.document.close()
        self.document = self.scene = self.view = None
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _engine_ready() -> None:
    from torchloom.gui.app import make_app
    from torchloom.gui.engine_loader import engine_loader

    make_app()
    engine_loader().start()
    assert engine_loader().wait(60)


@pytest.fixture
def canvas(qtbot):
    """A canvas alone (`Canvas`); `canvas.new_project()` or `open_example()` fills it."""
    _engine_ready()
    made = Canvas(qtbot)
    yield made
    made.close()
    made.host.deleteLater()
    QApplication.processEvents()


@pytest.fixture
def inspected_canvas(qtbot):
    """A canvas alone with the inspector beside it, following its selection."""
    _engine_ready()
    made = Canvas(qtbot, inspector=True)
    yield made
    made.close()
    made.host.deleteLater()
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
    with qtbot.waitActive(window, timeout=HANG_GUARD_MS):
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
