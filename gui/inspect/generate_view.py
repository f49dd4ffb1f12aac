"""A language model's Evaluate view: Generate text from a prompt (tokens stream in as they
come), and a validation passage coloured by how surprised the model was at each token."""

from __future__ import annotations

import html
import threading
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QTextCharFormat
from PySide6.QtWidgets import (QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QPlainTextEdit, QPushButton, QSpinBox, QSplitter,
                               QTabWidget, QTextBrowser, QTextEdit, QVBoxLayout, QWidget)

from .. import theme

#: A loss (nats) at or above this is drawn fully red: a token the model did not see coming.
SURPRISED = 4.0


class _Stream(QObject):
    """Tokens from the generating thread to the GUI thread (queued signals)."""

    started = Signal(int, object)  # serial, the TrainedModel the text comes from
    token = Signal(int, int, str)  # serial, token id, text
    done = Signal(int, object)  # serial, error message or None


def _is_generate_key(event: Any) -> bool:
    return (isinstance(event, QKeyEvent) and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and event.modifiers() & Qt.KeyboardModifier.ControlModifier)


def loss_colour(loss: float) -> str:
    """Green for an expected token, through yellow, to red for a surprising one."""
    t = max(0.0, min(1.0, loss / SURPRISED))
    red, green = (int(255 * min(1.0, 2 * t)), int(255 * min(1.0, 2 * (1 - t))))
    return f"rgba({red}, {green}, 60, 0.55)"


def passage_html(tokens: list[str], losses: list[float]) -> str:
    spans = []
    for token, loss in zip(tokens, losses):
        text = html.escape(token).replace("\n", "↵<br>")
        spans.append(f'<span style="background:{loss_colour(loss)}" title="loss {loss:.2f} '
                     f'nats">{text}</span>')
    return ('<div style="font-family: monospace; white-space: pre-wrap">' + "".join(spans)
            + "</div>")


