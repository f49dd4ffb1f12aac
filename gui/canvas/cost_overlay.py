"""The cost overlay: colour blocks by parameters, FLOPs or measured time, and say whether a
training batch fits in the device's memory, in a strip on the canvas itself.

The numbers come from `engine.probe.cost` on a snapshot of the graph, computed off the GUI
thread (measuring time runs every block forward and backward, which takes a moment) and
redone, coalesced, after edits and setting changes.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QWidget

from .. import theme
from ..inspect.jobs import Jobs

#: (key, menu text); None switches the colours off.
METRICS: tuple[tuple[str | None, str], ...] = (
    (None, "No colours"), ("params", "Parameters"), ("flops", "FLOPs"),
    ("time", "Measured time"))


def _compute(graph_json: dict[str, Any], batch: int, device: str, optimizer: str,
             amp: str | None, measure: bool, units_json: dict[str, Any] | None = None,
             vocab_size: int | None = None, heads: tuple[str, ...] = ()) -> dict[str, Any]:
    """Worker-thread job: costs of every node and the memory sentence. `vocab_size` is
    what a ``"vocab"`` size means (the file keeps the word; the data gave the number)."""
    from torchloom.engine.probe.cost import fits_on, memory_estimate, node_costs
    from torchloom.engine.project import _Reader, graph_from_dict
    from torchloom.engine.shapes import infer

    graph, _ = graph_from_dict(graph_json)
    graph.heads = heads  # several outputs, each with a head: not an error
    if units_json:  # unit nodes read their definitions (a copy: the worker owns it)
        from torchloom.engine.units.fileformat import units_from_dict

        graph.units = units_from_dict(units_json, _Reader(None))
    graph.vocab_size = vocab_size
    analysis = infer(graph)
    if not analysis.ok:
        return {"costs": {}, "memory": "", "fits": None, "ok": False}
    costs = node_costs(graph, analysis, batch, measure=device if measure else None,
                       repeats=3)
    estimate = memory_estimate(graph, analysis, batch, optimizer, amp)
    fits, sentence = fits_on(estimate, device)
    return {"costs": costs, "memory": sentence, "fits": fits, "ok": True, "measured": measure}


def level(value: float, top: float) -> float:
    """Log scale: costs span orders of magnitude, and a linear scale would paint all but the
    biggest block cold."""
    if top <= 0 or value <= 0:
        return 0.0
    return math.log1p(value) / math.log1p(top)


def format_flops(n: float) -> str:
    for unit, size in (("GFLOPs", 1e9), ("MFLOPs", 1e6), ("kFLOPs", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} FLOPs"


class CostOverlay(QObject):
    """Owns the strip on the canvas and paints the scene's node items."""

    metric_changed = Signal(object)  # the key from METRICS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.jobs = Jobs(self)
        self.metric: str | None = None
        self.document: Any = None
        self.scene: Any = None
        self.view: Any = None
        self.result: dict[str, Any] | None = None
        self.strip: QFrame | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._start)

    # ---- wiring ------------------------------------------------------------------------

    def attach(self, document: Any, scene: Any, view: Any) -> None:
        self.document, self.scene, self.view = document, scene, view
        self.result = None
        if document is None:
            return
        self._build_strip(view)
        document.analysis_changed.connect(self.refresh)
        document.settings_changed.connect(self.refresh)
        self.refresh()

    def _build_strip(self, view: QWidget) -> None:
        strip = QFrame(view)
        strip.setObjectName("costStrip")
        layout = QHBoxLayout(strip)
        layout.setContentsMargins(8, 4, 8, 4)
        self.combo = QComboBox(strip)
        for key, text in METRICS:
            self.combo.addItem(text, key)
        self.combo.setToolTip("Colour the blocks by their cost")
        self.combo.setCurrentIndex([k for k, _ in METRICS].index(self.metric))
        self.combo.currentIndexChanged.connect(
            lambda i: self.set_metric(self.combo.itemData(i)))
        self.label = QLabel("", strip)
        layout.addWidget(QLabel("Colour by", strip))
        layout.addWidget(self.combo)
        layout.addWidget(self.label, 1)
        self.strip = strip
        self._style_strip()
        view.installEventFilter(self)
        strip.show()
        self._place()

    def _style_strip(self) -> None:
        if self.strip is None:
            return
        c = theme.current()
        self.strip.setStyleSheet(
            f"#costStrip {{ background: {c.label_background}; border: 1px solid "
            f"{c.node_border}; border-radius: 6px; }} QLabel {{ color: {c.label_text}; }}")

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if obj is self.view and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        if self.strip is None or self.view is None:
            return
        self.strip.adjustSize()
        width = min(self.view.width() - 24, max(self.strip.sizeHint().width(), 420))
        self.strip.resize(width, self.strip.sizeHint().height())
        self.strip.move(12, self.view.height() - self.strip.height() - 12)

    # ---- computing ---------------------------------------------------------------------

    def set_metric(self, metric: str | None) -> None:
        changed = metric != self.metric
        self.metric = metric
        if changed:
            self.metric_changed.emit(metric)
        if self.strip is not None and self.combo.itemData(self.combo.currentIndex()) != metric:
            self.combo.setCurrentIndex([k for k, _ in METRICS].index(metric))
        needs_time = metric == "time" and not (self.result or {}).get("measured")
        if needs_time:
            self.refresh()
        else:
            self._paint()

    def refresh(self) -> None:
        """The graph or the settings changed: recompute soon (edits come in bursts)."""
        self._timer.start()

    def _start(self) -> None:
        doc = self.document
        if doc is None or doc.analysis is None:
            return
        from torchloom.engine.project import graph_to_dict

        config = doc.project.training_config()
        measure = self.metric == "time"
        if measure:
            self.label.setText("Measuring every block forward and backward…")
        graph_json = graph_to_dict(doc.graph)
        heads = tuple(doc.graph.heads)
        units = getattr(doc.project, "units", None)
        units_json = None
        if units:
            from torchloom.engine.units.fileformat import units_to_dict

            units_json = units_to_dict(units)
        self.jobs.submit("cost", lambda: _compute(
            graph_json, int(config["batch_size"]), str(config["device"]),
            str(config["optimizer"]), config.get("amp"), measure, units_json,
            doc.graph.vocab_size, heads), self._done, self._failed)

    def _done(self, result: dict[str, Any]) -> None:
        self.result = result
        self._paint()

    def _failed(self, message: str) -> None:
        self.result = None
        if self.strip is not None:
            self.label.setText(f"Cannot estimate the cost: {message}")
        self._paint()

    # ---- showing -----------------------------------------------------------------------

    def _paint(self) -> None:
        scene, result = self.scene, self.result
        if scene is None:
            return
        costs = (result or {}).get("costs", {})
        key = self.metric
        values = {n: self._value(c, key) for n, c in costs.items()} if key else {}
        values = {n: v for n, v in values.items() if v is not None}
        top = max(values.values(), default=0.0)
        total = sum(values.values())
        for node_id, item in scene.node_items.items():
            cost = costs.get(node_id)
            if key is None or cost is None or node_id not in values:
                item.set_cost(None, "", self._tip(cost))
                continue
            value = values[node_id]
            share = f" · {100 * value / total:.0f} %" if total else ""
            item.set_cost(level(value, top), self._text(key, value) + share, self._tip(cost))
        self._update_label(key, total, result)

    @staticmethod
    def _value(cost: Any, key: str) -> float | None:
        if key == "params":
            return float(cost.params)
        if key == "flops":
            return float(cost.flops)
        return cost.time_ms

    @staticmethod
    def _text(key: str, value: float) -> str:
        if key == "params":
            return f"{value:,.0f} params"
        if key == "flops":
            return format_flops(value)
        return f"{value:.2f} ms"

    @staticmethod
    def _tip(cost: Any) -> str:
        if cost is None:
            return ""
        from torchloom.engine.probe.cost import format_bytes

        time = f" · {cost.time_ms:.2f} ms forward+backward" if cost.time_ms is not None else ""
        return (f"{cost.params:,} parameters · {format_flops(cost.flops)} · output "
                f"{format_bytes(cost.activation_bytes)} per batch{time}")

    def _update_label(self, key: str | None, total: float, result: dict[str, Any] | None) -> None:
        if self.strip is None:
            return
        if result is None:
            return
        if not result.get("ok"):
            self.label.setText("Fix the graph's errors to see its cost.")
            self._place()
            return
        batch = self.document.project.training_config()["batch_size"]
        parts = []
        if key == "params":
            parts.append(f"{total:,.0f} parameters in all")
        elif key == "flops":
            parts.append(f"{format_flops(total)} per batch of {batch} (forward)")
        elif key == "time":
            parts.append(f"{total:.1f} ms forward+backward per batch of {batch}, blocks "
                         "timed one by one")
        parts.append(result.get("memory", ""))
        colors = theme.current()
        colour = {True: colors.label_text, False: colors.error, None: colors.label_text}[
            result.get("fits")]
        self.label.setText(f"<span style='color:{colour}'>" + "<br>".join(p for p in parts if p)
                           + "</span>")
        self._place()

    def apply_theme(self) -> None:
        self._style_strip()
        self._paint()
