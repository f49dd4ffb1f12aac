"""Re-lay the bundled examples with Auto-layout, as Ctrl+L does in the window.

    QT_QPA_PLATFORM=offscreen python docs/relayout_examples.py [resources/examples/X.json ...]

Each example is opened in the main window, every canvas (a GAN's two) gets Auto-layout with
the sizes and shape labels the window draws, and the new positions are written back into
the example file; nothing else in the file changes. A unit's inner graph is laid out with
the engine's usual sizes. Then `make screenshots` redraws docs/screenshots.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def pump(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def relayout(window, path: Path, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from torchloom.engine.layout import auto_layout
    from torchloom.engine.project import dumps_project, load_project

    copy = folder / path.name
    shutil.copy(path, copy)
    assert window.open_path(copy), path
    scenes = window.canvas_scenes()
    positions: dict[str, dict[str, tuple[float, float]]] = {}
    for scene in scenes:
        if window.gan_canvas is not None:
            window.gan_canvas.show_graph(scene.document.key)
        deadline = time.time() + 60
        while scene.document.analysis is None and time.time() < deadline:
            pump(0.05)
        window.auto_layout()
        pump(0.2)
        key = getattr(scene.document, "key", "graph")
        positions[key] = {n.id: n.pos for n in scene.document.graph.nodes if n.pos}
    project = load_project(path)  # the file as it was, positions aside
    for key, placed in positions.items():
        graph = project.graphs()[key]
        for node_id, pos in placed.items():
            graph.move(node_id, pos)
    for unit in project.units.defs.values() if project.units else ():
        for node_id, pos in auto_layout(unit.graph).items():
            unit.graph.move(node_id, pos)
    path.write_text(dumps_project(project), encoding="utf-8")
    print(f"{path.name}: {sum(len(p) for p in positions.values())} blocks laid out")


def main() -> None:
    from torchloom.gui.app import make_app
    from torchloom.gui.engine_loader import engine_loader
    from torchloom.gui.main_window import MainWindow

    paths = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "resources" / "examples")
                                                     .glob("*.json"))
    app = make_app()
    engine_loader().start()
    engine_loader().wait(60)
    window = MainWindow()
    window.ask_unsaved = lambda name: "discard"
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            relayout(window, path, Path(folder))
    window.close()


if __name__ == "__main__":
    main()
