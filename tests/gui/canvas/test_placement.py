"""Where a new block goes: `free_offset` finds the nearest spot clear of every block."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from torchloom.gui.canvas.placement import CLEARANCE, free_offset, union

BOX = (0.0, 0.0, 200.0, 100.0)


def shifted(box, d):
    return (box[0] + d[0], box[1] + d[1], box[2] + d[0], box[3] + d[1])


def clear(box, taken, clearance=CLEARANCE):
    """Whether `box` keeps `clearance` from every rectangle (touching the margin is clear)."""
    eps = 1e-6
    return not any(box[0] < r[2] + clearance - eps and box[2] > r[0] - clearance + eps
                   and box[1] < r[3] + clearance - eps and box[3] > r[1] - clearance + eps
                   for r in taken)


def test_a_box_that_is_already_clear_stays():
    assert free_offset(BOX, []) == (0.0, 0.0)
    assert free_offset(BOX, [(500, 500, 700, 600)]) == (0.0, 0.0)


def test_an_overlapping_box_moves_the_short_way_out():
    # the block sits 30 below the wanted spot's top: going up clears it with 30 + 100 + 24,
    # going down needs 100 - 30 + 24 = 94, sideways needs 224
    taken = [(0.0, 30.0, 200.0, 130.0)]
    assert free_offset(BOX, taken) == (0.0, -(100.0 + CLEARANCE - 30.0))
    # the same block offset to the right: left is now the shortest
    taken = [(150.0, 0.0, 350.0, 100.0)]
    assert free_offset(BOX, taken) == (-(50.0 + CLEARANCE), 0.0)


def test_a_gap_wide_enough_is_used_and_a_narrow_one_is_not():
    wide = 200.0 + 2 * CLEARANCE
    left, right = (-300.0, 0.0, -10.0, 100.0), (-10.0 + wide, 0.0, 400.0, 100.0)
    assert free_offset(BOX, [left, right]) == (-10.0 + CLEARANCE, 0.0)
    narrow = (-11.0 + wide, 0.0, 400.0, 100.0)  # one unit short: over or under instead
    dx, dy = free_offset(BOX, [left, narrow])
    assert abs(dy) == 100.0 + CLEARANCE and clear(shifted(BOX, (dx, dy)), [left, narrow])


def test_min_left_keeps_the_box_right_of_a_line_even_when_left_is_shorter():
    taken = [(150.0, 0.0, 350.0, 100.0)]
    dx, dy = free_offset(BOX, taken, min_left=0.0)
    assert BOX[0] + dx >= 0.0
    assert (dx, dy) == (0.0, 100.0 + CLEARANCE) or (dx, dy) == (0.0, -(100.0 + CLEARANCE))
    # with nothing in the way, min_left alone moves the box to it
    assert free_offset(BOX, [], min_left=40.0) == (40.0, 0.0)
    assert free_offset(BOX, [(900, 900, 950, 950)], min_left=40.0) == (40.0, 0.0)


@pytest.mark.parametrize("seed", range(12))
def test_the_offset_is_clear_and_nothing_clear_is_nearer(seed):
    """Against a brute-force search over a fine grid of shifts."""
    rng = random.Random(seed)
    taken = []
    for _ in range(rng.randint(1, 9)):
        x, y = rng.uniform(-400, 400), rng.uniform(-300, 300)
        taken.append((x, y, x + rng.uniform(40, 260), y + rng.uniform(40, 160)))
    min_left = rng.choice([None, rng.uniform(-200, 200)])
    dx, dy = free_offset(BOX, taken, min_left=min_left)
    assert clear(shifted(BOX, (dx, dy)), taken)
    if min_left is not None:
        assert BOX[0] + dx >= min_left - 1e-6
    found = math.hypot(dx, dy)
    step = 8.0
    reach = int(found / step) + 1
    for i in range(-reach, reach + 1):
        for j in range(-reach, reach + 1):
            d = (i * step, j * step)
            if math.hypot(*d) >= found - 1e-6:
                continue
            if min_left is not None and BOX[0] + d[0] < min_left:
                continue
            assert not clear(shifted(BOX, d), taken), (d, (dx, dy))


def test_union_holds_every_rectangle():
    assert union([(0, 0, 10, 10), (-5, 3, 4, 20), (2, -1, 30, 5)]) == (-5, -1, 30, 20)


@pytest.mark.parametrize("seed", range(6))
def test_on_a_crowded_canvas_the_spot_is_as_near_as_a_search_over_every_block(seed):
    """Only the blocks near the box are searched (a search over every pair of edges of
    3,000 scattered blocks took seconds): the spot is still clear of every block, and no
    search over all of them finds a nearer one."""
    from torchloom.gui.canvas.placement import _nearest_free

    rng = random.Random(seed)
    taken = []
    for _ in range(400):
        x, y = rng.uniform(-3000, 3000), rng.uniform(-2000, 2000)
        taken.append((x, y, x + 160.0, y + 60.0))
    # a cluster where the block is wanted, so it has to move
    taken += [(i * 170.0, j * 70.0, i * 170.0 + 160.0, j * 70.0 + 60.0)
              for i in range(-3, 4) for j in range(-9, 10)]
    min_left = rng.choice([None, rng.uniform(-100.0, 300.0)])
    dx, dy = free_offset(BOX, taken, min_left=min_left)
    assert clear(shifted(BOX, (dx, dy)), taken)
    whole = _nearest_free(BOX, np.asarray(taken, dtype=float), CLEARANCE, min_left)
    assert math.hypot(dx, dy) == pytest.approx(math.hypot(*whole))
