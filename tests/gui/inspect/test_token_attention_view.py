"""The attention of one clicked token, alone: one line per head, and a long window opens at
its end, where the clicked token and its nearest neighbours are."""

from __future__ import annotations

import torch

from torchloom.engine.text.token_attention import TokenAttention
from torchloom.gui.inspect.token_attention_view import TokenAttentionView


def _found(keys: int) -> TokenAttention:
    weights = torch.softmax(torch.arange(keys, dtype=torch.float32).repeat(2, 1), dim=-1)
    return TokenAttention(position=keys - 1, query="e", keys=["ab"] * (keys - 1) + ["e"],
                          layers={"block": weights})


def test_a_long_window_opens_scrolled_to_the_clicked_token(qtbot):
    view = TokenAttentionView()
    qtbot.addWidget(view)
    view.resize(420, 300)
    view.show()
    qtbot.waitExposed(view)
    view.show_attention(_found(128))
    bar = view.table.horizontalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    assert view.caption.text().startswith("Token 127 ('e'): 1 attention layer(s), 2 head(s)")
    assert view.table.toPlainText().count("block · head") == 2


def test_a_short_window_needs_no_scrolling(qtbot):
    view = TokenAttentionView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    view.show_attention(_found(6))
    qtbot.wait(10)
    assert view.table.horizontalScrollBar().value() == 0
