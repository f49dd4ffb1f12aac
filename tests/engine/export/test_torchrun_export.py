"""The `torchrun` export: a folder that trains the project with DDP, without Torchloom."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.errors import ExportError
from torchloom.engine.export.model import prepare_model
from torchloom.engine.export.torchrun_export import FILES, export_torchrun
from torchloom.engine.project import Project, load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.tasks import task_for
from torchloom.engine.tasks.prepare import prepare_training


from .conftest import EXAMPLES

#: The 2-process run must land within this much validation accuracy of Torchloom's own
#: single-process Trainer, both above FLOOR (chance is 0.1 on the ten digits).
BAND, FLOOR, EPOCHS = 0.05, 0.85, 5


def digits() -> Project:
    return load_project(examples_dir() / "mlp_digits.json")


def run_script(folder: Path, *args: str, procs: int = 1, timeout: float = 120
               ) -> tuple[dict, str]:
    """Run train.py in a clean subprocess; its final JSON line and all of its output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc-per-node={procs}"] if procs > 1 else [sys.executable])
    done = subprocess.run([*launcher, "train.py", "--device", "cpu", *args], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=timeout)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    last = [line for line in done.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last), done.stdout


def test_the_folder_holds_a_torch_only_script_the_model_and_the_prepared_data(tmp_path):
    project = digits()
    result = export_torchrun(project, tmp_path / "job")
    folder = tmp_path / "job"
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # nothing staged left
    assert result.files == [folder / name for name in FILES]
    assert result.checks["script_compiles"] and result.checks["outputs_identical"]

    script = (folder / "train.py").read_text()
    tree = ast.parse(script)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= {"__future__", "argparse", "ast", "gc", "json", "math", "os", "sys",
                        "time", "zipfile", "pathlib", "torch", "model", "safetensors"}
    assert '"epochs": 20,' in script and '"batch_size": 32,' in script  # project settings
    assert "DistributedSampler" in script and 'init_process_group("nccl" if' in script

    # the data is exactly what the Trainer trains on: split, fitted, normalised
    job = prepare_training(project, overrides={"device": "cpu"}, save=False)
    norm = job.split.normalization
    with np.load(folder / "data.npz", allow_pickle=False) as data:
        assert data["x_train"].dtype == np.float32 and data["y_train"].dtype == np.int64
        assert torch.equal(torch.from_numpy(data["x_train"]), norm.apply(job.split.train.x))
        assert torch.equal(torch.from_numpy(data["x_val"]), norm.apply(job.split.val.x))
        assert torch.equal(torch.from_numpy(data["y_val"]), job.split.val.y)
        assert list(data["classes"]) == job.split.full.classes
    # and training starts from the weights Torchloom would start from
    init = torch.load(folder / "init.pt", weights_only=True)
    start = job.model.state_dict()
    assert list(init) == list(start) and all(torch.equal(init[k], start[k]) for k in start)


def test_a_project_without_data_cannot_make_a_training_script(tmp_path):
    project = digits()
    project.dataset = None
    with pytest.raises(ExportError) as err:
        export_torchrun(project, tmp_path / "job")
    assert err.value.fmt == "torchrun" and "no dataset" in err.value.message
    assert not (tmp_path / "job").exists()


def test_one_plain_process_trains_and_leaves_a_checkpoint_torchloom_reads(tmp_path):
    project = digits()
    export_torchrun(project, tmp_path / "job")
    final, out = run_script(tmp_path / "job", "--epochs", "1", "--out", "ck",
                            "--resume", "ck/checkpoint.pt")  # not there yet: from the start
    assert "no checkpoint at ck/checkpoint.pt yet" in out
    assert final["world_size"] == 1 and final["val_acc"] > 0.5
    assert "epoch 1/1" in out and "1 process(es) on cpu, global batch 32" in out
    ck = tmp_path / "job" / "ck"
    state = torch.load(ck / "checkpoint.pt", weights_only=True)
    names = list(prepare_model(project).module.state_dict())
    assert list(state["model"]) == names and state["epoch"] == 1
    assert sorted(load_file(ck / "model.safetensors")) == sorted(names)
    # the weights go straight back into Torchloom
    back = prepare_model(project, weights=ck / "model.safetensors")
    assert torch.equal(back.module.state_dict()["fc2.weight"], state["model"]["fc2.weight"])


