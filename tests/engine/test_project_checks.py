"""`check` names nonsense outside the graph instead of calling the project ok (issue 20)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from torchloom.engine.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def _variant(tmp_path: Path, change) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.json"
    shutil.copy(EXAMPLES / "mlp_digits.json", path)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _input_shape(shape):  # type: ignore[no-untyped-def]
    def change(data):  # type: ignore[no-untyped-def]
        next(n for n in data["graph"]["nodes"] if n["type"] == "Input")["params"]["shape"] = shape
    return change


@pytest.mark.parametrize("change, key, words", [
    (lambda d: d.update(dataset={"name": True}), "dataset.name", "no built-in dataset true"),
    # found by the fuzz soak: an object as the name was an internal error (unhashable dict)
    (lambda d: d.update(dataset={"name": {"a": 1}}), "dataset.name", "no built-in dataset"),
    (lambda d: d.update(dataset={"name": "mnist5k", "n": 50}), "dataset.n", "only applies"),
    (lambda d: d.update(dataset={"path": 7}), "dataset.path", "name of a file"),
    (lambda d: d["training"].update(val_split=0), "training.val_split", "needs a validation"),
    (lambda d: d["training"].update(early_stopping={"metric": "val_bogus"}),
     "training.early_stopping", "metric 'val_bogus' is not one this task reports"),
    (lambda d: d["training"].update(early_stopping={"patience": 0}),
     "training.early_stopping", "patience must be a whole number"),
    (lambda d: d["training"].update(device="tpu"), "training.device", "not a device name"),
    (lambda d: d["training"].update(device="cuda:x"), "training.device", "use cpu, cuda or"),
])
def test_a_bad_setting_is_an_error_naming_its_key(tmp_path, capsys, change, key, words):
    path = _variant(tmp_path, change)
    assert main(["check", str(path), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["files"][0]["errors"][0]
    assert error["key"] == key and words in error["message"], error
    assert main(["summary", str(path)]) == 1
    assert f"{key}: " in capsys.readouterr().out


def test_an_input_of_a_trillion_trillion_values_is_an_error_on_the_input(tmp_path, capsys):
    path = _variant(tmp_path, _input_shape([10**6, 10**6, 10**6]))
    assert main(["check", str(path), "--json"]) == 1
    error = json.loads(capsys.readouterr().out)["files"][0]["errors"][0]
    assert error["node"] == "x" and "values per sample" in error["message"], error


def test_a_gan_without_validation_may_have_val_split_0(tmp_path, capsys):
    path = tmp_path / "gan.json"
    data = json.loads((EXAMPLES / "gan_mnist.json").read_text())
    data.setdefault("training", {})["val_split"] = 0
    path.write_text(json.dumps(data))
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("change, key, words", [
    (lambda d: d["training"].update(epoch=5), "training.epoch",
     "is not a training setting (did you mean epochs?)"),
    (lambda d: d.update(dataset={"name": "digits", "path": "mine.npz"}), "dataset.path",
     "is ignored: the built-in dataset 'digits' is used"),
])
def test_a_key_that_does_nothing_is_a_warning_naming_it(tmp_path, capsys, change, key, words):
    """Kept in the file (old and newer files keep loading), still ok, but said: a typo in a
    setting's name silently trained with the default."""
    path = _variant(tmp_path, change)
    assert main(["check", str(path), "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["files"][0]
    assert entry["ok"] and entry["errors"] == []
    assert entry["warnings"][0]["key"] == key and words in entry["warnings"][0]["message"]
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: ok\n"  # one line per file on stdout, as before
    assert f"warning: {path}: {key}: {words}" in err


def test_a_device_this_machine_lacks_is_not_a_check_error(tmp_path, capsys):
    """Whether cuda:3 is there is the training machine's business, not the file's."""
    path = _variant(tmp_path, lambda d: d["training"].update(device="cuda:3"))
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


def test_a_gan_summary_names_the_file_keys_too(tmp_path, capsys):
    """summary printed a GAN's graph checks only: a dataset {"name": true} was exit 0."""
    path = tmp_path / "gan.json"
    data = json.loads((EXAMPLES / "gan_mnist.json").read_text())
    data["dataset"] = {"name": True}
    data.setdefault("training", {})["epoch"] = 3
    path.write_text(json.dumps(data))
    assert main(["summary", str(path)]) == 1
    out = capsys.readouterr().out
    assert "dataset.name: " in out
    assert "warning: training.epoch: is not a training setting (did you mean epochs?)" in out
    assert main(["summary", str(path), "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert [e["key"] for e in payload["errors"]] == ["dataset.name"]
    assert [w["key"] for w in payload["warnings"]] == ["training.epoch"]
