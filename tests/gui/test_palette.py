"""The palette with the whole catalogue: categories that close with a click and stay closed,
and a search that puts the exact name on top, highlighted, for Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt

from torchloom.gui.palette import Palette

from .conftest import settle


def make_palette(qtbot) -> Palette:
    palette = Palette()
    qtbot.addWidget(palette)
    palette.resize(240, 700)
    palette.show()
    settle()
    return palette


def click_category(qtbot, palette: Palette, name: str) -> None:
    group = next(g for g, _ in palette.groups if g.text(0) == name)
    palette.tree.scrollToItem(group)
    rect = palette.tree.visualItemRect(group)
    qtbot.mouseClick(palette.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    settle()


def test_a_click_on_a_category_closes_it_and_it_stays_closed_next_time(qtbot):
    palette = make_palette(qtbot)
    assert "Conv2d" in palette.shown_names()
    click_category(qtbot, palette, "Convolution")
    assert "Conv2d" not in palette.shown_names() and "ReLU" in palette.shown_names()

    again = make_palette(qtbot)  # the next start of the app
    assert "Conv2d" not in again.shown_names()
    click_category(qtbot, again, "Convolution")
    assert "Conv2d" in again.shown_names()
    assert "Conv2d" in make_palette(qtbot).shown_names()


def test_search_lists_the_exact_name_first_highlighted_and_enter_adds_it(qtbot):
    palette = make_palette(qtbot)
    click_category(qtbot, palette, "Activation")  # closed categories open for a search
    added: list[str] = []
    palette.add_requested.connect(added.append)
    palette.search.setFocus()
    qtbot.keyClicks(palette.search, "relu")
    settle()
    shown = palette.shown_names()
    assert shown[0] == "ReLU" and "LeakyReLU" in shown[1:]
    assert palette.tree.currentItem().text(0) == "ReLU"
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert added == ["ReLU"]

    palette.search.clear()  # everything back, in catalogue order, Activation closed again
    settle()
    assert "ReLU" not in palette.shown_names()
    assert palette.shown_names()[0] == "Input"


def test_a_search_puts_the_category_of_the_best_match_on_top(qtbot):
    palette = make_palette(qtbot)
    qtbot.keyClicks(palette.search, "linear")
    settle()
    assert palette.shown_names()[0] == "Linear"
    assert palette.tree.topLevelItem(0).text(0) == "Core"


def test_down_in_the_search_moves_into_the_list_at_the_highlighted_block(qtbot):
    palette = make_palette(qtbot)
    palette.activateWindow()
    palette.search.setFocus()
    qtbot.keyClicks(palette.search, "pool")
    qtbot.keyClick(palette.search, Qt.Key.Key_Down)
    settle()
    assert palette.tree.hasFocus()
    assert palette.tree.currentItem().text(0) == "MaxPool2d"


def test_every_category_but_merge_and_code_has_its_own_colour():
    from torchloom.engine.blocks import CATEGORY_ORDER
    from torchloom.gui.theme import CATEGORY_COLORS, DEFAULT_CATEGORY_COLOR

    coloured = [c for c in CATEGORY_ORDER if c not in ("Merge", "Code")]
    assert all(CATEGORY_COLORS.get(c, DEFAULT_CATEGORY_COLOR) != DEFAULT_CATEGORY_COLOR
               for c in coloured), [c for c in coloured if c not in CATEGORY_COLORS]
    assert len({CATEGORY_COLORS[c] for c in coloured}) == len(coloured)


def test_each_category_shows_its_most_used_blocks_first_and_a_search_keeps_that(qtbot,
                                                                                tmp_path):
    palette = make_palette(qtbot)
    shown = palette.shown_names()
    assert len(palette.items) >= 80
    assert shown.index("Conv2d") < shown.index("Conv1d")  # not the alphabet's order
    assert shown.index("MaxPool2d") < shown.index("AdaptiveAvgPool1d")
    qtbot.keyClicks(palette.search, "conv")  # every match starts with it: most used first
    settle()
    assert palette.shown_names()[:2] == ["Conv2d", "Conv1d"]
    palette.grab().save(str(tmp_path / "palette_conv.png"))
