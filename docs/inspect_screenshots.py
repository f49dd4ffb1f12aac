"""Screenshots of the look-inside views, for docs/screenshots (run by `make screenshots`).

    QT_QPA_PLATFORM=offscreen python docs/inspect_screenshots.py [OUT_DIR]

Trains the shapes CNN and the attention classifier in the main window (in a temporary
folder), then saves the Inspect tab on a convolution and on the attention block, a live
probe mid-run, the Evaluate tab and the cost overlay.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parents[1]


def pump(seconds: float = 0.2) -> None:
    end = time.time() + seconds
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def wait(condition, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    end = time.time() + timeout
    while not condition():
        if time.time() > end:
            raise TimeoutError("the window did not get there in time")
        pump(0.05)


def open_example(window, folder: Path, name: str, **training):  # type: ignore[no-untyped-def]
    path = folder / name
    shutil.copy(ROOT / "resources" / "examples" / name, path)
    assert window.open_path(path)
    pump()
    for key, value in training.items():
        window._set_training_setting(key, value)
    pump()


def train(window) -> None:  # type: ignore[no-untyped-def]
    window.train()
    wait(lambda: not window.controller.running)
    wait(lambda: window.inspect_panel.result is not None and window.inspect_panel.trained)
    pump(0.5)


def select(window, node_id: str) -> None:  # type: ignore[no-untyped-def]
    window.scene.select_nodes([node_id])
    window.view.centerOn(window.scene.node_items[node_id].sceneBoundingRect().center()
                         + QPointF(0, 150))
    pump(0.5)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["TORCHLOOM_DATA_DIR"] = str(Path(tmp) / "appdata")
        from torchloom.gui.app import make_app
        from torchloom.gui.engine_loader import engine_loader
        from torchloom.gui.main_window import MainWindow

        make_app()
        engine_loader().start()
        engine_loader().wait(120)
        window = MainWindow()
        window.ask_unsaved = lambda name: "discard"
        window.resize(1500, 1000)
        window.show()
        folder = Path(tmp)

        open_example(window, folder, "shapes_cnn.json", epochs=6)
        train(window)
        select(window, "conv1")
        window.show_tab(window.inspect_panel, height=430)
        pump(0.5)
        window.grab().save(str(out / "inspect_features.png"))
        window.show_tab(window.evaluate_panel, height=430)
        wait(lambda: window.evaluate_panel.preds is not None)
        panel = window.evaluate_panel
        mistakes = panel.preds.mistakes()
        if len(mistakes):
            first = int(mistakes[0])
            panel.show_cell(int(panel.preds.target[first]), int(panel.preds.pred[first]))
            panel.show_sample(first)
            wait(lambda: not panel.jobs.busy())
        pump(1.0)
        window.grab().save(str(out / "evaluate.png"))

        open_example(window, folder, "attention_classifier.json", epochs=15)
        select(window, "attn")
        shots = []

        def live(result) -> None:  # type: ignore[no-untyped-def]
            if result.step >= 100 and not shots:
                shots.append(result.step)
                window.show_tab(window.inspect_panel, height=430)
                window.inspect_panel.sample.setCurrentIndex(2)
                pump(0.3)
                window.grab().save(str(out / "inspect_live.png"))

        window.controller.probe.connect(live)
        window.inspect_panel.show_node("attn", "MultiheadAttention")
        window.show_tab(window.inspect_panel, height=430)
        train(window)
        window.controller.probe.disconnect(live)
        select(window, "attn")
        window.show_tab(window.inspect_panel, height=430)
        window.inspect_panel.sample.setCurrentIndex(2)
        pump(0.5)
        window.grab().save(str(out / "inspect_attention.png"))

        open_example(window, folder, "mnist_cnn.json")
        window.cost_overlay.set_metric("flops")
        wait(lambda: window.cost_overlay.result is not None)
        pump(0.5)
        window.grab().save(str(out / "cost_overlay.png"))
        window.close()
        for name in ("inspect_features", "evaluate", "inspect_live", "inspect_attention",
                     "cost_overlay"):
            print(out / f"{name}.png")


if __name__ == "__main__":
    main()
