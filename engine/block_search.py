"""Finding a block by a few typed letters: one ranking for the palette's search field and
the canvas's Tab box, so both put the same block first.

The list is ranked, not just filtered: the block named exactly what was typed comes first,
then the names that start with it, then the names that contain it, then blocks whose
category matches. So `ReLU` picks ReLU, not LeakyReLU, which sorts first alphabetically.
Ties keep the catalogue's order, which puts the most used blocks first (`MOST_USED`).
"""

from __future__ import annotations

from typing import Iterable

#: How a block matches the typed text, best first.
EXACT, PREFIX, CONTAINS, CATEGORY = range(4)


def match_rank(needle: str, name: str, category: str) -> int | None:
    """How well `name` (in `category`) matches `needle`, lower is better; None: no match.
    Case is ignored; an empty needle matches every block equally."""
    needle, low = needle.strip().lower(), name.lower()
    if not needle:
        return CONTAINS
    if low == needle:
        return EXACT
    if low.startswith(needle):
        return PREFIX
    if needle in low:
        return CONTAINS
    if needle in category.lower():
        return CATEGORY
    return None


def rank_blocks(needle: str, blocks: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (name, category) pairs that match `needle`, best first; ties keep their order
    (the catalogue's)."""
    ranked = [(rank, i, block) for i, block in enumerate(blocks)
              if (rank := match_rank(needle, *block)) is not None]
    return [block for _rank, _i, block in sorted(ranked)]
