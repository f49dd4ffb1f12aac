"""Issue 11's Code-block promises, at the engine level: no trust, no run (CLI included);
errors in a person's code carry the file and line, on the node (also inside a unit)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from torchloom.engine import codefiles
from torchloom.engine.cli import main
from torchloom.engine.compile import compile_graph
from torchloom.engine.errors import CodeError
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer
from torchloom.engine.units import UnitInnerError

GOOD = ("import torch\nfrom torch import nn\n\n\nclass Twice(nn.Module):\n"
        "    def forward(self, x):\n        return 2 * x\n")
SYNTAX = "from torch import nn\n\nclass Twice(nn.Module)\n    pass\n"
RAISES = ("from torch import nn\n\n\nclass Twice(nn.Module):\n    def forward(self, x):\n"
          "        y = x + 1\n        raise ValueError('my own mistake')\n")


def _project(tmp_path: Path, source: str, in_unit: bool = False) -> Path:
    (tmp_path / "m_code.py").write_text(source)
    code = {"id": "two", "type": "Code", "params": {"file": "m_code.py", "class_name": "Twice"}}
    data: dict = {"format": "torchloom-project", "version": 1}
    if in_unit:
        data["graph"] = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                                   {"id": "u", "type": "unit:Scale"}],
                         "edges": [{"from": "x", "to": "u"}]}
        data["units"] = {"Scale": {
            "nodes": [{"id": "i", "type": "Input", "params": {"shape": [4]}}, code],
            "edges": [{"from": "i", "to": "two"}],
            "inputs": [{"name": "in", "node": "i"}], "outputs": [{"name": "out", "node": "two"}]}}
    else:
        data["graph"] = {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}}, code],
                         "edges": [{"from": "x", "to": "two"}]}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    return path


def test_the_cli_refuses_code_inside_a_unit_without_trust_code(tmp_path, capsys):
    path = _project(tmp_path, GOOD, in_unit=True)
    project = load_project(path)
    assert codefiles.untrusted_files(project.graph) == [tmp_path / "m_code.py"]
    assert main(["summary", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not trusted" in out and "--trust-code" in out
    assert main(["summary", str(path), "--trust-code"]) == 0
    assert "[N, 4]" in capsys.readouterr().out


def test_trusted_code_runs_inside_a_unit(tmp_path):
    path = _project(tmp_path, GOOD, in_unit=True)
    codefiles.trust_file(tmp_path / "m_code.py", remember=False)
    gm = compile_graph(load_project(path).graph)
    assert torch.equal(gm(torch.ones(2, 4)), 2 * torch.ones(2, 4))


def test_a_syntax_error_is_on_the_node_with_file_and_line(tmp_path):
    path = _project(tmp_path, SYNTAX)
    codefiles.trust_file(tmp_path / "m_code.py", remember=False)
    [error] = infer(load_project(path).graph).errors
    assert isinstance(error, CodeError) and error.node == "two"
    assert error.path.endswith("m_code.py") and error.line == 3
    assert "m_code.py:3: has a syntax error" in error.message
    assert error.to_dict()["line"] == 3


def test_an_exception_in_forward_is_on_the_node_with_file_and_line(tmp_path):
    path = _project(tmp_path, RAISES)
    codefiles.trust_file(tmp_path / "m_code.py", remember=False)
    [error] = infer(load_project(path).graph).errors
    assert isinstance(error, CodeError) and error.node == "two"
    assert error.line == 7 and Path(error.path).name == "m_code.py"
    assert error.message == "m_code.py:7: forward raised ValueError: my own mistake"


def test_an_error_in_code_inside_a_unit_names_the_unit_the_node_and_the_line(tmp_path):
    path = _project(tmp_path, RAISES, in_unit=True)
    codefiles.trust_file(tmp_path / "m_code.py", remember=False)
    [error] = infer(load_project(path).graph).errors
    assert isinstance(error, UnitInnerError) and error.node == "u"
    assert error.inner_node == "two" and isinstance(error.inner, CodeError)
    assert error.inner.line == 7
    assert "in unit Scale: node two (Code): m_code.py:7: forward raised" in error.message
