"""How numbers and shapes read on the canvas."""

from __future__ import annotations

from typing import Sequence


def format_shape(shape: Sequence[int] | None) -> str:
    """(32, 13, 13) -> 'N×32×13×13'; the batch is always N."""
    if shape is None:
        return "?"
    return "×".join(["N", *map(str, shape)])


def format_count(n: int) -> str:
    """225034 -> '225,034' below a million, '1.2M' above."""
    if n >= 10_000_000:
        return f"{n / 1e6:.0f}M"
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    return f"{n:,}"
