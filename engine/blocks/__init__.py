"""The block catalogue.

Every module in this package is imported here, so adding a block type is one new class in
one file (plus its entry in the test harness); nothing else needs editing.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil

from .base import Block, BlockCheckError, Port, TensorSpec, register, registry

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
    """Blocks grouped for the palette, categories in `CATEGORY_ORDER`, blocks by name."""
    groups: dict[str, list[Block]] = {}
    for block in sorted(registry().values(), key=lambda b: b.type_name):
        groups.setdefault(block.category, []).append(block)
    rank = {name: i for i, name in enumerate(CATEGORY_ORDER)}
    return dict(sorted(groups.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


__all__ = [
    "Block",
    "BlockCheckError",
    "CATEGORY_ORDER",
    "Port",
    "TensorSpec",
    "block_types",
    "by_category",
    "get_block",
    "register",
    "suggest_type",
]
