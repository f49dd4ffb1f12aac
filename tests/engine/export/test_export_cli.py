"""`torchloom export`: the lines it prints, --json, --weights, and the exit codes."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.cli import main
from torchloom.engine.errors import ExportError
from torchloom.engine.export import export_project, pt2_export
from torchloom.engine.resources import examples_dir

DIGITS = str(examples_dir() / "mlp_digits.json")


def export(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["export", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_onnx_prints_the_file_the_weights_and_the_check(capsys, tmp_path):
    out = tmp_path / "digits.onnx"
    code, stdout, err = export(capsys, DIGITS, "--format", "onnx", "-o", str(out))
    assert code == 0, err
    lines = stdout.splitlines()
    assert re.fullmatch(rf"wrote {re.escape(str(out))} \(\d+\.\d KiB\)", lines[0])
    assert lines[1] == "weights: fresh (seed 0)"
    assert re.fullmatch(r"verified: ONNX Runtime matches PyTorch, max difference \S+ on "
                        r"batches of 1 and 5", lines[2])
    assert float(lines[2].split("max difference ")[1].split()[0]) <= 1e-4
    assert err == ""  # no exporter chatter
    assert out.is_file()


def test_json_is_one_object_with_files_checks_and_weights(capsys, tmp_path):
    out = tmp_path / "digits.safetensors"
    code, stdout, _ = export(capsys, DIGITS, "-f", "safetensors", "-o", str(out), "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["ok"] is True and data["format"] == "safetensors"
    assert data["files"] == [str(out), str(tmp_path / "digits.json")]
    assert data["checks"]["tensors_equal"] is True
    assert data["weights"] == "fresh (seed 0)" and isinstance(data["notes"], list)


def test_weights_from_a_run_folder_are_exported(capsys, tmp_path, examples, make_run):
    run = make_run(examples.project("mlp_digits"), tmp_path / "run")
    norm = {"mean": [0.5] * 64, "std": [2.0] * 64, "shape": [1, 1, 64]}
    (run / "run.json").write_text(json.dumps({"data": {"normalization": norm}}))
    out = tmp_path / "trained.pt2"
    code, stdout, err = export(capsys, DIGITS, "-f", "pt2", "--weights", str(run),
                               "-o", str(out), "--json")
    assert code == 0, err
    data = json.loads(stdout)
    assert data["weights"] == f"run {run}"
    # training fed normalised inputs, so the exported model needs them too: it says how
    assert any("(x - mean) / std" in n and "[0.5, 0.5, 0.5, 0.5, ...]" in n
               for n in data["notes"])
    trained = load_file(run / "model.safetensors")
    program = torch.export.load(str(out))
    assert torch.equal(program.state_dict["fc1.weight"], trained["fc1.weight"])


def test_a_missing_project_exits_2(capsys, tmp_path):
    code, stdout, err = export(capsys, str(tmp_path / "nope.json"), "-f", "onnx",
                               "-o", str(tmp_path / "m.onnx"), "--json")
    assert code == 2
    assert json.loads(stdout)["ok"] is False
    assert err.startswith("error: ") and "no such file" in err
    assert list(tmp_path.iterdir()) == []


def test_weights_that_do_not_fit_exit_2(capsys, tmp_path, examples, make_run):
    run = make_run(examples.project("shapes_cnn"), tmp_path / "run")
    code, _, err = export(capsys, DIGITS, "-f", "onnx", "--weights", str(run),
                          "-o", str(tmp_path / "m.onnx"))
    assert code == 2 and "do not fit the graph" in err
    assert not (tmp_path / "m.onnx").exists()


def test_a_broken_graph_exits_1_naming_the_node(capsys, tmp_path):
    project = json.loads((examples_dir() / "mlp_digits.json").read_text())
    project["graph"]["nodes"][2]["type"] = "Linaer"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(project))
    node = project["graph"]["nodes"][2]["id"]
    code, stdout, err = export(capsys, str(path), "-f", "onnx", "-o", str(tmp_path / "m.onnx"),
                               "--json")
    assert code == 1
    error = json.loads(stdout)["error"]
    assert [e["node"] for e in error["errors"]] == [node]
    assert f"node {node}" in err
    assert not (tmp_path / "m.onnx").exists()


def test_an_export_that_does_not_verify_exits_1_and_writes_nothing(capsys, tmp_path,
                                                                    monkeypatch):
    real = pt2_export._runner

    def off_by_a_little(path):
        run = real(path)
        return lambda inputs: run(inputs) - 1e-3

    monkeypatch.setattr(pt2_export, "_runner", off_by_a_little)
    code, stdout, err = export(capsys, DIGITS, "-f", "pt2", "-o", str(tmp_path / "m.pt2"),
                               "--json")
    assert code == 1
    error = json.loads(stdout)["error"]
    assert error["format"] == "pt2" and "does not reproduce the model" in error["message"]
    assert "does not reproduce the model" in err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_format_is_a_command_line_error(capsys, tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["export", DIGITS, "-f", "tflite", "-o", str(tmp_path / "m.tflite")])
    assert info.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_a_folder_as_the_output_file_exits_2(capsys, tmp_path):
    code, _, err = export(capsys, DIGITS, "-f", "pt2", "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err


def test_a_code_block_runs_only_with_trust_code(capsys, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "act.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Act(nn.Module):\n"
        "    def forward(self, x):\n        return torch.tanh(x)\n")
    project = json.loads((examples_dir() / "mlp_digits.json").read_text())
    relu = next(n for n in project["graph"]["nodes"] if n["type"] == "ReLU")
    relu.update(type="Code", params={"file": "act.py", "class_name": "Act"})
    path = source / "coded.json"
    path.write_text(json.dumps(project))
    out = tmp_path / "coded.pt2"
    code, _, err = export(capsys, str(path), "-f", "pt2", "-o", str(out))
    assert code == 1 and "not trusted" in err and not out.exists()
    code, stdout, err = export(capsys, str(path), "-f", "pt2", "-o", str(out), "--trust-code")
    assert code == 0, err
    assert "verified: the reloaded program matches PyTorch" in stdout


def test_export_project_names_the_formats_it_knows(examples, tmp_path):
    with pytest.raises(ExportError, match="unknown format 'tflite': choose one of python, "
                                          "onnx, pt2, safetensors, torchrun"):
        export_project(examples.project("mlp_digits"), "tflite", tmp_path / "m.tflite")
    assert list(tmp_path.iterdir()) == []


def test_a_sidecar_that_would_replace_the_project_exits_2_and_keeps_it(capsys, tmp_path):
    project_file = tmp_path / "proj.json"
    project_file.write_bytes((examples_dir() / "mlp_digits.json").read_bytes())
    before = project_file.read_bytes()
    code, stdout, err = export(capsys, str(project_file), "-f", "safetensors",
                               "-o", str(tmp_path / "proj.safetensors"), "--json")
    assert code == 2
    assert "would replace your project" in json.loads(stdout)["error"]["message"]
    assert f"{project_file}" in err and "proj_weights.safetensors" in err
    assert project_file.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["proj.json"]


@pytest.mark.parametrize("fmt, target, says", [
    ("torchrun", "afile", "is a file: the torchrun export writes a folder"),
    ("onnx", "afile/x.onnx", "cannot create the folder"),
    ("python", "afile/model.py", "cannot create the folder"),
    ("safetensors", "m.json", "must not end in .json"),
])
def test_an_output_path_that_cannot_be_used_exits_2(capsys, tmp_path, fmt, target, says):
    """A bad -o is a bad argument (2), like a folder given as the output file, not a
    failed export (1)."""
    (tmp_path / "afile").write_text("not a folder")
    code, stdout, err = export(capsys, DIGITS, "-f", fmt, "-o", str(tmp_path / target),
                               "--json")
    assert code == 2, err
    error = json.loads(stdout)["error"]
    assert says in error["message"] and error["format"] == fmt and "file" in error
    assert err.count("error: ") == 1 and says in err
    assert [p.name for p in tmp_path.iterdir()] == ["afile"]
    assert (tmp_path / "afile").read_text() == "not a folder"


def test_weights_that_are_not_a_weights_file_name_the_file_once(capsys, tmp_path):
    bogus = tmp_path / "notes.txt"
    bogus.write_text("these are not weights")
    code, stdout, err = export(capsys, DIGITS, "-f", "onnx", "--weights", str(bogus),
                               "-o", str(tmp_path / "m.onnx"), "--json")
    assert code == 2
    assert err.count(str(bogus)) == 1, err
    assert err.startswith(f"error: {bogus}: onnx export: not a readable safetensors file")
    error = json.loads(stdout)["error"]
    assert error["file"] == str(bogus) and error["message"].count(str(bogus)) == 1
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_full_disk_exits_2_like_every_place_that_cannot_be_written(capsys, tmp_path,
                                                                    monkeypatch, fmt):
    """The disk is the problem, not the model: the code every "cannot write there" has,
    the file named, nothing left behind."""
    import errno
    from pathlib import Path

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if fmt == "onnx":
        monkeypatch.setattr(torch.onnx.ONNXProgram, "save", full)
    else:
        monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / f"model.{fmt}"
    code = main(["export", str(examples_dir() / "mlp_digits.json"), "-f", fmt, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "cannot write there (No space left on device)" in err and str(out) in err
    assert list(tmp_path.iterdir()) == []
