"""The block catalogue.

Every module in this package is imported here, so adding a block type is one new class in
one file (plus its entry in the test harness); nothing else needs editing.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from .base import (Block, BlockCheckError, OutputPort, Port, TensorSpec, is_single, register,
                   registry)

#: Palette order. A category not listed here sorts after these, alphabetically.
CATEGORY_ORDER = (
    "Input",
    "Convolution",
    "Pooling",
    "Resampling",
    "Normalization",
    "Core",
    "Activation",
    "Embedding",
    "Recurrent",
    "Attention",
    "Tensor",
    "Merge",
    "Code",
)

#: The blocks most models use, most used first: each category lists these first, in this
#: order, then its other blocks alphabetically. Search ties keep this order too, so typing
#: "conv" offers Conv2d before Conv1d and Conv3d.
MOST_USED = (
    "Input",
    "Conv2d", "Conv1d", "ConvTranspose2d", "Conv3d",
    "MaxPool2d", "AdaptiveAvgPool2d", "AvgPool2d", "MaxPool1d",
    "Upsample",
    "BatchNorm2d", "LayerNorm", "BatchNorm1d", "GroupNorm", "RMSNorm",
    "Linear", "Flatten", "Dropout", "Unflatten", "Dropout2d",
    "ReLU", "GELU", "SiLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax",
    "Embedding", "PositionalEmbedding",
    "LSTM", "GRU", "RNN", "SequencePool",
    "TransformerEncoderLayer", "MultiheadAttention",
    "Reshape", "Permute", "Transpose", "Slice", "Mean", "Parameter", "Identity",
    "Add", "Concat", "Multiply",
)

for _info in pkgutil.iter_modules(__path__):
    if _info.name != "base":
        importlib.import_module(f"{__name__}.{_info.name}")


def get_block(type_name: str) -> Block | None:
    """The declaration of a block type, or None if the catalogue has no such type."""
    return registry().get(type_name)


def block_types() -> list[str]:
    return sorted(registry())


def suggest_type(type_name: str) -> str | None:
    """The closest known type name, for "did you mean" messages."""
    matches = difflib.get_close_matches(str(type_name), list(registry()), n=1, cutoff=0.6)
    if not matches:
        lower = {name.lower(): name for name in registry()}
        return lower.get(str(type_name).lower())
    return matches[0]


def by_category() -> dict[str, list[Block]]:
    """Blocks grouped for the palette, categories in `CATEGORY_ORDER`, the `MOST_USED`
    blocks first in each, then the others by name."""
    used = {name: i for i, name in enumerate(MOST_USED)}
    groups: dict[str, list[Block]] = {}
    for block in sorted(registry().values(),
                        key=lambda b: (used.get(b.type_name, len(used)), b.type_name)):
        groups.setdefault(block.category, []).append(block)
    rank = {name: i for i, name in enumerate(CATEGORY_ORDER)}
    return dict(sorted(groups.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


__all__ = [
    "Block",
    "BlockCheckError",
    "CATEGORY_ORDER",
    "MOST_USED",
    "OutputPort",
    "Port",
    "TensorSpec",
    "block_types",
    "by_category",
    "get_block",
    "is_single",
    "register",
    "suggest_type",
]
