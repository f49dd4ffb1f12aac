"""`torchloom import`: the report, --json, and exit codes scripts rely on."""

from __future__ import annotations

import json

from torchloom.engine.cli import main

from .helpers import source, write_model


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_the_report(capsys, tmp_path):
    out_file = tmp_path / "cnn.json"
    code, out, err = run(capsys, "import", source("mnist_cnn:Net"), "-o", str(out_file),
                         "--input-shape", "1,28,28", "--kwargs", '{"num_classes": 7}')
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "imported Net: 12 nodes, 11 mapped to blocks, 0 code node(s)"
    assert "parameters: 1,199,495 in the module, 1,199,495 on the canvas (same)" in lines
    assert "check: outputs identical (max abs difference 0)" in lines
    assert f"wrote {out_file}" in lines
    assert (tmp_path / "cnn.safetensors").is_file()


def test_json_output_is_one_object(capsys, tmp_path):
    code, out, _ = run(capsys, "import", source("untraceable:GatedNet"), "-o",
                       str(tmp_path / "g.json"), "--input-shape", "1x8x8", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["outputs_identical"] is True
    assert data["code_nodes"] == ["gate"]  # x * torch.sigmoid(x) is a Multiply block
    assert data["params_original"] == data["params_imported"] == 3466
    assert data["dataset"] == {"name": "digits"}
    assert str(tmp_path / "g_code.py") in data["files"]


def test_int_inputs(capsys, tmp_path):
    code, out, _ = run(capsys, "import", source("lstm_classifier:LSTMClassifier"), "-o",
                       str(tmp_path / "l.json"), "--input-shape", "32", "--input-dtype", "int64")
    assert code == 0 and "dataset: sequences (matches the input shape)" in out


def test_missing_input_shape_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "import", source("mnist_cnn:Net"), "-o", str(tmp_path / "x.json"))
    assert code == 2 and "--input-shape" in err
    assert not (tmp_path / "x.json").exists()


def test_syntax_error_exit_2_with_file_and_line(capsys, tmp_path):
    path = write_model(tmp_path, "class Net(nn.Module)\n    pass\n")
    code, out, err = run(capsys, "import", f"{path}:Net", "-o", str(tmp_path / "x.json"),
                         "--input-shape", "4", "--json")
    assert code == 2
    assert json.loads(out)["error"] == {"message": "has a syntax error: expected ':'",
                                        "file": str(path), "line": 6}
    assert f"{path}:6: has a syntax error" in err


def test_graph_left_with_errors_exits_1(capsys, tmp_path):
    path = write_model(tmp_path, "class Pair(nn.Module):\n    def forward(self, x):\n"
                                 "        return x.sum(1), (x, x)\n")
    code, out, _ = run(capsys, "import", f"{path}:Pair", "-o", str(tmp_path / "x.json"),
                       "--input-shape", "4")
    assert code == 1
    assert any(line.startswith("error: node model (Code)") for line in out.splitlines())


def test_bad_kwargs_and_shapes_are_usage_errors(capsys, tmp_path):
    for extra in (["--kwargs", "{oops"], ["--kwargs", "[1]"], ["--input-shape", "1,0"]):
        try:
            main(["import", source("mnist_cnn:Net"), "-o", str(tmp_path / "x.json"),
                  "--input-shape", "1,28,28", *extra])
        except SystemExit as exc:
            assert exc.code == 2
        else:  # pragma: no cover - argparse exits
            raise AssertionError(extra)
    assert "--kwargs is not valid JSON" in capsys.readouterr().err


def test_help_says_importing_runs_the_file(capsys):
    try:
        main(["import", "--help"])
    except SystemExit:
        pass
    assert "Importing a .py file RUNS it" in capsys.readouterr().out


def test_a_full_disk_is_a_clear_message_and_exit_2_not_an_internal_error(
        capsys, tmp_path, monkeypatch):
    import errno
    import os

    def full(_fd):  # the disk fills while the files are flushed
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    code, out, err = run(capsys, "import", source("mnist_cnn:Net"), "-o",
                         str(tmp_path / "cnn.json"), "--input-shape", "1,28,28")
    assert code == 2, err
    assert "No space left on device" in err and "internal error" not in err
    assert not (tmp_path / "cnn.json").exists()


def test_a_read_only_folder_is_a_clear_message_and_exit_2(capsys, tmp_path, monkeypatch):
    """Errno 30 where the files go (tests may run as root, where chmod stops nothing: the
    folder's refusal is patched in where the files are created)."""
    import errno
    import tempfile

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    code, out, err = run(capsys, "import", source("mnist_cnn:Net"), "-o",
                         str(tmp_path / "cnn.json"), "--input-shape", "1,28,28", "--json")
    assert code == 2, err
    assert json.loads(out)["error"]["message"].endswith("cannot be written (Read-only file "
                                                        "system)")
    assert "internal error" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
