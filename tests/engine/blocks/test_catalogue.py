"""One harness for every block type, after Keras' `run_layer_test`.

Adding a block type means adding its case(s) to `CASES`; `test_every_block_has_a_case`
fails until you do. Each case checks that the block builds, that the shape measured on meta
tensors equals the real forward's shape (and the expected one), that its parameters
round-trip through JSON, and that one SGD step runs and moves its weights.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import torch

from torchloom.engine.blocks import TensorSpec, by_category, get_block
from torchloom.engine.blocks.base import registry
from torchloom.engine.params import params_to_json, validate_params
from torchloom.engine.shapes import BATCH, _freeze, _measure


def F(*shape: int) -> TensorSpec:
    return TensorSpec(shape, "float32")


def I(*shape: int) -> TensorSpec:  # noqa: E743 - reads as "int tensor"
    return TensorSpec(shape, "int64")


# (block type, params, input specs, expected output shape without the batch; for a block
# with several outputs, a list with the shape of each output port in order)
CASES: list[tuple[str, dict, list[TensorSpec], Any]] = [
    ("Conv1d", {"out_channels": 8, "kernel_size": 3}, [F(4, 20)], (8, 18)),
    ("Conv1d", {"out_channels": 6, "kernel_size": 5, "padding": "same"}, [F(3, 11)], (6, 11)),
    ("Conv2d", {"out_channels": 32, "kernel_size": 3}, [F(1, 28, 28)], (32, 26, 26)),
    ("Conv2d", {"out_channels": 8, "kernel_size": [3, 5], "stride": 2, "padding": [1, 2]},
     [F(3, 16, 16)], (8, 8, 8)),
    ("Conv2d", {"out_channels": 8, "kernel_size": 3, "groups": 2, "bias": False},
     [F(4, 9, 9)], (8, 7, 7)),
    ("MaxPool1d", {"kernel_size": 2}, [F(4, 9)], (4, 4)),
    ("MaxPool2d", {"kernel_size": 2}, [F(32, 26, 26)], (32, 13, 13)),
    ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
     [F(2, 7, 7)], (2, 4, 4)),
    ("AvgPool2d", {"kernel_size": 2}, [F(3, 8, 8)], (3, 4, 4)),
    ("AdaptiveAvgPool2d", {"output_size": 1}, [F(16, 7, 5)], (16, 1, 1)),
    ("Upsample", {}, [F(8, 5, 7)], (8, 10, 14)),
    ("Upsample", {"size": [9, 4], "mode": "bilinear"}, [F(3, 5, 7)],
     (3, 9, 4)),
    ("Upsample", {"scale_factor": 3, "mode": "linear"}, [F(2, 6)], (2, 18)),
    ("AdaptiveAvgPool2d", {"output_size": [2, 3]}, [F(4, 8, 8)], (4, 2, 3)),
    ("BatchNorm1d", {}, [F(16)], (16,)),
    ("BatchNorm1d", {"affine": False}, [F(8, 10)], (8, 10)),
    ("BatchNorm2d", {"momentum": 0.2}, [F(8, 6, 6)], (8, 6, 6)),
    ("LayerNorm", {}, [F(10, 32)], (10, 32)),
    ("Dropout", {"p": 0.25}, [F(20)], (20,)),
    ("Flatten", {}, [F(64, 5, 5)], (1600,)),
    ("Flatten", {"start_dim": 1, "end_dim": 2}, [F(1, 28, 28)], (28, 28)),
    ("Unflatten", {"unflattened_size": [1, 28, 28]}, [F(784)], (1, 28, 28)),
    ("Unflatten", {"dim": -1, "unflattened_size": [2, 3]}, [F(4, 6)], (4, 2, 3)),
    ("Linear", {"out_features": 10}, [F(1600)], (10,)),
    ("Linear", {"out_features": 7, "bias": False}, [F(5, 12)], (5, 7)),
    ("ReLU", {}, [F(4, 3)], (4, 3)),
    ("GELU", {"approximate": "tanh"}, [F(6)], (6,)),
    ("Tanh", {}, [F(6)], (6,)),
    ("Sigmoid", {}, [F(6)], (6,)),
    ("LeakyReLU", {"negative_slope": 0.2}, [F(6)], (6,)),
    ("Softmax", {}, [F(10)], (10,)),
    ("Embedding", {"num_embeddings": 50, "embedding_dim": 16}, [I(12)], (12, 16)),
    ("Embedding", {"num_embeddings": 50, "embedding_dim": 8, "padding_idx": 0}, [I(5)], (5, 8)),
    ("PositionalEmbedding", {"max_len": 64}, [F(12, 16)], (12, 16)),
    ("LSTM", {"hidden_size": 20}, [F(7, 5)], (7, 20)),
    ("LSTM", {"hidden_size": 8, "num_layers": 2, "bidirectional": True, "dropout": 0.1},
     [F(6, 4)], (6, 16)),
    ("GRU", {"hidden_size": 12}, [F(7, 5)], (7, 12)),
    ("RNN", {"hidden_size": 12, "nonlinearity": "relu"}, [F(7, 5)], (7, 12)),
    ("SequencePool", {"mode": "last"}, [F(7, 12)], (12,)),
    ("SequencePool", {"mode": "mean"}, [F(7, 12)], (12,)),
    ("SequencePool", {"mode": "max"}, [F(7, 12)], (12,)),
    ("MultiheadAttention", {"num_heads": 4}, [F(9, 32)], (9, 32)),
    ("MultiheadAttention", {"num_heads": 2}, [F(9, 16), F(5, 8)], (9, 16)),
    ("MultiheadAttention", {"num_heads": 2}, [F(9, 16), F(5, 8), F(5, 6)], (9, 16)),
    ("TransformerEncoderLayer", {"nhead": 4, "dim_feedforward": 64}, [F(10, 32)], (10, 32)),
    ("TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 32, "activation": "gelu",
                                 "norm_first": True}, [F(6, 8)], (6, 8)),
    ("Add", {}, [F(8, 4, 4), F(8, 4, 4)], (8, 4, 4)),
    ("Add", {}, [F(5), F(5), F(5)], (5,)),
    ("Concat", {"dim": 0}, [F(8, 4, 4), F(16, 4, 4)], (24, 4, 4)),
    ("Concat", {"dim": -1}, [F(3, 4), F(3, 6)], (3, 10)),
    # --- blocks-b ---
    ("GroupNorm", {"num_groups": 4}, [F(8, 5, 5)], (8, 5, 5)),
    ("GroupNorm", {"num_groups": 3, "eps": 1e-3, "affine": False}, [F(6, 10)], (6, 10)),
    ("GroupNorm", {"num_groups": 1}, [F(12)], (12,)),
    ("InstanceNorm1d", {}, [F(4, 9)], (4, 9)),
    ("InstanceNorm1d", {"affine": True, "track_running_stats": True}, [F(4, 9)], (4, 9)),
    ("InstanceNorm2d", {}, [F(3, 6, 6)], (3, 6, 6)),
    ("InstanceNorm2d", {"affine": True, "momentum": 0.3}, [F(3, 6, 5)], (3, 6, 5)),
    ("RMSNorm", {}, [F(10, 32)], (10, 32)),
    ("RMSNorm", {"eps": 1e-6, "elementwise_affine": False}, [F(16)], (16,)),
    ("LocalResponseNorm", {"size": 3}, [F(8, 5, 5)], (8, 5, 5)),
    ("LocalResponseNorm", {"size": 5, "alpha": 1e-3, "beta": 0.5, "k": 2.0}, [F(6, 7)],
     (6, 7)),
    ("BatchNorm3d", {}, [F(4, 3, 5, 5)], (4, 3, 5, 5)),
    ("BatchNorm3d", {"affine": False, "track_running_stats": False}, [F(2, 2, 3, 3)],
     (2, 2, 3, 3)),
    ("SiLU", {}, [F(4, 3)], (4, 3)),
    ("ELU", {"alpha": 0.5}, [F(6)], (6,)),
    ("SELU", {}, [F(6)], (6,)),
    ("Mish", {}, [F(3, 4, 4)], (3, 4, 4)),
    ("PReLU", {}, [F(8, 4, 4)], (8, 4, 4)),
    ("PReLU", {"num_parameters": 8, "init": 0.1}, [F(8, 4, 4)], (8, 4, 4)),
    ("PReLU", {"num_parameters": 5}, [F(5)], (5,)),
    ("Softplus", {"beta": 2.0, "threshold": 10.0}, [F(6)], (6,)),
    ("Hardswish", {}, [F(6)], (6,)),
    ("Hardsigmoid", {}, [F(6)], (6,)),
    ("ReLU6", {}, [F(6)], (6,)),
    ("LogSoftmax", {}, [F(10)], (10,)),
    ("LogSoftmax", {"dim": 1}, [F(4, 7)], (4, 7)),
    ("Softmax2d", {}, [F(5, 4, 4)], (5, 4, 4)),
    ("Dropout1d", {"p": 0.3}, [F(4, 9)], (4, 9)),
    ("Dropout2d", {}, [F(4, 6, 6)], (4, 6, 6)),
    ("AlphaDropout", {"p": 0.2}, [F(20)], (20,)),
    ("LSTM", {"hidden_size": 20, "output": "hidden"}, [F(7, 5)], (20,)),
    ("LSTM", {"hidden_size": 8, "num_layers": 2, "bidirectional": True, "output": "hidden"},
     [F(6, 4)], (16,)),
    ("GRU", {"hidden_size": 12, "bidirectional": True, "output": "hidden"}, [F(7, 5)], (24,)),
    ("RNN", {"hidden_size": 12, "num_layers": 3, "output": "hidden"}, [F(7, 5)], (12,)),
    # --- tensor-ops ---
    ("Reshape", {"shape": [64, 16]}, [F(64, 4, 4)], (64, 16)),
    ("Reshape", {"shape": [-1, 4]}, [F(3, 8)], (6, 4)),
    ("Reshape", {}, [F(2, 3, 4)], (24,)),
    ("Permute", {"dims": [1, 0]}, [F(5, 7)], (7, 5)),
    ("Permute", {"dims": [2, 0, 1]}, [F(4, 5, 3)], (3, 4, 5)),
    ("Transpose", {}, [F(8, 10)], (10, 8)),
    ("Transpose", {"dim0": -1, "dim1": 0}, [F(3, 4, 5)], (5, 4, 3)),
    ("Mean", {"dims": 0}, [F(7, 12)], (12,)),
    ("Mean", {"dims": [1, 2], "keepdim": True}, [F(8, 5, 5)], (8, 1, 1)),
    ("Sum", {"dims": -1}, [F(4, 6)], (4,)),
    ("Max", {"dims": [0, -1]}, [F(3, 4, 5)], (4,)),
    ("Max", {"dims": 1, "keepdim": True}, [F(3, 4)], (3, 1)),
    ("Slice", {"dim": 0, "index": -1}, [F(7, 12)], (12,)),
    ("Slice", {"dim": -1, "start": 1, "stop": 7, "step": 2}, [F(3, 10)], (3, 3)),
    ("Slice", {"start": -2}, [F(5, 4)], (2, 4)),
    ("Scale", {"factor": 0.125}, [F(4, 8)], (4, 8)),
    ("Identity", {}, [F(6)], (6,)),
    ("Interpolate", {}, [F(8, 5, 7)], (8, 10, 14)),
    ("Interpolate", {"size": [9, 4], "mode": "bilinear", "align_corners": True}, [F(3, 5, 7)],
     (3, 9, 4)),
    ("Interpolate", {"scale_factor": 0.5, "mode": "linear"}, [F(2, 8)], (2, 4)),
    ("Multiply", {}, [F(8, 4, 4), F(8, 1, 1)], (8, 4, 4)),
    ("Multiply", {}, [F(5), F(5), F(5)], (5,)),
    ("Subtract", {}, [F(3, 4), F(1, 4)], (3, 4)),
    ("MatMul", {}, [F(4, 16), F(16, 5)], (4, 5)),
    ("MatMul", {}, [F(2, 4, 8), F(1, 8, 3)], (2, 4, 3)),
    ("Parameter", {"shape": [1, 16]}, [F(9, 16)], (1, 16)),
    ("Parameter", {"shape": [9, 16], "init": "zeros"}, [F(9, 16)], (9, 16)),
    ("Parameter", {"shape": [4], "init": "ones"}, [I(5)], (4,)),
    # --- blocks-a ---
    ("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"},
     [F(2, 10)], (4, 10)),
    ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": 2, "padding_mode": "circular"},
     [F(3, 6, 6)], (4, 8, 8)),
    ("Conv2d", {"out_channels": 4, "kernel_size": 4, "padding": "same",
                "padding_mode": "replicate"}, [F(3, 5, 5)], (4, 5, 5)),
    ("Conv3d", {"out_channels": 4, "kernel_size": 3}, [F(2, 6, 6, 6)], (4, 4, 4, 4)),
    ("Conv3d", {"out_channels": 4, "kernel_size": [1, 3, 3], "stride": [1, 2, 2],
                "padding": [0, 1, 1], "padding_mode": "reflect"}, [F(2, 4, 8, 8)], (4, 4, 4, 4)),
    ("ConvTranspose1d", {"out_channels": 4, "kernel_size": 4, "stride": 2, "padding": 1},
     [F(3, 10)], (4, 20)),
    ("ConvTranspose1d", {"out_channels": 2, "stride": 2, "output_padding": 1}, [F(3, 5)],
     (2, 12)),
    ("ConvTranspose2d", {"out_channels": 8}, [F(4, 5, 5)], (8, 7, 7)),
    ("ConvTranspose2d", {"out_channels": 8, "stride": 2, "padding": 1, "output_padding": 1},
     [F(4, 5, 5)], (8, 10, 10)),
    ("ConvTranspose2d", {"out_channels": 6, "kernel_size": [2, 3], "stride": [2, 1],
                         "padding": [0, 1], "output_padding": [1, 0], "dilation": [1, 2],
                         "groups": 2, "bias": False}, [F(4, 4, 6)], (6, 9, 8)),
    # output_padding may reach stride when it stays below dilation
    ("ConvTranspose2d", {"out_channels": 2, "dilation": 2, "output_padding": 1}, [F(2, 5, 5)],
     (2, 10, 10)),
    ("PixelShuffle", {}, [F(8, 3, 4)], (2, 6, 8)),
    ("PixelShuffle", {"upscale_factor": 3}, [F(9, 2, 2)], (1, 6, 6)),
    ("PixelUnshuffle", {}, [F(2, 6, 4)], (8, 3, 2)),
    ("ZeroPad2d", {"padding": 2}, [F(3, 4, 5)], (3, 8, 9)),
    ("ZeroPad2d", {"padding": [1, 0, 2, 3]}, [F(1, 4, 5)], (1, 9, 6)),
    ("ReflectionPad2d", {"padding": 3}, [F(2, 4, 4)], (2, 10, 10)),
    ("ReflectionPad2d", {"padding": [0, 1, 2, 3]}, [F(2, 4, 5)], (2, 9, 6)),
    ("ReplicationPad2d", {"padding": 5}, [F(2, 3, 3)], (2, 13, 13)),
    ("ReplicationPad2d", {"padding": [2, 0, 0, 1]}, [F(1, 3, 4)], (1, 4, 6)),
    ("AvgPool1d", {"kernel_size": 2}, [F(3, 9)], (3, 4)),
    ("AvgPool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                   "count_include_pad": False}, [F(2, 8)], (2, 5)),
    ("AdaptiveAvgPool1d", {}, [F(6, 10)], (6, 1)),
    ("AdaptiveAvgPool1d", {"output_size": 4}, [F(3, 10)], (3, 4)),
    ("AdaptiveMaxPool2d", {}, [F(5, 7, 6)], (5, 1, 1)),
    ("AdaptiveMaxPool2d", {"output_size": [2, 3]}, [F(4, 8, 8)], (4, 2, 3)),
    ("MaxPool3d", {"kernel_size": 2}, [F(2, 4, 6, 6)], (2, 2, 3, 3)),
    ("MaxPool3d", {"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]},
     [F(2, 3, 7, 7)], (2, 3, 4, 4)),
    ("MaxPool3d", {"kernel_size": 2, "dilation": 2}, [F(1, 5, 5, 5)], (1, 2, 2, 2)),
    ("AvgPool3d", {"kernel_size": 2}, [F(2, 4, 4, 4)], (2, 2, 2, 2)),
    ("AvgPool3d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
     [F(1, 5, 6, 7)], (1, 3, 3, 4)),
    # --- ports: one output port per piece ---
    ("Split", {"split_size_or_sections": 2}, [F(5, 3)], [(2, 3), (2, 3), (1, 3)]),
    ("Split", {"split_size_or_sections": [1, 3], "dim": -1}, [F(2, 4)], [(2, 1), (2, 3)]),
    ("Chunk", {"chunks": 3, "dim": 1}, [F(2, 6, 4)], [(2, 2, 4)] * 3),
    # recurrent "both": ports `sequence` and `hidden`
    ("LSTM", {"hidden_size": 6, "output": "both"}, [F(7, 5)], [(7, 6), (6,)]),
    ("LSTM", {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "output": "both"},
     [F(5, 3)], [(5, 8), (8,)]),
    ("GRU", {"hidden_size": 5, "bidirectional": True, "output": "both"}, [F(4, 3)],
     [(4, 10), (10,)]),
    ("RNN", {"hidden_size": 3, "num_layers": 2, "output": "both"}, [F(6, 2)], [(6, 3), (3,)]),
]


def _real_inputs(block_type: str, params: dict, specs: list[TensorSpec], batch: int):
    out = []
    for spec in specs:
        if spec.is_int:
            high = params.get("num_embeddings", 10)
            out.append(torch.randint(0, high, (batch, *spec.shape)))
        else:
            out.append(torch.randn(batch, *spec.shape, requires_grad=True))
    return out


def check_block(block_type: str, params: dict, specs: list[TensorSpec], expected: Any) -> None:
    block = get_block(block_type)
    assert block is not None, f"{block_type} is not in the catalogue"
    validated, problems = validate_params(block.params, params)
    assert not problems, problems
    resolved = block.resolve(validated, None)  # as `Node.build_params` gives them
    block.check(resolved, specs)

    # 1. it builds, with real weights
    torch.manual_seed(0)
    module = block.build(resolved, [s.shape for s in specs])

    # 2. the meta measurement, the real forward and the expectation agree
    measured = _measure(block_type, _freeze(resolved), tuple(specs))
    assert measured.error is None, measured.error
    ports = [p.name for p in block.output_ports(resolved, specs)]
    batch = BATCH + 2
    args = _real_inputs(block_type, resolved, specs, batch)
    module.train()
    out = module(*args)
    if isinstance(expected, list):  # several outputs: a tuple, one tensor per port
        assert measured.specs is not None and [s.shape for s in measured.specs] == expected
        assert isinstance(out, tuple) and len(ports) == len(out) == len(expected)
        assert [tuple(o.shape) for o in out] == [(batch, *e) for e in expected]
        out = torch.cat([o.flatten(1) for o in out], dim=1)  # one tensor for the SGD step
    else:
        assert ports == ["out"] and measured.specs is None
        assert measured.spec is not None and measured.spec.shape == expected
        assert tuple(out.shape) == (batch, *expected)
    assert measured.params == sum(p.numel() for p in module.parameters())

    # 3. the parameters survive a trip through a project file
    saved = json.loads(json.dumps(params_to_json(block.params, validated)))
    again, problems = validate_params(block.params, saved)
    assert not problems and again == validated

    # 4. one SGD step runs and moves the weights
    weights = [p for p in module.parameters() if p.requires_grad]
    before = [w.detach().clone() for w in weights]
    optimizer = torch.optim.SGD(weights or [torch.zeros(1, requires_grad=True)], lr=0.1)
    loss = (out.float() ** 2).mean() + out.float().mean()
    loss.backward()
    optimizer.step()
    if weights:
        assert any(not torch.equal(b, w) for b, w in zip(before, weights))
    float_args = [a for a in args if a.is_floating_point()]
    # Embedding reads ids; Parameter reads only its input's batch size
    assert all(a.grad is not None for a in float_args) or block_type in ("Embedding",
                                                                         "Parameter")


@pytest.mark.parametrize("block_type,params,specs,expected", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_block(block_type, params, specs, expected):
    check_block(block_type, params, specs, expected)


def test_every_block_has_a_case():
    # Code needs a trusted file: its harness case is in test_code.py
    covered = {case[0] for case in CASES} | {"Input", "Code"}
    assert set(registry()) == covered, "add a case to CASES for each new block type"


def test_declarations_are_complete():
    for block in registry().values():
        assert block.doc and block.category, block.type_name
        for name, decl in block.params.items():
            assert decl.doc, f"{block.type_name}.{name} has no doc"
            decl.validate(decl.default) if decl.default is not None else None
            json.dumps(decl.schema())


def test_param_names_follow_torch_constructors():
    """Block parameters are the torch.nn constructor's own argument names."""
    import inspect

    from torch import nn

    for type_name in ("Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool2d",
                      "AdaptiveAvgPool2d", "Upsample", "BatchNorm1d", "BatchNorm2d",
                      "LayerNorm", "Dropout",
                      "Flatten", "Linear", "GELU", "LeakyReLU", "Softmax", "Embedding", "LSTM",
                      "GRU", "RNN", "MultiheadAttention", "TransformerEncoderLayer",
                      # blocks-b
                      "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "RMSNorm",
                      "LocalResponseNorm", "BatchNorm3d", "ELU", "PReLU", "Softplus",
                      "LogSoftmax", "Dropout1d", "Dropout2d", "AlphaDropout",
                      # tensor-ops
                      "Identity",
                      # blocks-a
                      "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "PixelShuffle",
                      "PixelUnshuffle", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d",
                      "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool2d", "MaxPool3d",
                      "AvgPool3d"):
        accepted = set(inspect.signature(getattr(nn, type_name)).parameters)
        if type_name in ("LSTM", "GRU", "RNN"):
            # `output` is Torchloom's (engine.layers._RecurrentOutput): which tensor to pass on
            accepted |= set(inspect.signature(nn.RNNBase).parameters) | {"nonlinearity",
                                                                          "output"}
        if type_name in ("MultiheadAttention", "TransformerEncoderLayer"):
            # torch takes `is_causal` per call; Torchloom's `causal` is the layer's setting
            accepted |= {"causal"}
        declared = set(get_block(type_name).params)
        assert declared <= accepted, (type_name, declared - accepted)
    # blocks for torch functions take the function's argument names
    declared = set(get_block("Interpolate").params)
    assert declared <= set(inspect.signature(nn.functional.interpolate).parameters), declared


def test_inferred_sizes_are_never_parameters():
    inferred = {"in_channels", "in_features", "input_size", "embed_dim", "num_features",
                "normalized_shape", "d_model"}
    for block in registry().values():
        assert not inferred & set(block.params), block.type_name


def test_palette_groups_are_ordered():
    groups = by_category()
    assert list(groups)[:3] == ["Input", "Convolution", "Pooling"]
    assert [b.type_name for b in groups["Merge"]] == ["Add", "Concat", "Multiply", "MatMul",
                                                      "Subtract"]


def test_block_reference_in_docs_is_current():
    from pathlib import Path

    from torchloom.engine.blockdoc import render

    doc = Path(__file__).resolve().parents[3] / "docs" / "blocks.md"
    assert doc.read_text() == render(), (
        "docs/blocks.md is stale: run python -m torchloom.engine.blockdoc > docs/blocks.md")
