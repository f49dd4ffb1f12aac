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


#: Cool to hot, for the cost overlay: cheap blocks recede, expensive ones glow.
HEAT = ((0.0, (59, 110, 168)), (0.5, (240, 199, 94)), (1.0, (240, 84, 84)))


def heat_rgb(level: float) -> tuple[int, int, int]:
    """0..1 -> an (r, g, b) on the HEAT scale."""
    level = min(max(level, 0.0), 1.0)
    for (a, ca), (b, cb) in zip(HEAT, HEAT[1:]):
        if level <= b:
            t = (level - a) / (b - a)
            return tuple(round(x + (y - x) * t) for x, y in zip(ca, cb))  # type: ignore[return-value]
    return HEAT[-1][1]
