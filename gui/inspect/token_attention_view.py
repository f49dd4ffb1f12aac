"""Where a clicked token looked: one line per head of every attention layer, the tokens
before it shaded by how much attention the head gave each (the darkest: the most, per
line), the exact weight on hover. Each line ends at the clicked token, then names its head."""

from __future__ import annotations

import html
import math
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

HINT = "Click a token of the generated text to see which earlier tokens it attended to."


def _piece(text: str) -> str:
    return html.escape(text).replace("\n", "↵").replace(" ", "&nbsp;") or "∅"


def attention_html(found: Any) -> str:
    """`found`: an `engine.text.token_attention.TokenAttention`."""
    rows = []
    for node, weights in found.layers.items():
        for head in range(weights.shape[0]):
            row = [float(w) for w in weights[head]]
            top = max((w for w in row if not math.isnan(w)), default=0.0) or 1.0
            spans = []
            for key, w in zip(found.keys, row):
                if math.isnan(w):
                    style, title = "color: #888", "masked"
                else:
                    style = f"background: rgba(90, 150, 255, {0.1 + 0.85 * w / top:.2f})"
                    title = f"{w:.3f}"
                spans.append(f'<span style="{style}" title="{html.escape(key)!s}: '
                             f'{title}">{_piece(key)}</span>')
            label = html.escape(f"{node} · head {head}")
            # the label after the tokens: a long row opens scrolled to its end (the clicked
            # token and its neighbours), and the label must be in view there too
            rows.append(f'<tr><td style="font-family: monospace; white-space: nowrap">'
                        f'{"".join(spans)}</td>'
                        f'<td style="padding-left: 8px; white-space: nowrap">{label}</td></tr>')
    return "<table cellspacing='2'>" + "".join(rows) + "</table>"


class TokenAttentionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel(HINT)
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        self.table = QTextBrowser()
        self.table.setAccessibleName("Attention per head over the earlier tokens")
        layout.addWidget(self.table)

    def show_attention(self, found: Any) -> None:
        heads = sum(int(w.shape[0]) for w in found.layers.values())
        self.caption.setText(
            f"Token {found.position} ({found.query!r}): {len(found.layers)} attention "
            f"layer(s), {heads} head(s), over the {len(found.keys)} tokens it saw. Darker: "
            "more attention (per line); hover a token for its weight.")
        self.table.setHtml(attention_html(found))
        # the row ends at the clicked token, and the tokens just before it are those a head
        # looks at most: a long window opens scrolled to its end, not to its first token
        self._to_the_end()
        QTimer.singleShot(0, self._to_the_end)  # again once the layout has settled

    def _to_the_end(self) -> None:
        bar = self.table.horizontalScrollBar()
        bar.setValue(bar.maximum())

    def show_message(self, text: str) -> None:
        self.caption.setText(text)
        self.table.clear()
