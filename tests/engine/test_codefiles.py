"""A Code block naming a file outside the project's folder (`../../x.py`, an absolute path)
is said with its full path, and --trust-code does not run it: only --trust-code-file does,
named one by one. A project that arrived must not get a file the person never looked at run
by "trust this project's code"."""

from __future__ import annotations

import json
import os

import pytest

from torchloom.engine.cli import main
from torchloom.engine.codefiles import outside_project

#: Running the file leaves a mark, so a test sees whether it ran (and not just what it said).
SOURCE = ("import pathlib\nfrom torch import nn\n\npathlib.Path(__file__).with_suffix('.ran')"
          ".write_text('ran')\n\nclass Twice(nn.Module):\n    def forward(self, x):\n"
          "        return 2 * x\n")


def _project(folder, file):
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": "torchloom-project", "version": 1, "name": "m", "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "two", "type": "Code",
                   "params": {"file": str(file), "class_name": "Twice"}}],
        "edges": [{"from": "x", "to": "two"}]}}
    path = folder / "m.json"
    path.write_text(json.dumps(data))
    return path


def _elsewhere(tmp_path):
    code = tmp_path / "elsewhere" / "evil.py"
    code.parent.mkdir()
    code.write_text(SOURCE)
    return code


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_trust_code_does_not_run_a_file_outside_the_project(tmp_path, capsys, how):
    code = _elsewhere(tmp_path)
    named = "../../elsewhere/evil.py" if how == "relative" else str(code)
    project = _project(tmp_path / "proj" / "inner", named)
    assert main(["check", str(project), "--trust-code"]) == 1
    out, _ = capsys.readouterr()
    assert str(code.resolve()) in out, out  # the full path, not "evil.py"
    assert "outside the project's folder" in out and "--trust-code-file" in out
    assert not code.with_suffix(".ran").exists()  # nothing from it ran


def test_trust_code_file_runs_that_file(tmp_path, capsys):
    code = _elsewhere(tmp_path)
    project = _project(tmp_path / "proj", "../elsewhere/evil.py")
    assert main(["summary", str(project), "--trust-code-file", str(code)]) == 0
    assert "[N, 4]" in capsys.readouterr().out
    assert code.with_suffix(".ran").exists()


def test_trust_code_still_runs_the_files_inside_the_project(tmp_path, capsys):
    project = _project(tmp_path / "proj", "net.py")
    (tmp_path / "proj" / "net.py").write_text(SOURCE)
    assert main(["check", str(project), "--trust-code"]) == 0, capsys.readouterr()


def test_a_trust_code_file_that_is_not_there_is_a_bad_argument(tmp_path, capsys):
    project = _project(tmp_path / "proj", "net.py")
    assert main(["check", str(project), "--trust-code-file", str(tmp_path / "nope.py")]) == 2
    err = capsys.readouterr().err
    assert "nope.py" in err and "Traceback" not in err


def test_an_untrusted_file_outside_says_its_full_path_without_trust_code(tmp_path, capsys):
    project = _project(tmp_path / "proj", "/etc/passwd" if os.path.exists("/etc/passwd")
                       else str(_elsewhere(tmp_path)))
    assert main(["check", str(project)]) == 1
    out = capsys.readouterr().out
    assert "not trusted: /" in out and "outside the project's folder" in out, out


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links here")
def test_a_link_inside_the_folder_to_a_file_outside_counts_as_outside(tmp_path):
    code = _elsewhere(tmp_path)
    (tmp_path / "proj").mkdir()
    os.symlink(code, tmp_path / "proj" / "net.py")
    assert outside_project(tmp_path / "proj" / "net.py", tmp_path / "proj")
    assert not outside_project(tmp_path / "proj" / "sub" / "x.py", tmp_path / "proj")
    assert not outside_project(code, None)  # an unsaved project has no outside
