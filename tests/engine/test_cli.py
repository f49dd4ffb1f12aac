"""`torchloom summary|check`: output, --json shape and exit codes, as scripts rely on them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from torchloom.engine.cli import main

from .builders import edge, write_project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
CNN = str(EXAMPLES / "mnist_cnn.json")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_summary_table(capsys):
    code, out, _ = run(capsys, "summary", CNN)
    assert code == 0
    lines = out.splitlines()
    assert "\\u000a" not in out  # every row on its own line, none escaped into one
    assert any(line.startswith("conv1    Conv2d     [N, 32, 26, 26]      320") for line in lines)
    assert any(line.startswith("total params 225,034 (trainable 225,034)") for line in lines)


def test_summary_json_contract(capsys):
    code, out, _ = run(capsys, "summary", CNN, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total_params"] == 225_034 and data["trainable_params"] == 225_034
    assert isinstance(data["flops"], int) and data["flops"] > 5_000_000
    assert data["errors"] == []
    conv1 = next(n for n in data["nodes"] if n["id"] == "conv1")
    assert conv1 == {"id": "conv1", "type": "Conv2d", "output_shape": ["N", 32, 26, 26],
                     "dtype": "float32", "params": 320, "flops": conv1["flops"]}
    assert {"id", "type", "output_shape", "params"} <= set(data["nodes"][0])


def graph_error_file(tmp_path):
    return write_project(tmp_path, "bad.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [1, 28, 28]}},
                          {"id": "flat", "type": "Flatten"},
                          {"id": "conv2", "type": "Conv2d"}],
                         [edge("x", "flat"), edge("flat", "conv2")])


def test_summary_graph_errors_exit_1_one_line_each(capsys, tmp_path):
    code, out, _ = run(capsys, "summary", str(graph_error_file(tmp_path)))
    assert code == 1
    assert ("node conv2 (Conv2d): expects [N, C, H, W] input but gets [N, 784]: remove the "
            "Flatten (flat) before it") in out.splitlines()


def test_summary_json_with_errors(capsys, tmp_path):
    code, out, _ = run(capsys, "summary", str(graph_error_file(tmp_path)), "--json")
    data = json.loads(out)
    assert code == 1
    assert data["errors"][0]["node"] == "conv2" and "Flatten" in data["errors"][0]["message"]
    assert data["errors"][0]["fix"] == {"action": "remove", "node": "flat"}


@pytest.mark.parametrize("content", [b'{"format": "torchloom-project"', b"\x00\x01binary",
                                     None])
def test_summary_unreadable_file_exits_2_with_one_line(capsys, tmp_path, content):
    path = tmp_path / "p.json"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "summary", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(path) in err
    assert "Traceback" not in err


def test_check_many_files_one_line_each(capsys, tmp_path):
    bad = graph_error_file(tmp_path)
    missing = tmp_path / "missing.json"
    files = sorted(str(p) for p in EXAMPLES.glob("*.json"))
    code, out, _ = run(capsys, "check", *files, str(bad), str(missing))
    lines = out.strip().splitlines()
    assert code == 1 and len(lines) == len(files) + 2
    assert all(line.endswith(": ok") for line in lines[:len(files)])
    assert lines[-2].startswith(f"{bad}: node conv2 (Conv2d):")
    assert lines[-1] == f"{missing}: no such file"


def test_check_all_good_exits_0_and_json(capsys):
    code, out, _ = run(capsys, "check", CNN, "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "files": [
        {"file": CNN, "ok": True, "task": "classify", "errors": []}]}


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["summary"])
    assert info.value.code == 2


def test_installed_command_runs():
    exe = shutil.which("torchloom", path=str(Path(sys.executable).parent))
    assert exe, "pip install should give a torchloom command"
    done = subprocess.run([exe, "summary", CNN, "--json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_params"] == 225_034


def test_code_blocks_run_only_with_trust_code(tmp_path, capsys):
    (tmp_path / "m_code.py").write_text(
        "from torch import nn\n\nclass Twice(nn.Module):\n    def forward(self, x):\n"
        "        return 2 * x\n")
    data = {"format": "torchloom-project", "version": 1, "graph": {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                  {"id": "two", "type": "Code",
                   "params": {"file": "m_code.py", "class_name": "Twice"}}],
        "edges": [{"from": "x", "to": "two"}]}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    assert main(["summary", str(path)]) == 1
    assert "--trust-code" in capsys.readouterr().out
    assert main(["summary", str(path), "--trust-code"]) == 0
    assert "[N, 4]" in capsys.readouterr().out


def test_control_characters_in_ids_never_reach_the_terminal(tmp_path, capsys):
    """An id is text from someone's file: an escape sequence in it would clear the person's
    screen or fake a line of output. Every human-readable line is escaped."""
    nasty = "fc\x1b[2J\nfake: all good\x07"
    path = write_project(tmp_path, "nasty.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                          {"id": nasty, "type": "Linear", "params": {"out_features": 2}}],
                         [edge("x", nasty)])
    for command in ("summary", "check"):
        main([command, str(path)])
        out, err = capsys.readouterr()
        assert "\x1b" not in out + err and "\x07" not in out + err, command
        assert "\nfake: all good" not in out + err, command
        if command == "summary":  # check names only nodes with problems
            assert "\\u001b[2J" in out, out  # shown, escaped, not dropped


def test_a_closed_stdout_does_not_fail_the_run(tmp_path):
    """`torchloom train ... | head -1`: the reader leaves after the first line. The run was
    recorded as failed ("saving the checkpoint failed: Broken pipe") though nothing was wrong
    with it; output errors must never fail training."""
    shutil.copy(EXAMPLES / "mlp_digits.json", tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "torchloom.engine.cli", "train",
                             str(tmp_path / "mlp_digits.json"), "--epochs", "3", "--out",
                             str(tmp_path / "run")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().startswith(b"training ")
    proc.stdout.close()  # what head does after its line; the epochs are still to come
    _, err = proc.communicate(timeout=300)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "finished", (info, err)
    assert proc.returncode == 0 and b"Broken pipe" not in err, err


def test_json_output_escapes_what_a_terminal_would_run(tmp_path, capsys):
    """JSON escapes C0 controls itself, but with non-ASCII kept readable it writes C1 ones
    (``\\x9b`` is a CSI on many terminals) and line separators raw. Every --json line is
    escaped too, and still reads back as the same object."""
    nasty = "fc\x9b2J\u2028x"
    path = write_project(tmp_path, "nasty.json",
                         [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                          {"id": nasty, "type": "Conv2d", "params": {"out_channels": 2}}],
                         [edge("x", nasty)])
    code = main(["export", str(path), "-f", "onnx", "-o", str(tmp_path / "m.onnx"), "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "\x9b" not in out + err and "\u2028" not in out + err
    assert json.loads(out)["error"]["errors"][0]["node"] == nasty


def test_argparse_messages_are_escaped(capsys):
    with pytest.raises(SystemExit) as done:
        main(["check", "a.json", "--bogus\x1b[2J"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "--bogus\\u001b[2J" in err


def test_generated_text_keeps_its_line_breaks_and_nothing_else():
    from torchloom.engine.cli.output import printable

    assert printable("to be\nor not\x1b[31m") == "to be\nor not\\u001b[31m"


@pytest.mark.parametrize("argv", [
    ["export", CNN, "-f", "torchrun", "-o", ""],
    ["export", CNN, "-f", "python", "-o", " "],
    ["check", ""],
    ["train", CNN, "--out", ""],
])
def test_an_empty_path_is_a_bad_argument_not_the_current_folder(tmp_path, monkeypatch, capsys,
                                                                argv):
    """`-o ""` (a shell variable that was not set) is "." to Python: the torchrun export
    wrote its script, model and data into the current folder."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "is empty: name a file or folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
