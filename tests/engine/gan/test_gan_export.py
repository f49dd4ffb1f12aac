"""Exporting a GAN: python writes both networks (verified); other formats refuse clearly."""

from __future__ import annotations

import json
import runpy
import uuid

import pytest
import torch
from safetensors.torch import load_file

from torchloom.engine.cli import main
from torchloom.engine.errors import ExportError
from torchloom.engine.export import FORMATS, export_project
from torchloom.engine.project import load_project
from torchloom.engine.train import checkpoint as ckpt
from torchloom.engine.tasks.prepare import prepare_training

from .helpers import GAN_EXAMPLE, tiny_gan


def test_python_writes_both_networks_and_loads_a_gan_run(tmp_path):
    path = tiny_gan(tmp_path, epochs=1)
    project = load_project(path)
    job = prepare_training(project, out_dir=tmp_path / "run")
    job.run()
    out = tmp_path / "gan.py"
    result = export_project(project, "python", out, weights=tmp_path / "run")
    assert result.checks["outputs_identical"] and result.checks["standalone"]
    text = out.read_text()
    assert "class Generator(nn.Module):" in text and "class Discriminator(nn.Module):" in text
    assert "class GAN(nn.Module):" in text and "torchloom" not in text.split('"""', 2)[2]
    gan = runpy.run_path(str(out), run_name=f"x_{uuid.uuid4().hex}")["build"]()
    gan.load_state_dict(load_file(tmp_path / "run" / ckpt.MODEL_FILE), strict=True)
    gan.eval()
    z = torch.randn(5, 8)
    with torch.no_grad():
        assert torch.equal(gan.generator(z), job.trainer.task.generate(job.trainer, z).cpu())
        assert gan(z).shape == (5, 1)


def test_the_example_exports_as_python(tmp_path, capsys):
    code = main(["export", str(GAN_EXAMPLE), "-f", "python", "-o", str(tmp_path / "g.py"),
                 "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["ok"] and data["checks"]["parameters"] == 481_425


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "python"])
def test_other_formats_refuse_a_gan_naming_python(fmt, tmp_path, capsys):
    with pytest.raises(ExportError, match="export it as python"):
        export_project(load_project(GAN_EXAMPLE), fmt, tmp_path / "out")
    code = main(["export", str(GAN_EXAMPLE), "-f", fmt, "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "-f python" in err
    assert list(tmp_path.iterdir()) == []
