"""The weights of a run in progress, for views that use the model as it is now: a language
model's Generate during training, so a person watches the text turn from noise into words.

A copy is taken on the training thread between two steps (never a half-updated model) when
a view asks for one; the view then uses the copy on its own thread while training goes on.
Nothing is copied unless asked, so a run nobody watches pays nothing.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path
from typing import Any

from ..train.callbacks import Callback
from .loaded import TrainedModel


class LiveWeights(Callback):
    """Add to a run's callbacks; `snapshot()` from any other thread."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self._wanted = threading.Event()
        self._taken = threading.Event()
        self._latest: TrainedModel | None = None
        self._lock = threading.Lock()
        #: the run has ended: no step will serve a request any more
        self.ended = False

    def snapshot(self, timeout: float = 30.0) -> TrainedModel | None:
        """A copy of the model after the latest step, with everything generation and the
        probes need; None if the run ended or no step came within `timeout` seconds."""
        if self.ended:
            return None
        with self._lock:
            self._latest = None
            self._taken.clear()
            self._wanted.set()
        self._taken.wait(timeout)
        with self._lock:  # None when the run ended first: nothing was copied
            return self._latest

    def _serve(self) -> None:
        if not self._wanted.is_set():
            return
        self._wanted.clear()
        taken = self._copy()
        with self._lock:
            self._latest = taken
        self._taken.set()

    def _copy(self) -> TrainedModel:
        from ..shapes import infer
        from ..text.vocab import set_vocab

        loop = self.loop
        model = copy.deepcopy(loop.model).eval()
        project = copy.deepcopy(loop.project)
        tokenizer = loop.split.full.tokenizer
        if tokenizer is not None:
            set_vocab(project.graph, tokenizer)
        names = {node: name for name, node in loop.node_ids.items()}
        info = {"live": True, "step": loop.step, "epoch": loop.epoch + 1}
        return TrainedModel(project, project.graph, infer(project.graph), model, names,
                            loop.split.normalization, Path(loop.run_dir or "."), None, info,
                            tokenizer)

    # ---- on the training thread ------------------------------------------------------

    def on_batch_end(self, report: Any) -> None:
        self._serve()

    def on_epoch_end(self, report: Any) -> None:
        self._serve()

    def on_finished(self, result: Any) -> None:
        self._end()

    def on_failed(self, error: Any) -> None:
        self._end()

    def _end(self) -> None:
        self.ended = True
        self._taken.set()  # a view still waiting gets None at once