@pytest.mark.slow
def test_two_processes_reach_the_accuracy_of_single_process_training(tmp_path):
    project = digits()
    export_torchrun(project, tmp_path / "job")
    final, out = run_script(tmp_path / "job", "--epochs", str(EPOCHS), "--out", "ck", procs=2)
    assert final["world_size"] == 2 and final["epochs"] == EPOCHS
    assert "global batch 32 (16 per process)" in out
    assert out.count("samples/s") == EPOCHS  # rank 0 alone logs, once per epoch

    job = prepare_training(project, overrides={"epochs": EPOCHS, "device": "cpu"}, save=False)
    single = job.run().epochs[-1].val_acc
    assert final["val_acc"] > FLOOR and single > FLOOR
    assert abs(final["val_acc"] - single) <= BAND, (final["val_acc"], single)

    # the 2-process checkpoint resumes, here as one process, at the next epoch
    resumed, out = run_script(tmp_path / "job", "--epochs", str(EPOCHS + 1), "--out", "ck",
                              "--resume", "ck/checkpoint.pt")
    assert f"epochs {EPOCHS + 1}..{EPOCHS + 1}" in out and out.count("samples/s") == 1
    assert torch.load(tmp_path / "job" / "ck" / "checkpoint.pt",
                      weights_only=True)["epoch"] == EPOCHS + 1
    assert resumed["val_acc"] > FLOOR


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_exports_a_training_folder(tmp_path, name, capsys):
    project = load_project(examples_dir() / f"{name}.json")
    if "torchrun" not in task_for(project).export_formats:
        # its script trains a classifier's or a regressor's loss (a segmentation's masks,
        # an autoencoder's BCE or a language model's tokens would crash it at the first
        # batch): the command refuses, saying so, and writes nothing
        from torchloom.engine.cli import main

        code = main(["export", str(examples_dir() / f"{name}.json"), "-f", "torchrun", "-o",
                     str(tmp_path / name)])
        said = capsys.readouterr().err
        assert code == 1 and not (tmp_path / name).exists(), said
        assert "does not export as torchrun" in said and "python, onnx" in said
        return
    result = export_torchrun(project, tmp_path / name)
    assert result.checks["script_compiles"] and result.checks["outputs_identical"]
    with np.load(tmp_path / name / "data.npz", allow_pickle=False) as data:
        assert len(data["x_train"]) == len(data["y_train"]) > 0


def test_a_token_model_trains_from_its_folder(tmp_path):
    """Int64 token ids (an Embedding input) take their own path through the script."""
    export_torchrun(load_project(examples_dir() / "lstm_text_classifier.json"), tmp_path / "j")
    final, _out = run_script(tmp_path / "j", "--epochs", "1")
    assert 0.0 <= final["val_acc"] <= 1.0 and final["val_loss"] > 0


def test_a_project_name_with_quotes_backslashes_and_line_breaks_stays_inert(tmp_path):
    """The name is the person's text: in train.py's docstring it must neither close the
    docstring (``""``, ``\"\"\"``), escape (``\\``) nor break the --help line."""
    project = digits()
    project.name = 'My "best" net \\ """ x\n\r end""'
    result = export_torchrun(project, tmp_path / "job")
    assert result.checks["script_compiles"]
    script = (tmp_path / "job" / "train.py").read_text()
    tree = ast.parse(script)
    doc = ast.get_docstring(tree)
    assert doc.splitlines()[0] == ("Train \"My 'best' net / ''' x end''\" with "
                                   "DistributedDataParallel (a script exported by Torchloom).")
    assert isinstance(tree.body[1], ast.ImportFrom)  # the docstring ended where it should
    readme = (tmp_path / "job" / "README.txt").read_text().splitlines()
    assert readme[0] == 'My "best" net \\ """ x end"": a training script exported by Torchloom'
    assert readme[1] == ""


def test_the_script_reads_the_npz_like_numpy_does(tmp_path, monkeypatch):
    """train.py reads data.npz with torch and the standard library only."""
    import runpy

    export_torchrun(digits(), tmp_path / "job")
    # train.py imports its model.py by that name: in this process another test's import may
    # have left a module called "model" behind, which Python would hand it instead
    monkeypatch.delitem(sys.modules, "model", raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    script = runpy.run_path(str(tmp_path / "job" / "train.py"), run_name="not_main")
    mine = script["read_npz"](tmp_path / "job" / "data.npz")
    with np.load(tmp_path / "job" / "data.npz", allow_pickle=False) as data:
        numeric = {k for k in data.files if data[k].dtype.kind in "biuf"}
        assert set(mine) == numeric and {"x_train", "y_train", "x_val", "y_val"} <= numeric
        for key in numeric:
            assert torch.equal(mine[key], torch.from_numpy(data[key]))


def test_a_failed_export_leaves_no_empty_folder_behind(tmp_path, monkeypatch):
    """A full disk while the files are written: the export fails with "cannot write there"
    (the CLI's exit 2), and the folder it had made for them is gone again."""
    import errno

    from torchloom.engine.errors import ExportPathError

    def full(self, data):  # the disk fills while the files are written
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "multi_gpu"
    with pytest.raises(ExportPathError, match="No space left on device"):
        export_torchrun(load_project(examples_dir() / "mlp_digits.json"), out)
    assert not out.exists()


def test_the_script_keeps_frozen_blocks_and_scales_block_rates(tmp_path):
    """A frozen fc1 leaves the exported training with the weights it went in with, as a
    Torchloom run does; an lr_scale is one more optimizer group."""
    project = digits()
    project.graph.set_training("fc1", "trainable", False)
    project.graph.set_training("fc2", "lr_scale", 0.5)
    export_torchrun(project, tmp_path / "job")
    script = (tmp_path / "job" / "train.py").read_text()
    assert """"frozen": ['fc1'],""" in script and """"lr_scales": {'fc2': 0.5},""" in script
    run_script(tmp_path / "job", "--epochs", "1", "--out", "ck")
    start = torch.load(tmp_path / "job" / "init.pt", weights_only=True)
    state = torch.load(tmp_path / "job" / "ck" / "checkpoint.pt", weights_only=True)
    assert torch.equal(state["model"]["fc1.weight"], start["fc1.weight"])
    assert not torch.equal(state["model"]["fc2.weight"], start["fc2.weight"])
    assert sorted(g["lr_scale"] for g in state["optimizer"]["param_groups"]) == [0.5]