class LanguageModelView(QWidget):
    """Generate controls over the generated text, and the per-token loss passage."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.trained: Any = None
        #: a run in progress (`probe.live.LiveWeights`): Generate copies its weights
        self.live: Any = None
        #: the model the text on show was generated with (what a click looks inside)
        self.text_model: Any = None
        #: the shown text as token ids, and where each token's text lies in the output
        #: ([start, end) characters); the prompt's tokens only where they spell the prompt
        self.ids: list[int] = []
        self.spans: list[tuple[int, int] | None] = []
        self.serial = 0
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.stream = _Stream(self)
        self.stream.started.connect(self._started)
        self.stream.token.connect(self._token)
        self.stream.done.connect(self._done)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        #: left: the prompt, the settings and the text; right: a token's attention, and the
        #: validation passage coloured by surprise (side by side: the Evaluate tab is wide)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(self.splitter)
        left = QWidget()
        layout = QVBoxLayout(left)
        title = QLabel("Generate")
        title.setObjectName("heading")
        layout.addWidget(title)
        form = QFormLayout()
        self.prompt = QLineEdit("ROMEO:")
        self.prompt.setAccessibleName("Prompt")
        form.addRow("Prompt", self.prompt)
        row = QHBoxLayout()
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 5.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.8)
        self.temperature.setToolTip("Below 1 is safer, above 1 wilder; 0 always takes the "
                                    "likeliest token.")
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 100_000)
        self.top_k.setSpecialValueText("all")
        self.top_k.setToolTip("Sample only among the k likeliest tokens (all: no limit).")
        self.length = QSpinBox()
        self.length.setRange(1, 5000)
        self.length.setValue(200)
        for label, widget in (("temperature", self.temperature), ("top-k", self.top_k),
                              ("tokens", self.length)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        self.button = QPushButton("Generate")
        self.button.setMinimumWidth(self.button.sizeHint().width())  # also while it says Stop
        self.button.setToolTip("Continue the prompt (Ctrl+Return); click again to stop.")
        self.button.clicked.connect(self.toggle)
        row.addWidget(self.button)
        row.addStretch(1)
        form.addRow("", row)
        layout.addLayout(form)
        # Ctrl+Return is also the window's Train: inside this view it generates instead
        # (event() claims it before the window's shortcut sees it; see _is_generate_key)
        self.prompt.returnPressed.connect(self.toggle)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setAccessibleName("Generated text")
        self.output.setPlaceholderText("The continuation appears here, token by token.")
        layout.addWidget(self.output, 2)
        self.output.viewport().installEventFilter(self)
        self.status = QLabel("")
        self.status.setObjectName("muted")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        from .token_attention_view import TokenAttentionView

        self.splitter.addWidget(left)
        self.side = QTabWidget()
        self.attention = TokenAttentionView()
        self.side.addTab(self.attention, "Attention of a token")
        surprise = QWidget()
        column = QVBoxLayout(surprise)
        self.summary = QLabel("")
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        column.addWidget(self.summary)
        self.passage = QTextBrowser()
        self.passage.setAccessibleName("Per-token loss")
        column.addWidget(self.passage, 1)
        self.side.addTab(surprise, "Where the model is surprised")
        self.splitter.addWidget(self.side)
        self.splitter.setSizes([1000, 1000])  # halves, however wide the tab opens

    # ---- entry points ----------------------------------------------------------------

    def show_eval(self, ev: Any) -> None:
        """`ev`: a `probe.token_loss.TokenLossEval` (its run is what Generate uses)."""
        self.halt()
        self.trained, self.live = ev.trained, None
        self.passage.setHtml(passage_html(ev.tokens, ev.losses))
        self.side.setCurrentIndex(1)  # what a finished run shows first
        self.summary.setText(
            f"{len(ev.tokens):,} tokens, mean loss {ev.mean:.3f} nats per token (perplexity "
            f"{ev.perplexity:.2f}). Green: the model saw the token coming; red: it did not. "
            "Hover a token for its loss.")
        self.status.setText("")

    def set_live(self, live: Any) -> None:
        """Training has begun: Generate uses the weights of its latest step, each time."""
        self.halt()
        self.trained, self.live = None, live
        self.passage.clear()
        self.summary.setText("Shown when the training has ended.")
        self.status.setStyleSheet("")
        self.status.setText("Training: Generate continues the prompt with the weights of the "
                            "latest step; generate again later to see what it has learnt.")

    def toggle(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            self.halt()
        else:
            self.generate()

    def generate(self) -> None:
        if self.trained is None and self.live is None:
            self.status.setText("Train the model first: Generate continues text with a run.")
            return
        from torchloom.engine.text.generate import GenerateError, generate_text

        self.serial += 1
        serial, stop, stream = self.serial, threading.Event(), self.stream
        fixed, live = self.trained, self.live
        self.stop = stop
        prompt = self.prompt.text()
        settings = (self.length.value(), self.temperature.value(), self.top_k.value() or None)
        self.output.setPlainText(prompt)
        self.output.setExtraSelections([])
        self.ids, self.spans = [], []
        self.status.setStyleSheet("")
        self.status.setText("Generating…" if fixed is not None else
                            "Copying the weights of the latest step…")
        self.button.setText("Stop")

        def work() -> None:
            error = None
            try:
                trained = fixed if fixed is not None else live.snapshot()
                if trained is None:
                    raise GenerateError("the training has ended: its run loads in a moment, "
                                        "then Generate again")
                stream.started.emit(serial, trained)
                generate_text(trained, prompt, *settings, seed=serial,
                              on_token=lambda t, piece: (stream.token.emit(serial, t, piece),
                                                         not stop.is_set())[1])
            except Exception as exc:  # noqa: BLE001 - shown under the text
                describe = getattr(exc, "describe", None)
                error = describe() if callable(describe) else f"{type(exc).__name__}: {exc}"
            try:
                stream.done.emit(serial, error)
            except RuntimeError:  # the window closed meanwhile
                pass

        self.thread = threading.Thread(target=work, name="torchloom-generate", daemon=True)
        self.thread.start()

    def halt(self, timeout: float = 5.0) -> None:
        """Stop a generation in progress (within one token) and wait for it."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
        self.thread = None
        self.button.setText("Generate")

    # ---- from the generating thread ------------------------------------------------

    def _started(self, serial: int, trained: Any) -> None:
        if serial != self.serial:
            return
        self.text_model = trained
        self._prompt_tokens(self.output.toPlainText())
        step = trained.info.get("step") if trained.info.get("live") else None
        if step is not None:
            self.status.setText(f"Generating with the weights of step {step:,} (epoch "
                                f"{trained.info['epoch']}), while training goes on…")

    def _token(self, serial: int, token: int, piece: str) -> None:
        if serial != self.serial:
            return
        cursor = self.output.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        start = cursor.position()
        cursor.insertText(piece)
        self.output.setTextCursor(cursor)
        self.ids.append(token)
        self.spans.append((start, cursor.position()))

    # ---- a click on a token: where it looked -----------------------------------------

    def _prompt_tokens(self, prompt: str) -> None:
        """The prompt's token ids, each with its place in the text where decoding each one
        spells the prompt back (characters; words and BPE may not: then only the
        continuation's tokens can be clicked)."""
        from torchloom.engine.text.generate import context_of, encode_prompt

        self.ids, self.spans = [], []
        model = self.text_model
        try:
            ids = encode_prompt(model.tokenizer, prompt, context_of(model))
        except Exception:  # noqa: BLE001 - generation says what is wrong with the prompt
            return
        pieces = [model.tokenizer.decode([i]) for i in ids]
        self.ids = ids
        if "".join(pieces) != prompt:
            self.spans = [None] * len(ids)
            return
        at = 0
        for piece in pieces:
            self.spans.append((at, at + len(piece)))
            at += len(piece)

    def token_at(self, position: int) -> int | None:
        """The index of the token whose text holds character `position` of the output."""
        for index, span in enumerate(self.spans):
            if span is not None and span[0] <= position < span[1]:
                return index
        return None

    def event(self, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Ctrl+Return with the keyboard anywhere in this view generates, and does not also
        train: a shortcut the window holds too would be ambiguous, and Qt then runs
        neither. Claiming the key on its way to the shortcuts makes it a key press here."""
        if event.type() == QEvent.Type.ShortcutOverride and _is_generate_key(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if _is_generate_key(event):
            if self.focusWidget() is not self.prompt:  # the prompt's Return already did
                self.toggle()
            event.accept()
            return
        super().keyPressEvent(event)

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonRelease and \
                event.button() == Qt.MouseButton.LeftButton and \
                not self.output.textCursor().hasSelection():
            point = event.position().toPoint()
            cursor = self.output.cursorForPosition(point)
            position = cursor.position()
            if self.output.cursorRect(cursor).x() > point.x():  # the character to the left
                position -= 1
            index = self.token_at(position)
            if index is not None:
                self.show_token(index)
        return super().eventFilter(watched, event)

    def show_token(self, index: int) -> None:
        """Show where token `index` of the text looked, and mark it in the text."""
        if self.thread is not None and self.thread.is_alive():
            self.attention.show_message("Stop generating to look inside a token.")
            return
        from torchloom.engine.text.token_attention import token_attention

        try:
            found = token_attention(self.text_model, self.ids, index)
        except Exception as exc:  # noqa: BLE001 - said in the view, the window goes on
            describe = getattr(exc, "describe", None)
            self.attention.show_message(describe() if callable(describe) else str(exc))
            return
        self.attention.show_attention(found)
        self.side.setCurrentWidget(self.attention)
        span = self.spans[index]
        if span is not None:
            mark = QTextEdit.ExtraSelection()
            mark.cursor = self.output.textCursor()
            mark.cursor.setPosition(span[0])
            mark.cursor.setPosition(span[1], mark.cursor.MoveMode.KeepAnchor)
            fmt = QTextCharFormat()
            fmt.setBackground(QColor(90, 150, 255, 140))
            mark.format = fmt
            self.output.setExtraSelections([mark])

    def _done(self, serial: int, error: Any) -> None:
        if serial != self.serial:
            return
        self.button.setText("Generate")
        if error:
            self.status.setStyleSheet(f"color: {theme.current().error}")
            self.status.setText(str(error))
            return
        self.status.setStyleSheet("")
        info = self.text_model.info if self.text_model is not None else {}
        when = (f" with the weights of step {info['step']:,}, epoch {info['epoch']}"
                if info.get("live") else "")
        self.status.setText(f"Done{when} (seed {serial}; Generate again for another sample). "
                            "Click a token to see where it looked.")

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.halt()
        super().closeEvent(event)
