"""The Inspect panel: what one node of the trained model does to the probe samples.

Click a node on the canvas: convolutions show their feature maps, attention blocks one
heatmap per head, everything else a histogram and its strongest units. After a run (or
when a run is picked in Runs) the run's weights are loaded and the whole probe batch is
captured once, off the GUI thread; clicking through nodes then only redraws. While
training, live probes from the run loop replace the capture, so the maps change as the
model learns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QStackedWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from .activation_view import ActivationView
from .attention_view import AttentionView
from .feature_view import FeatureMapView
from .jobs import Jobs
from .lazy_page import LazyPage
from .sample_views import is_image, thumbnail, token_names
from .weights_view import WeightsView

HINT = ("Train the model (or pick a run in Runs), then click a block on the canvas to see "
        "what it does to a few validation samples.")


def _load_and_capture(run_dir: Path, project: Any) -> tuple[Any, Any, Any]:
    """Worker-thread job: the run's model, its probe batch and one capture of every node."""
    from torchloom.engine.probe.activations import capture
    from torchloom.engine.probe.loaded import load_trained, probe_batch_for

    trained = load_trained(run_dir, project)
    batch = probe_batch_for(trained)
    result = capture(trained.model, trained.prepare(batch.x), trained.names)
    return trained, batch, result


class InspectPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = Jobs(self)
        self.trained: Any = None
        self.batch: Any = None  # ProbeBatch
        self.result: Any = None  # ProbeResult
        self.tokens: list[str] | None = None
        self.node_id: str | None = None
        self.node_type = ""
        self.source = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        top = QHBoxLayout()
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.title, 1)
        self.thumb = QLabel("")
        self.thumb.setFixedHeight(40)
        top.addWidget(self.thumb)
        top.addWidget(QLabel("Sample"))
        self.sample = QComboBox()
        self.sample.setAccessibleName("Probe sample")
        self.sample.setMinimumWidth(150)
        self.sample.setToolTip("One of the run's probe samples: a few per class, fixed for "
                               "the whole run")
        self.sample.currentIndexChanged.connect(lambda _i: self.redraw())
        top.addWidget(self.sample)
        layout.addLayout(top)
        self.stack = QStackedWidget()
        self.message = QLabel(HINT)
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setObjectName("muted")
        self._pages = {"features": LazyPage(FeatureMapView),
                       "attention": LazyPage(AttentionView),
                       "activations": LazyPage(ActivationView)}
        for page in (self.message, *self._pages.values()):
            self.stack.addWidget(page)
        self.weights = WeightsView()
        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.stack, "Activations")
        self.views.addTab(self.weights, "Weights && gradients")
        self.views.setTabToolTip(1, "The block's weight and gradient histograms over the run, "
                                    "and every layer's gradient norm per epoch")
        layout.addWidget(self.views, 1)
        self._update_title()

    @property
    def features(self) -> FeatureMapView:
        return self._pages["features"].view()

    @property
    def attention(self) -> AttentionView:
        return self._pages["attention"].view()

    @property
    def activations(self) -> ActivationView:
        return self._pages["activations"].view()

    def shown_view(self) -> QWidget:
        """What the stack shows: the message or a view (not the page that holds it)."""
        page = self.stack.currentWidget()
        return page.view() if isinstance(page, LazyPage) else page

    def _show_page(self, name: str) -> None:
        self.stack.setCurrentWidget(self._pages[name])

    # ---- sources -----------------------------------------------------------------------

    def clear(self, text: str = HINT, weights: bool = True) -> None:
        self.jobs.cancel("load")
        if weights:  # a run whose capture failed may still have its statistics
            self.jobs.cancel("stats")
            self.weights.clear()
        self.trained = self.batch = self.result = None
        self.source = ""
        self._fill_samples()
        self.say(text)

    def load_run(self, run_dir: Path, project: Any, label: str | None = None) -> None:
        """Load a run's weights and capture its probe batch, in the background."""
        self.say(f"Loading {label or run_dir.name}…")
        self.jobs.submit("load", lambda: _load_and_capture(run_dir, project),
                         lambda out: self._loaded(out, label or run_dir.name),
                         lambda message: self.clear(f"Cannot inspect {run_dir.name}: {message}",
                                                    weights=False))
        self.load_stats(run_dir)

    def load_stats(self, run_dir: Path) -> None:
        """Read a run's stats.jsonl for Weights & gradients, in the background."""
        from torchloom.engine.probe.stats_history import StatsHistory

        self.jobs.submit("stats", lambda: StatsHistory.read(run_dir),
                         lambda history: self.weights.set_history(history),
                         lambda message: self.weights.clear(message))

    def _loaded(self, out: tuple[Any, Any, Any], label: str) -> None:
        self.trained, batch, result = out
        data = self.trained.info.get("data") or {}
        self._use_batch(batch, token_names(data.get("tokens"), self.trained.tokenizer))
        self.result = result
        self.source = f"run {label}"
        self.redraw()

    def start_live(self, batch: Any, tokens: list[str] | None) -> None:
        """A run began: its probe batch, before the first live probe arrives."""
        self.jobs.cancel("load")
        self.jobs.cancel("stats")
        self.weights.clear("Waiting for the first capture of the weights and gradients…")
        self.trained, self.result = None, None
        self._use_batch(batch, tokens)
        self.source = "live: waiting for the first probe"
        self.redraw()

    def show_probe(self, result: Any) -> None:
        """A live probe from the training run."""
        if self.batch is None:
            return
        self.result = result
        self.source = f"live · epoch {result.epoch}, step {result.step}"
        self.redraw()

    def show_stats(self, captures: list[Any]) -> None:
        """Per-layer captures from the training run (stats.jsonl lines as they are written)."""
        self.weights.add_captures(captures)

    def _use_batch(self, batch: Any, tokens: list[str] | None) -> None:
        """`tokens`: what each token id means (`token_names`), or None."""
        same = (self.batch is not None and batch is not None and len(self.batch) == len(batch)
                and bool((self.batch.index == batch.index).all()))
        self.batch, self.tokens = batch, tokens
        if not same:
            self._fill_samples()

    def _fill_samples(self) -> None:
        self.sample.blockSignals(True)
        self.sample.clear()
        if self.batch is not None:
            for i in range(len(self.batch)):
                self.sample.addItem(self.batch.label(i))
        self.sample.blockSignals(False)

    # ---- the node ----------------------------------------------------------------------

    def show_node(self, node_id: str | None, type_name: str = "") -> None:
        self.node_id, self.node_type = node_id, type_name
        self.weights.show_node(node_id)
        self.redraw()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)
        self._update_title()

    @property
    def sample_index(self) -> int:
        return max(self.sample.currentIndex(), 0)

    def _update_title(self, shape: str = "") -> None:
        parts = []
        if self.node_id:
            parts.append(f"<b>{self.node_id}</b>" + (f" · {self.node_type}"
                                                      if self.node_type else ""))
        if shape:
            parts.append(f"output {shape}")
        if self.source:
            parts.append(self.source)
        self.title.setText("  ·  ".join(parts) or "<b>Inspect</b>")

    def redraw(self) -> None:
        self._show_sample()
        if self.result is None:
            if self.batch is None and self.trained is None and self.message.text() == HINT:
                self.say(HINT)
            elif self.batch is not None:
                self.say("Waiting for the first live probe…")
            return
        if self.node_id is None:
            self.say("Click a block on the canvas to look inside it.")
            return
        probe = self.result.nodes.get(self.node_id)
        if probe is None:
            skipped = self.node_id in self.result.extra.get("skipped", [])
            self.say(f"{self.node_id}'s output is too large to probe." if skipped else
                     f"{self.node_id} has no layer to look into (an Input, or a block not "
                     "wired to the output).")
            return
        i = min(self.sample_index, probe.activation.shape[0] - 1)
        act = probe.activation[i].numpy()
        shape = "[N, " + ", ".join(map(str, act.shape)) + "]"
        if self.node_type == "ReLU":  # units silent on every probe sample
            dead = float((probe.activation == 0).all(dim=0).float().mean())
            shape += f" · {100 * dead:.0f} % of units dead on the probe samples"
        self._update_title(shape)
        if probe.attention is not None:
            weights = probe.attention[i].numpy()
            queries, keys = self._token_labels(weights.shape[1], weights.shape[2])
            self.attention.show_weights(weights, queries, keys)
            self._show_page("attention")
        elif act.ndim == 3:
            self.features.show_maps(act)
            self._show_page("features")
        else:
            self.activations.show_values(act)
            self._show_page("activations")

    def _token_labels(self, length: int, source: int) -> tuple[list[str] | None,
                                                               list[str] | None]:
        """Token names of the selected sample for the axes, where the input is tokens and
        the attention runs over them (self-attention on the input sequence)."""
        if self.batch is None:
            return None, None
        from torchloom.engine.data.inputs import shown_samples

        x = shown_samples(self.batch.x)[self.sample_index]
        if x.dim() != 1 or x.is_floating_point() or len(x) != length or length != source:
            return None, None
        ids = x.tolist()
        names = self.tokens
        labels = [names[t] if names and 0 <= t < len(names) else str(t) for t in ids]
        return labels, labels

    def _show_sample(self) -> None:
        if self.batch is None:
            self.thumb.clear()
            return
        from torchloom.engine.data.inputs import shown_samples

        x = shown_samples(self.batch.x)[self.sample_index]
        if is_image(tuple(x.shape)):
            self.thumb.setPixmap(thumbnail(x.numpy(), 40))
        else:
            ids = x.reshape(-1).tolist()[:12]
            if not x.is_floating_point() and self.tokens:
                text = " ".join(self.tokens[t] if 0 <= t < len(self.tokens) else str(t)
                                for t in ids)
            else:
                text = " ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in ids)
            self.thumb.setText(text)

    def apply_theme(self) -> None:
        built = [page.view() for page in self._pages.values() if page.built]
        for view in (*built, self.weights):  # a view built later takes the theme then
            view.apply_theme()
        self.redraw()

