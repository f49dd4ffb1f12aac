"""What an import writes, and what it refuses to write: extra forward arguments, a model
that prints, a failed import that leaves nothing behind, and the files beside the model
that its Code nodes need."""

from __future__ import annotations

import json
import sys

import pytest

from torchloom.engine.cli import main
from torchloom.engine.importer import import_module

from .helpers import source, write_model

LINEAR = ("class {name}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, {args}):\n"
          "        return self.fc(x)\n")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


# ---- extra forward arguments -------------------------------------------------------------


def test_an_argument_with_a_default_is_left_at_it(tmp_path):
    path = write_model(tmp_path, LINEAR.format(name="Rnnish", args="x, hidden=None, scale=2"))
    result = import_module(f"{path}:Rnnish", tmp_path / "r.json", input_shapes=[[4]])
    assert [n.type for n in result.project.graph.nodes] == ["Input", "Linear"]
    assert result.ok


def test_an_argument_without_a_default_is_named_with_the_wrapper_to_write(capsys, tmp_path):
    path = write_model(tmp_path, LINEAR.format(name="Needs", args="x, hidden"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, err = run(capsys, "import", f"{path}:Needs", "-o", str(out_dir / "n.json"),
                         "--input-shape", "4", "--json")
    assert code == 2  # as docs/cli.md says for a source that cannot be run
    error = json.loads(out)["error"]
    assert "Needs.forward needs the argument 'hidden'" in error["message"]
    assert "wrapper" in error["message"] and "self.model(x, hidden=...)" in error["message"]
    assert error["file"] == str(path) and error["line"] == 11  # the forward's def line
    assert "Traceback" not in err
    assert _files(out_dir) == []


# ---- a model that prints -------------------------------------------------------------------


def test_what_the_model_prints_is_a_note_and_json_stays_one_object(capsys, tmp_path):
    body = ("import sys\n\n\nclass Loud(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        print('building Loud, 2 layers')\n"
            "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
            "        print('shape', tuple(x.shape))\n"
            "        print('careful', file=sys.stderr)\n        return self.fc(x)\n")
    path = write_model(tmp_path, body)
    code, out, err = run(capsys, "import", f"{path}:Loud", "-o", str(tmp_path / "l.json"),
                         "--input-shape", "4", "--json")
    assert code == 0, err
    data = json.loads(out)  # stdout is the JSON object and nothing else
    notes = " ".join(data["notes"])
    assert "building Loud, 2 layers" in notes and "to stdout" in notes
    assert "careful" in notes and "to stderr" in notes
    assert "careful" not in err


# ---- a failed import leaves nothing behind -------------------------------------------------


#: A model whose import has graph errors (exit 1): a nested tuple is no canvas output.
PAIR = ("class Pair(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
        "        return self.fc(x), (x, x)\n")


def test_exit_1_writes_no_project_code_or_weights(capsys, tmp_path):
    path = write_model(tmp_path, PAIR)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, _ = run(capsys, "import", f"{path}:Pair", "-o", str(out_dir / "p.json"),
                       "--input-shape", "4", "--json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["files"] == []
    assert any("nothing was written" in n for n in data["notes"])
    assert _files(out_dir) == []


def test_exit_1_with_force_puts_the_old_files_back(capsys, tmp_path):
    good = write_model(tmp_path, LINEAR.format(name="Good", args="x"), "good.py")
    bad = write_model(tmp_path, PAIR, "bad.py")
    out = tmp_path / "m.json"
    assert run(capsys, "import", f"{good}:Good", "-o", str(out), "--input-shape", "4")[0] == 0
    before = {p.name: p.read_bytes() for p in tmp_path.glob("m*")}
    assert sorted(before) == ["m.json", "m.safetensors"]
    code, _, _ = run(capsys, "import", f"{bad}:Pair", "-o", str(out), "--input-shape", "4",
                     "--force")
    assert code == 1
    assert {p.name: p.read_bytes() for p in tmp_path.glob("m*")} == before
    assert not list(tmp_path.glob(".m*"))  # no file set aside is left either


@pytest.mark.parametrize("fail_at", ["save_project", "save_weights"])
def test_a_write_that_fails_late_removes_the_files_written_before(tmp_path, monkeypatch,
                                                                    fail_at):
    """The code file is written first, then the weights, then the project: a failure at
    either later step leaves none of them."""
    from torchloom.engine.importer import pipeline

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, fail_at, broken)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(OSError):
        import_module(source("untraceable:GatedNet"), out_dir / "g.json",
                      input_shapes=[[1, 8, 8]])
    assert _files(out_dir) == []


def test_exit_2_after_the_code_file_was_written_leaves_nothing(capsys, tmp_path):
    """A sibling that cannot be carried is found only once the code file is written."""
    src, out_dir = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out_dir.mkdir()
    _sibling_model(src)
    (out_dir / "layers.py").write_text("# someone else's layers\n")
    code, _, err = run(capsys, "import", f"{src / 'train.py'}:Wrapper", "-o",
                       str(out_dir / "w.json"), "--input-shape", "4")
    assert code == 2
    assert "a different layers.py is there already" in err
    assert _files(out_dir) == ["layers.py"]
    assert (out_dir / "layers.py").read_text() == "# someone else's layers\n"


# ---- files beside the model -----------------------------------------------------------------


def _sibling_model(folder):
    """train.py imports model.py, whose class derives from a base class in layers.py."""
    (folder / "layers.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Base(nn.Module):\n"
        "    def gate(self, x):\n        return x * torch.sigmoid(x) if x.sum() > 0 else x\n")
    (folder / "model.py").write_text(
        "from torch import nn\nfrom layers import Base\n\n\nclass GPT(Base):\n"
        "    def __init__(self, n=4):\n        super().__init__()\n"
        "        self.fc = nn.Linear(n, n)\n\n    def forward(self, x):\n"
        "        return self.gate(self.fc(x))\n")
    (folder / "train.py").write_text(
        "from torch import nn\nfrom model import GPT\n\n\nclass Wrapper(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.gpt = GPT(4)\n"
        "        self.head = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
        "        return self.head(self.gpt(x))\n")


def test_sibling_files_travel_with_the_code_file_and_the_project_checks(capsys, tmp_path):
    src, out_dir = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    out_dir.mkdir()
    _sibling_model(src)
    code, out, err = run(capsys, "import", f"{src / 'train.py'}:Wrapper", "-o",
                         str(out_dir / "w.json"), "--input-shape", "4", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["code_nodes"] == ["gpt"]
    assert str(out_dir / "layers.py") in data["files"]
    assert (out_dir / "layers.py").read_bytes() == (src / "layers.py").read_bytes()
    for name in ("layers", "model"):  # what the import loaded must not make check pass
        sys.modules.pop(name, None)
    code, out, err = run(capsys, "check", str(out_dir / "w.json"))
    assert code == 0, out + err


def test_a_package_folder_beside_the_model_is_refused_plainly(capsys, tmp_path):
    src, out_dir = tmp_path / "src", tmp_path / "out"
    (src / "mypkg").mkdir(parents=True)
    out_dir.mkdir()
    (src / "mypkg" / "__init__.py").write_text(
        "import torch\nfrom torch import nn\n\n\nclass Gate(nn.Module):\n"
        "    def forward(self, x):\n        return x * 2 if x.sum() > 0 else x\n")
    (src / "net.py").write_text(
        "from torch import nn\nfrom mypkg import Gate\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.gate = Gate()\n"
        "        self.fc = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
        "        return self.fc(self.gate(x))\n")
    code, _, err = run(capsys, "import", f"{src / 'net.py'}:Net", "-o",
                       str(out_dir / "n.json"), "--input-shape", "4")
    assert code == 2
    assert "package folder 'mypkg'" in err and "Traceback" not in err
    assert _files(out_dir) == []
    sys.modules.pop("mypkg", None)


def test_two_folders_each_with_a_model_py_each_read_their_own(tmp_path):
    """`from model import Net` in a second project's file must read that project's
    model.py, not the one an earlier import (in the same app session) left loaded."""
    from torchloom.engine.importer.source import load_model

    for name, width in (("a", 3), ("b", 5)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "model.py").write_text(
            "from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            f"        super().__init__()\n        self.fc = nn.Linear(4, {width})\n\n"
            "    def forward(self, x):\n        return self.fc(x)\n")
        (folder / "train.py").write_text("from model import Net  # noqa: F401\n")
    first = load_model(f"{tmp_path / 'a' / 'train.py'}:Net")
    second = load_model(f"{tmp_path / 'b' / 'train.py'}:Net")
    assert first.module.fc.out_features == 3
    assert second.module.fc.out_features == 5
