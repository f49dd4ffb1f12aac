"""An import never replaces files silently: the project, its weights and its code file
beside it are the person's work until they pass --force (``force=True``)."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.cli import main
from torchloom.engine.errors import ModelImportError
from torchloom.engine.importer import import_module, import_to_project

from .helpers import write_model

#: A tiny model whose file leaves a mark when it runs: the refusal must come before that.
BODY = ("from pathlib import Path\n\nPath(__file__).with_name('ran.txt').write_text('ran')\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
        "        return self.fc(x)\n")


@pytest.fixture
def net(tmp_path):
    return f"{write_model(tmp_path, BODY, 'net.py')}:Net"


@pytest.mark.parametrize("existing", ["net.json", "net.safetensors", "net_code.py"])
def test_an_existing_file_is_kept_and_named_and_nothing_runs(tmp_path, net, existing):
    kept = tmp_path / existing
    kept.write_text("mine")
    with pytest.raises(ModelImportError) as info:
        import_module(net, tmp_path / "net.json", input_shapes=[[4]])
    assert info.value.describe() == (f"{kept} already exists: pass --force to replace it, "
                                     "or choose another -o name")
    assert kept.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["net.py", existing])


def test_every_existing_file_is_named(tmp_path, net):
    for name in ("net.json", "net.safetensors", "net_code.py"):
        (tmp_path / name).write_text("mine")
    with pytest.raises(ModelImportError, match="pass --force to replace them") as info:
        import_to_project(net, tmp_path / "net.json", input_shape=[4])
    assert (f"{tmp_path / 'net.json'}, {tmp_path / 'net.safetensors'} and "
            f"{tmp_path / 'net_code.py'} already exist") in info.value.message


def test_force_replaces_them(tmp_path, net):
    (tmp_path / "net.json").write_text("mine")
    (tmp_path / "net.safetensors").write_text("mine")
    result = import_to_project(net, tmp_path / "net.json", input_shape=[4], force=True)
    assert result.ok and result.project.weights == "net.safetensors"
    assert json.loads((tmp_path / "net.json").read_text())["weights"] == "net.safetensors"
    assert (tmp_path / "net.safetensors").read_bytes() != b"mine"


def test_a_pt2_import_writes_no_code_file_so_one_there_does_not_matter(tmp_path):
    (tmp_path / "m_code.py").write_text("mine")
    with pytest.raises(ModelImportError, match="no such file"):  # got past the check
        import_module(tmp_path / "m.pt2", tmp_path / "m.json")
    (tmp_path / "m.safetensors").write_text("mine")
    with pytest.raises(ModelImportError, match="m.safetensors already exists"):
        import_module(tmp_path / "m.pt2", tmp_path / "m.json")


def test_the_command_refuses_the_second_import_until_force(capsys, tmp_path, net):
    argv = ["import", net, "-o", str(tmp_path / "net.json"), "--input-shape", "4"]
    assert main(argv) == 0
    (tmp_path / "ran.txt").unlink()
    capsys.readouterr()
    assert main([*argv, "--json"]) == 2
    out, err = capsys.readouterr()
    message = json.loads(out)["error"]["message"]
    assert message.endswith("already exist: pass --force to replace them, or choose another "
                            "-o name")
    assert str(tmp_path / "net.safetensors") in message and err == f"error: {message}\n"
    assert not (tmp_path / "ran.txt").exists()  # refused before the file ran
    assert main([*argv, "--force"]) == 0
    assert (tmp_path / "ran.txt").exists()
