"""A Code block's trust in the window: the node says "not trusted", Train is off with the
reason on it, trusting turns it on; a broken code file shows on the block with file and line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gui.conftest import settle

GOOD = ("from torch import nn\n\n\nclass Twice(nn.Module):\n"
        "    def forward(self, x):\n        return x * 2\n")
SYNTAX = ("from torch import nn\n\n\nclass Twice(nn.Module):\n"
          "    def forward(self, x)\n        return x * 2\n")


def code_project(folder: Path, source: str = GOOD) -> Path:
    (folder / "net_code.py").write_text(source)
    data = {"format": "torchloom-project", "version": 1, "name": "coded",
            "graph": {"nodes": [
                {"id": "input", "type": "Input", "params": {"shape": [64]}},
                {"id": "twice", "type": "Code",
                 "params": {"file": "net_code.py", "class_name": "Twice"}},
                {"id": "head", "type": "Linear", "params": {"out_features": 10}}],
                "edges": [{"from": "input", "to": "twice"}, {"from": "twice", "to": "head"}]}}
    path = folder / "coded.json"
    path.write_text(json.dumps(data))
    return path


def painted_text(item) -> tuple[str, str]:
    """What the node's body shows, as its paint code computes it."""
    from torchloom.gui.units.code_status import code_status

    status = code_status(item.node, item.errors)
    return status if status is not None else (item.shape_text, item.params_text)


def test_untrusted_code_block_disables_train_until_trusted(window, tmp_path):
    asked: list[list[Path]] = []
    window.ask_trust = lambda files: asked.append(files) or False  # "Not now"
    assert window.open_path(code_project(tmp_path))
    settle()
    assert asked == [[tmp_path / "net_code.py"]]
    item = window.scene.node_items["twice"]
    assert painted_text(item) == ("not trusted", "net_code.py")
    assert len(window.scene.node_items) == 3 and len(window.scene.edge_items) == 2
    assert not window.act_train.isEnabled()
    assert not window.training_panel.train_button.isEnabled()
    assert "not trusted" in window.act_train.toolTip() and "net_code.py" in \
        window.act_train.toolTip()
    assert "Trust code files" in window.training_panel.train_button.toolTip()
    window.grab().save("/tmp/units_untrusted_code.png")

    window.ask_trust = lambda files: True
    window.act_trust.trigger()
    settle()
    assert window.document.analysis.ok
    assert painted_text(item)[0] == "N×64"
    assert window.act_train.isEnabled() and window.training_panel.train_button.isEnabled()
    assert "not trusted" not in window.act_train.toolTip()


def test_trust_is_remembered_per_file_hash(window, tmp_path):
    from torchloom.engine import codefiles

    window.ask_trust = lambda files: True
    path = code_project(tmp_path)
    assert window.open_path(path)
    settle()
    assert window.act_train.isEnabled()
    codefiles.forget_session_trust()  # a new session: only the remembered hashes count
    asked: list[list[Path]] = []
    window.ask_trust = lambda files: asked.append(files) or False
    assert window.open_path(path, confirmed=True)
    settle()
    assert asked == [] and window.act_train.isEnabled()
    (tmp_path / "net_code.py").write_text(GOOD + "\n# changed\n")  # new content: asked again
    assert window.open_path(path, confirmed=True)
    settle()
    assert asked == [[tmp_path / "net_code.py"]] and not window.act_train.isEnabled()


def test_syntax_error_shows_on_the_block_with_file_and_line(window, tmp_path):
    window.ask_trust = lambda files: True
    assert window.open_path(code_project(tmp_path, SYNTAX))
    settle()
    item = window.scene.node_items["twice"]
    headline, where = painted_text(item)
    assert "syntax error" in headline and where == "net_code.py line 5"
    assert "net_code.py:5" in item.toolTip()
    assert item.severity == "error"
    assert window.isVisible()  # the app carries on
    window.view.fit()
    window.grab().save("/tmp/units_code_syntax_error.png")


RAISES = ("from torch import nn\n\n\nclass Twice(nn.Module):\n"
          "    def forward(self, x):\n        raise ValueError('boom in forward')\n")


def test_an_exception_in_forward_shows_on_the_block_and_the_app_carries_on(window, tmp_path):
    window.ask_trust = lambda files: True
    assert window.open_path(code_project(tmp_path, RAISES))
    settle()
    item = window.scene.node_items["twice"]
    headline, where = painted_text(item)
    assert headline == "ValueError: boom in forward"
    assert where == "in forward, net_code.py line 6"
    assert item.severity == "error" and "net_code.py:6" in item.toolTip()
    window.view.fit()
    window.grab().save("/tmp/units_code_forward_error.png")


def test_a_code_block_inside_a_unit_needs_trust_too(window, tmp_path):
    (tmp_path / "net_code.py").write_text(GOOD)
    data = {"format": "torchloom-project", "version": 1, "name": "wrapped",
            "units": {"Wrap": {
                "nodes": [{"id": "x", "type": "Input", "params": {"shape": [64]}},
                          {"id": "twice", "type": "Code",
                           "params": {"file": "net_code.py", "class_name": "Twice"}}],
                "edges": [{"from": "x", "to": "twice"}],
                "inputs": [{"name": "in", "node": "x"}],
                "outputs": [{"name": "out", "node": "twice"}]}},
            "graph": {"nodes": [
                {"id": "input", "type": "Input", "params": {"shape": [64]}},
                {"id": "wrap", "type": "unit:Wrap"},
                {"id": "head", "type": "Linear", "params": {"out_features": 10}}],
                "edges": [{"from": "input", "to": "wrap"}, {"from": "wrap", "to": "head"}]}}
    path = tmp_path / "wrapped.json"
    path.write_text(json.dumps(data))
    asked: list[list[Path]] = []
    window.ask_trust = lambda files: asked.append(files) or False
    assert window.open_path(path)
    settle()
    assert asked == [[tmp_path / "net_code.py"]]
    assert not window.act_train.isEnabled()
    assert window.open_unit("wrap")
    settle()
    assert painted_text(window.scene.node_items["twice"]) == ("not trusted", "net_code.py")
    window.ask_trust = lambda files: True
    window.act_trust.trigger()
    settle()
    assert window.act_train.isEnabled() and window.document.analysis.ok
