"""The palette's order: the blocks most models use come first in their category."""

from __future__ import annotations

from torchloom.engine.blocks import MOST_USED, by_category, get_block


def test_every_most_used_name_is_a_block():
    assert len(set(MOST_USED)) == len(MOST_USED)
    assert [name for name in MOST_USED if get_block(name) is None] == []


def test_each_category_lists_its_most_used_blocks_first_then_the_rest_by_name():
    rank = {name: i for i, name in enumerate(MOST_USED)}
    for category, blocks in by_category().items():
        names = [b.type_name for b in blocks]
        common = [n for n in names if n in rank]
        assert names[:len(common)] == sorted(common, key=rank.get), category
        rest = names[len(common):]
        assert rest == sorted(rest), category
    assert [b.type_name for b in by_category()["Convolution"]][0] == "Conv2d"
