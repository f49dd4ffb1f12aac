"""The trust prompt names a code file outside the project's folder with its full path, in
red, with the words "outside the project's folder"; the node says so too."""

from __future__ import annotations

import json
import os

from tests.gui.conftest import settle
from torchloom.gui import theme
from torchloom.gui.trust_prompt import trust_box, trust_text

SOURCE = ("from torch import nn\n\nclass Twice(nn.Module):\n    def forward(self, x):\n"
          "        return 2 * x\n")
SHOTS = os.environ.get("TORCHLOOM_TEST_PNG_DIR", "/tmp")


def _project(tmp_path):
    outside = tmp_path / "elsewhere" / "evil.py"
    outside.parent.mkdir()
    outside.write_text(SOURCE)
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "net.py").write_text(SOURCE.replace("Twice", "Same"))
    data = {"format": "torchloom-project", "version": 1, "name": "m", "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "same", "type": "Code",
                   "params": {"file": "net.py", "class_name": "Same"}},
                  {"id": "two", "type": "Code",
                   "params": {"file": "../elsewhere/evil.py", "class_name": "Twice"}}],
        "edges": [{"from": "x", "to": "two"}, {"from": "two", "to": "same"}]}}
    (folder / "m.json").write_text(json.dumps(data))
    return folder / "m.json", outside, folder


def test_a_file_outside_the_folder_is_red_with_its_full_path(window, tmp_path, qtbot):
    project, outside, folder = _project(tmp_path)
    asked: list = []
    window.ask_trust = lambda files: asked.append(files) or False
    assert window.open_path(project)
    settle()
    files = asked[0]
    text = trust_text(files, folder)
    red = theme.current().error
    line = next(part for part in text.split("<li>") if "evil.py" in part)
    assert str(outside.resolve()) in line and red in line
    assert "outside the project's folder" in line
    inside = next(part for part in text.split("<li>") if "net.py" in part)
    assert red not in inside

    from torchloom.gui.units.code_status import code_status

    item = window.scene.node_items["two"]
    assert code_status(item.node, item.errors) == ("not trusted: outside the project",
                                                   "../elsewhere/evil.py")
    tip = window.act_train.toolTip()  # why Train is off names the outside file in full
    assert f"{outside.resolve()} (outside the project's folder)" in tip and "net.py" in tip
    box, _ = trust_box(window, files, folder)
    box.show()
    qtbot.waitExposed(box)
    box.grab().save(f"{SHOTS}/gui_trust_prompt_outside.png")
    window.grab().save(f"{SHOTS}/gui_node_outside.png")
    box.close()
