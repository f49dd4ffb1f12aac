"""Where a new block goes: the free spot nearest to where it was wanted.

A block added by a drop, Tab, the palette or a paste never lands on another one: it moves
the least distance that clears every block on the canvas by `CLEARANCE`. A block added
*after* a selected one (Tab or a palette double-click with one block selected) is wanted a
wire's length to its right and never goes left of that, so a typed chain reads left to
right. Plain geometry over (left, top, right, bottom) rectangles in scene coordinates.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Rect = tuple[float, float, float, float]  # left, top, right, bottom

#: Clear space kept around a placed block (its ports and badge already included).
CLEARANCE = 24.0
#: The length of the wire from a block to the one placed after it: room for the shape
#: label the wire carries ("N×32×26×26").
CHAIN_GAP = 110.0

_CHUNK = 2048
_EPS = 1e-6


def free_offset(box: Rect, taken: Sequence[Rect], clearance: float = CLEARANCE,
                min_left: float | None = None) -> tuple[float, float]:
    """The shortest shift (dx, dy) that keeps `box` at least `clearance` away from every
    rectangle in `taken`; with `min_left`, the shifted box's left edge stays at or right of
    it. (0, 0) when the box is already clear.

    Only the blocks near the box are searched, in a window that doubles until the spot
    found lies inside it with its clearance: blocks wholly outside cannot touch that spot,
    nor make a nearer one (a nearest spot touches the blocks that fix it). The search over
    every block tries each pair of their edges, which on 3,000 scattered blocks took
    seconds and on 10,000 would not fit in memory."""
    left, top, right, bottom = box
    if not len(taken):
        return (0.0, 0.0) if min_left is None else (max(0.0, min_left - left), 0.0)
    t = np.asarray(taken, dtype=float).reshape(-1, 4)
    reach = 2.0 * (max(right - left, bottom - top) + clearance)
    if min_left is not None:
        reach += max(0.0, min_left - left)
    while True:
        near = t[(t[:, 2] > left - reach) & (t[:, 0] < right + reach)
                 & (t[:, 3] > top - reach) & (t[:, 1] < bottom + reach)]
        dx, dy = _nearest_free(box, near, clearance, min_left)
        if len(near) == len(t) or max(abs(dx), abs(dy)) + clearance <= reach:
            return (dx, dy)
        reach *= 2.0


def _nearest_free(box: Rect, t: np.ndarray, clearance: float, min_left: float | None
                  ) -> tuple[float, float]:
    """`free_offset` against the rectangles `t` (an array of rows), all of them."""
    left, top, right, bottom = box
    if not len(t):
        return (0.0, 0.0) if min_left is None else (max(0.0, min_left - left), 0.0)
    t_left, t_top = t[:, 0] - clearance, t[:, 1] - clearance
    t_right, t_bottom = t[:, 2] + clearance, t[:, 3] + clearance
    # The nearest clear spot has each coordinate either where it was wanted or touching
    # some block's cleared edge, so those are the only candidates worth trying.
    dxs = np.unique(np.concatenate(([0.0], t_right - left, t_left - right)))
    dys = np.unique(np.concatenate(([0.0], t_bottom - top, t_top - bottom)))
    if min_left is not None:
        floor = min_left - left
        dxs = np.unique(np.concatenate(([floor], dxs[dxs >= floor])))
    gx, gy = np.meshgrid(dxs, dys)
    gx, gy = gx.ravel(), gy.ravel()
    order = np.argsort(np.hypot(gx, gy), kind="stable")
    for start in range(0, order.size, _CHUNK):
        chosen = order[start:start + _CHUNK]
        cx, cy = gx[chosen][:, None], gy[chosen][:, None]
        hits = ((left + cx < t_right - _EPS) & (right + cx > t_left + _EPS)
                & (top + cy < t_bottom - _EPS) & (bottom + cy > t_top + _EPS))
        clear = ~hits.any(axis=1)
        if clear.any():
            best = chosen[int(np.argmax(clear))]
            return (float(gx[best]), float(gy[best]))
    # Unreachable: shifting past the rightmost block is always clear.
    return (float(t_right.max() - left), 0.0)


def union(rects: Sequence[Rect]) -> Rect:
    """The smallest rectangle holding all of `rects`."""
    return (min(r[0] for r in rects), min(r[1] for r in rects),
            max(r[2] for r in rects), max(r[3] for r in rects))
