"""Screenshots of the language model in the window, for docs/screenshots (`make screenshots`).

    QT_QPA_PLATFORM=offscreen python docs/lm_screenshots.py [OUT_DIR] [--epochs N]

Opens the character GPT template (in a temporary folder) and saves: the data panel's text
preview, the Generate view while the model trains (text from the latest step's weights),
the attention of a clicked generated token after training, and the validation passage
coloured by each token's loss. Prints the text it generated at each point, so the shots
can be read against it.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from inspect_screenshots import ROOT, open_example, pump, wait


def generate(view, prompt: str, tokens: int, temperature: float) -> str:  # type: ignore[no-untyped-def]
    view.prompt.setText(prompt)
    view.temperature.setValue(temperature)
    view.length.setValue(tokens)
    QTest.mouseClick(view.button, Qt.MouseButton.LeftButton)
    wait(lambda: view.status.text().startswith("Done"))
    pump(0.3)
    return view.output.toPlainText()


def click_token(view, index: int) -> None:  # type: ignore[no-untyped-def]
    cursor = view.output.textCursor()
    cursor.setPosition(index)
    rect = view.output.cursorRect(cursor)
    QTest.mouseClick(view.output.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(rect.x() + 3, rect.center().y()))
    pump(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--live-step", type=int, default=120,
                        help="generate during training once the run is past this step")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
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
        open_example(window, Path(tmp), "char_gpt.json", epochs=args.epochs)

        window.show_tab(window.data_panel, height=560)
        assert window.data_panel.wait_loaded(120)
        pump(1.0)
        shots = [out / "lm_text_preview.png"]
        window.grab().save(str(shots[-1]))

        steps: list[int] = []
        window.controller.probe.connect(lambda result: steps.append(result.step))
        window.train()
        wait(lambda: steps and steps[-1] >= args.live_step)
        window.show_tab(window.evaluate_panel, height=560)
        view = window.evaluate_panel.task_view.view("generate")
        text = generate(view, "ROMEO:", 160, 0.8)
        print(f"--- during training (past step {steps[-1]}):\n{text}\n")
        shots.append(out / "lm_generate_live.png")
        window.grab().save(str(shots[-1]))

        wait(lambda: not window.controller.running, timeout=1800)
        wait(lambda: view.trained is not None, timeout=300)
        window.show_tab(window.evaluate_panel, height=560)
        pump(0.5)
        shots.append(out / "lm_token_loss.png")
        window.grab().save(str(shots[-1]))
        text = generate(view, "ROMEO:", 160, 0.8)
        print(f"--- after training:\n{text}\n")
        click_token(view, len(text) - 1)
        print("--- the clicked token:", view.attention.caption.text())
        shots.append(out / "lm_token_attention.png")
        window.grab().save(str(shots[-1]))
        window.close()
        for shot in shots:
            print(shot)


if __name__ == "__main__":
    main()
