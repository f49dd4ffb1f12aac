"""Block search: the block named exactly what was typed wins, then prefixes, then the rest."""

from __future__ import annotations

from torchloom.engine.block_search import rank_blocks
from torchloom.engine.blocks import by_category

CATALOGUE = [("LeakyReLU", "Activation"), ("ReLU", "Activation"), ("GELU", "Activation"),
             ("MaxPool2d", "Pooling"), ("AdaptiveAvgPool2d", "Pooling"), ("Linear", "Core")]


def test_exact_name_then_prefix_then_contains_then_category():
    names = [name for name, _ in rank_blocks("relu", CATALOGUE)]
    assert names == ["ReLU", "LeakyReLU"]
    assert [n for n, _ in rank_blocks("pool", CATALOGUE)] == ["MaxPool2d", "AdaptiveAvgPool2d"]
    assert [n for n, _ in rank_blocks("Max", CATALOGUE)] == ["MaxPool2d"]
    # "activ" is in no name: the Activation category's blocks, in catalogue order
    assert [n for n, _ in rank_blocks("activ", CATALOGUE)] == ["LeakyReLU", "ReLU", "GELU"]
    assert [n for n, _ in rank_blocks("  ", CATALOGUE)] == [n for n, _ in CATALOGUE]
    assert rank_blocks("zzz", CATALOGUE) == []


def test_ties_keep_the_catalogue_order_so_the_most_used_block_of_a_kind_comes_first():
    catalogue = [(b.type_name, c) for c, blocks in by_category().items() for b in blocks]
    assert rank_blocks("conv", catalogue)[0][0] == "Conv2d"
    assert rank_blocks("pool", catalogue)[0][0] == "MaxPool2d"
    assert rank_blocks("norm", catalogue)[0][0] == "BatchNorm2d"
