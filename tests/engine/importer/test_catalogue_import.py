"""Every block that declares a module imports as itself, with no importer edit.

For each block type with a `module`, the first case of the block harness
(tests/engine/blocks/test_catalogue.py) is built by the block's own `build`, wrapped in a
one-module model, and imported through `import_module` like a person's file. It must come
back as that one block, with the same parameters, computing the same output. A block that
cannot be imported this way is listed in `NOT_IMPORTABLE` with the reason, so the gap is
visible here (and its test fails once the gap is closed: xfail is strict).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch

from torchloom.engine.blocks import get_block
from torchloom.engine.blocks.base import registry
from torchloom.engine.importer import import_module
from torchloom.engine.importer.source import load_model
from torchloom.engine.params import validate_params

from ..blocks.test_catalogue import CASES
from .helpers import batch, reloaded_model

#: Block type -> why a module built by the block does not import back as the block.
NOT_IMPORTABLE: dict[str, str] = {
    # nn.Identity changes nothing, so the importer makes it a plain wire, not a node
    "Identity": "imports as a wire between its neighbours",
}

#: The person's file: a model holding one module that the block builds, called on every
#: input in order.
MODEL = '''
import torch
from torch import nn

from torchloom.engine.blocks import get_block
from torchloom.engine.params import validate_params


def build(block_type, params, shapes):
    block = get_block(block_type)
    resolved = block.resolve(validate_params(block.params, params)[0], None)
    return block.build(resolved, [tuple(s) for s in shapes])


class One1(nn.Module):
    def __init__(self, block_type, params, shapes):
        super().__init__()
        self.layer = build(block_type, params, shapes)

    def forward(self, x0):
        return self.layer(x0)


class One2(One1):
    def forward(self, x0, x1):
        return self.layer(x0, x1)


class One3(One1):
    def forward(self, x0, x1, x2):
        return self.layer(x0, x1, x2)


class Pieces1(One1):
    """A block with several outputs: its first two pieces, joined again along the cut."""

    def __init__(self, block_type, params, shapes):
        super().__init__(block_type, params, shapes)
        dim = params.get("dim", 0)
        self.dim = dim + 1 if dim >= 0 else dim

    def forward(self, x0):
        pieces = self.layer(x0)
        return torch.cat([pieces[0], pieces[1]], dim=self.dim)
'''


def _first_cases() -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for case in CASES:
        out.setdefault(case[0], case)
    return out


def _module_blocks() -> list:
    firsts = _first_cases()
    params = []
    for type_name in sorted(registry()):
        block = registry()[type_name]
        if not block.module:
            continue
        case = firsts.get(type_name)
        marks = ()
        if type_name in NOT_IMPORTABLE:
            marks = pytest.mark.xfail(reason=NOT_IMPORTABLE[type_name], strict=True)
        params.append(pytest.param(type_name, case, marks=marks, id=type_name))
    return params


def _resolved(type_name: str, params: dict) -> dict:
    block = get_block(type_name)
    validated, problems = validate_params(block.params, params)
    assert not problems, problems
    return block.resolve(validated, None)


def test_every_block_with_a_module_is_walked():
    walked = {p.values[0] for p in _module_blocks()}
    assert walked == {name for name, b in registry().items() if b.module}
    assert set(NOT_IMPORTABLE) <= walked, "NOT_IMPORTABLE names a block that is gone"


@pytest.mark.parametrize("type_name,case", _module_blocks())
def test_block_imports_as_itself(tmp_path: Path, type_name: str, case: tuple | None):
    assert case is not None, f"{type_name} has no case in the block harness"
    _, params, specs, expected = case
    path = tmp_path / "one_block.py"
    path.write_text(MODEL)
    several = isinstance(expected, list)  # one shape per output port: read two of them
    source = f"{path}:Pieces1" if several else f"{path}:One{len(specs)}"
    kwargs = {"block_type": type_name, "params": params,
              "shapes": [list(s.shape) for s in specs]}
    torch.manual_seed(0)
    result = import_module(source, tmp_path / "one.json",
                           input_shapes=[list(s.shape) for s in specs],
                           input_dtypes=[s.dtype for s in specs], kwargs=kwargs)
    nodes = [n for n in result.project.graph.nodes if n.type != "Input"]
    assert [n.type for n in nodes] == [type_name, "Concat"] if several else [type_name], \
        result.reasons
    if several:  # each piece is wired from its own port
        assert [e.from_port for e in result.project.graph.in_edges(nodes[1].id)] == [
            "out0", "out1"]
        axis = params.get("dim", 0) % len(expected[0])
        first, second = expected[0], expected[1]
        expected = tuple(a + b if i == axis else a for i, (a, b) in enumerate(zip(first,
                                                                                second)))
    assert _resolved(type_name, nodes[0].params) == _resolved(type_name, params)
    assert not result.code_nodes and result.ok, result.lines()
    assert result.outputs_identical, result.lines()

    torch.manual_seed(0)
    reference = load_model(source, kwargs).module
    inputs = [batch(list(s.shape), s.dtype, high=params.get("num_embeddings", 16), seed=i)
              for i, s in enumerate(specs)]
    model = reloaded_model(result)
    model.eval()
    reference.eval()
    with torch.no_grad():
        got, want = model(*inputs), reference(*inputs)
    assert tuple(got.shape[1:]) == expected
    assert torch.equal(got, want)


def _every_module_case() -> list:
    return [pytest.param(*case[:3], id=f"{case[0]}-{i}") for i, case in enumerate(CASES)
            if get_block(case[0]) is not None and get_block(case[0]).module
            and case[0] not in NOT_IMPORTABLE]


@pytest.mark.parametrize("type_name,params,specs", _every_module_case())
def test_every_harness_case_reads_back(type_name: str, params: dict, specs: list):
    """Every case, not only the first: the module the block builds reads back as the same
    parameters, with nothing refused (no import run, so this is quick)."""
    from torchloom.engine.importer.catalogue import check_unheld, find_block, read_settings

    block = get_block(type_name)
    shapes = [s.shape for s in specs]
    module = block.build(_resolved(type_name, params), shapes)
    found = find_block(module)
    assert found is not None and found.block is block
    read = read_settings(block, module)
    check_unheld(block, module, shapes)
    assert _resolved(type_name, read) == _resolved(type_name, params)


# ---- the rules every block's import follows -------------------------------------------


def _refusal(module: torch.nn.Module, *shapes: tuple[int, ...]) -> str | None:
    """Why the block for `module` (whose inputs have these per-sample shapes) refuses it,
    or None when it does not."""
    from torchloom.engine.importer.catalogue import (Unmapped, check_unheld, find_block,
                                                     read_settings)

    found = find_block(module)
    assert found is not None, type(module).__name__
    try:
        read_settings(found.block, module)
        check_unheld(found.block, module, shapes)
    except Unmapped as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("module,shapes,reason", [
    # (until the Conv blocks declare padding_mode themselves)
    *([(torch.nn.Conv2d(1, 4, 3, padding_mode="reflect"), [(1, 8, 8)],
        "padding_mode='reflect' has no block setting")]
      if "padding_mode" not in get_block("Conv2d").params else []),
    (torch.nn.Embedding(10, 4, scale_grad_by_freq=True), [(5,)],
     "scale_grad_by_freq=True has no block setting"),
    (torch.nn.MaxPool2d(2, return_indices=True), [(1, 8, 8)],
     "return_indices=True has no block setting"),
    (torch.nn.AvgPool2d(2, divisor_override=3), [(1, 8, 8)],
     "divisor_override=3 has no block setting"),
    (torch.nn.Embedding(10, 4, max_norm=1.0), [(5,)], "max_norm=1.0 has no block setting"),
    (torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True), [(1, 4, 4)],
     "align_corners=True has no block setting"),
    (torch.nn.Upsample(scale_factor=(2, 3)), [(1, 4, 4)],
     "scale_factor=(2.0, 3.0) (one per dimension) has no block setting"),
    (torch.nn.AdaptiveAvgPool2d((None, 3)), [(1, 4, 4)],
     "output_size=(None, 3) has no block setting"),
    (torch.nn.BatchNorm2d(4, momentum=None), [(4, 3, 3)], "momentum=None has no block setting"),
    (torch.nn.LayerNorm((5, 6)), [(5, 6)],
     "normalized_shape=(5, 6) does not follow from its input (the LayerNorm block would "
     "use 6)"),
    (torch.nn.LSTM(4, 8), [(5, 4)],
     "batch_first=False has no block setting (the LSTM block always uses batch_first=True)"),
    (torch.nn.LSTM(4, 8, batch_first=True, proj_size=2), [(5, 4)],
     "proj_size=2 has no block setting"),
    (torch.nn.MultiheadAttention(8, 2, batch_first=True, add_bias_kv=True), [(5, 8)],
     "add_bias_kv=True has no block setting"),
    (torch.nn.MultiheadAttention(8, 2, batch_first=True, add_zero_attn=True), [(5, 8)],
     "add_zero_attn=True has no block setting"),
    *([(torch.nn.BatchNorm2d(4, bias=False), [(4, 3, 3)], "bias=False has no block setting")]
      if "bias" in inspect.signature(torch.nn.BatchNorm2d).parameters else []),
])
def test_a_setting_the_block_lacks_is_refused_by_name(module, shapes, reason):
    assert _refusal(module, *shapes) == reason


@pytest.mark.parametrize("module,shapes", [
    (torch.nn.ReLU(inplace=True), [(4,)]),  # the tracer makes in-place calls explicit
    (torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), [(1, 4, 4)]),
    (torch.nn.Upsample(scale_factor=(2, 2)), [(1, 4, 4)]),
    (torch.nn.Conv1d(2, 4, 3, padding="same", bias=False), [(2, 9)]),
    (torch.nn.LayerNorm(6, elementwise_affine=False), [(5, 6)]),
    (torch.nn.BatchNorm2d(4, affine=False), [(4, 3, 3)]),  # no bias follows from affine
])
def test_settings_torch_keeps_its_own_way_are_read(module, shapes):
    assert _refusal(module, *shapes) is None


def test_a_new_block_declaration_is_importable_without_an_importer_edit(tmp_path):
    """A block declared for a torch class (here one the catalogue lacks) imports at once."""
    from torchloom.engine.blocks import Block, register
    from torchloom.engine.params import Float

    from .helpers import import_text, types

    if any(b.module == "torch.nn.Softshrink" for b in registry().values()):
        pytest.skip("the catalogue has a Softshrink block of its own now")

    class SoftshrinkForTest(Block):
        type_name = "SoftshrinkForTest"
        category = "Activation"
        module = "torch.nn.Softshrink"
        doc = "A block only this test declares."
        params = {"lambd": Float(0.5, "Threshold.", min=0.0)}

    register(SoftshrinkForTest)
    try:
        body = ("class Shrink(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(4, 4)\n        self.shrink = nn.Softshrink(0.25)\n\n"
                "    def forward(self, x):\n        return self.shrink(self.fc(x))\n")
        result, _ = import_text(tmp_path, body, "Shrink", [4])
        assert types(result) == [("x", "Input"), ("fc", "Linear"),
                                 ("shrink", "SoftshrinkForTest")]
        assert result.project.graph.node("shrink").params == {"lambd": 0.25}
        assert result.outputs_identical
    finally:
        del registry()["SoftshrinkForTest"]
