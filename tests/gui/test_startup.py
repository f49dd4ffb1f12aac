"""The window opens before torch loads: nothing on the start-up path may import it."""

from __future__ import annotations

import os
import subprocess
import sys

from torchloom.engine.resources import examples_dir


def test_window_with_a_project_opens_without_importing_torch(tmp_path):
    code = f"""
import sys
from pathlib import Path
from torchloom.gui.app import make_app
from torchloom.gui.main_window import MainWindow
app = make_app()
window = MainWindow()
assert window.open_path(Path({str(examples_dir() / 'attention_classifier.json')!r}))
window.show()
app.processEvents()
print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TORCHLOOM_DATA_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
