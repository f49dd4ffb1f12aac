"""Every export of a model with two Inputs takes two inputs: ONNX names them after the Input
nodes, the python code's forward takes two arguments, and each self-check passes; the
torchrun export refuses with the reason and writes nothing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from torchloom.engine.errors import ExportError
from torchloom.engine.export import export_project
from torchloom.engine.export.model import prepare_model

from ..data.two_inputs import two_input_project, write_two_inputs


@pytest.fixture
def project(tmp_path):
    write_two_inputs(tmp_path, n=40)
    return two_input_project(tmp_path)


def reference(project):
    model = prepare_model(project)
    img, meta = torch.randn(5, 1, 8, 8), torch.randn(5, 3)
    with torch.no_grad():
        return model, img, meta, model.module(img, meta)


def test_onnx_has_two_inputs_named_after_the_input_nodes(project, tmp_path):
    import onnxruntime

    export_project(project, "onnx", tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"))
    assert [i.name for i in session.get_inputs()] == ["img", "meta"]
    _, img, meta, want = reference(project)
    (got,) = session.run(None, {"img": img.numpy(), "meta": meta.numpy()})
    assert np.allclose(got, want.numpy(), atol=1e-5)


def test_python_code_forward_takes_both_inputs(project, tmp_path):
    export_project(project, "python", tmp_path / "m.py")
    spec = importlib.util.spec_from_file_location("two_export", tmp_path / "m.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model, img, meta, want = reference(project)
    built = module.build()
    built.load_state_dict(model.module.state_dict())
    built.eval()
    with torch.no_grad():
        assert torch.equal(built(img, meta), want)


def test_pt2_program_takes_both_inputs(project, tmp_path):
    export_project(project, "pt2", tmp_path / "m.pt2")
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    _, img, meta, want = reference(project)
    with torch.no_grad():
        assert torch.allclose(program(img, meta), want, atol=1e-6)


def test_torchrun_refuses_several_inputs_and_writes_nothing(project, tmp_path):
    out = tmp_path / "trainer"
    with pytest.raises(ExportError, match=r"one Input; this one has 2 \(img, meta\)"):
        export_project(project, "torchrun", out)
    assert not out.exists()
