"""Every harness case of every block exports to python, pt2 and ONNX, and the exported
model computes what the compiled one does.

A one-block model per case would cost an exporter run each (ONNX: about a second), so the
first case of each block type becomes a branch of one model instead: its inputs are Input
nodes of their own, its output is flattened, and one Concat joins them all. The exports'
own self-check compares the reloaded file with the compiled model on two batch sizes, so a
block whose export drifts fails here; one that cannot be expressed is named by the export's
error (it retries block by block to find it).

The exporters unroll a recurrent block step by step (an LSTM of 7 steps was a third of the
ONNX export's time), so recurrent branches get a two-step sequence here: a second step is
enough to show the state carried from one step to the next; the harness cases keep their
own lengths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from torchloom.engine.blocks import TensorSpec
from torchloom.engine.errors import ExportError
from torchloom.engine.export.onnx_export import export_onnx
from torchloom.engine.export.pt2_export import export_pt2
from torchloom.engine.export.python_code import export_python
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project

from .test_catalogue import CASES


def first_cases() -> dict[int, tuple]:
    """The first harness case of each block type, and its first with several outputs where
    a setting gives it several (a recurrent block's output "both"), by index in CASES."""
    seen: set[tuple[str, bool]] = set()
    picked = {}
    for i, case in enumerate(CASES):
        kind = (case[0], isinstance(case[3], list))
        if kind not in seen:
            seen.add(kind)
            picked[i] = case
    return picked


RECURRENT = ("LSTM", "GRU", "RNN")


def _short(block_type: str, spec: TensorSpec) -> TensorSpec:
    if block_type in RECURRENT and len(spec.shape) == 2:
        return TensorSpec((2, spec.shape[1]), spec.dtype)
    return spec


def every_block_model() -> Project:
    g = Graph()
    outputs: list[str] = []
    for i, (block_type, params, specs, _expected) in first_cases().items():
        block = f"b{i}"
        g.add_node(block_type, params, block)
        specs = [_short(block_type, spec) for spec in specs]
        for k, spec in enumerate(specs):
            source = f"x{i}_{k}"
            g.add_node("Input", {"shape": list(spec.shape), "dtype": spec.dtype}, source)
            g.connect(source, block)
        node = g.node(block)
        ports = node.block.output_ports(node.build_params(), specs)
        for port in ports:  # a block with several outputs: each piece goes on
            flat = f"f{i}" if len(ports) == 1 else f"f{i}_{port.name}"
            g.add_node("Flatten", {}, flat)
            g.connect(block, flat, from_port=None if len(ports) == 1 else port.name)
            outputs.append(flat)
    g.add_node("Concat", {"dim": 0}, "all")
    for flat in outputs:
        g.connect(flat, "all")
    assert not g.problems()
    return Project(graph=g, name="every_block")


@pytest.fixture(scope="module")
def project() -> Project:
    return every_block_model()


EXPORTS: dict[str, tuple[Callable[..., Any], str]] = {
    "python": (export_python, "py"),
    "pt2": (export_pt2, "pt2"),
    "onnx": (export_onnx, "onnx"),
}


@pytest.mark.slow
@pytest.mark.parametrize("fmt", list(EXPORTS))
def test_every_block_exports_and_agrees(project: Project, tmp_path: Path, fmt: str) -> None:
    export, suffix = EXPORTS[fmt]
    try:
        result = export(project, tmp_path / f"every_block.{suffix}")
    except ExportError as exc:
        node = project.graph.node(exc.node) if getattr(exc, "node", None) else None
        case = CASES[int(node.id[1:].split("_")[0])] if node is not None else None
        pytest.fail(f"{fmt} export failed for {case or 'the model'}: {exc}")
    assert result.files[0].is_file()
    diff = result.checks.get("max_abs_diff", 0.0)
    assert diff <= 1e-4, result.checks
