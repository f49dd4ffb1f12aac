"""The Evaluate tab: how a trained model does on the validation samples, and why.

Left to right: the confusion matrix (click a cell to list its samples), the samples of the
chosen cell, per-class metrics, the mistakes the model is most sure of, and for one chosen
sample where the model looked (input gradient, Grad-CAM).

Predictions and saliency run on worker threads (`Jobs`): the GUI thread only turns a few
small arrays into pictures. One lock per panel keeps its jobs from running the model at the
same time, so a quick change of Grad-CAM layer cannot interleave two backward passes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QSizePolicy, QSplitter,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout,
                               QWidget)

from .. import theme
from .confusion_view import ConfusionView
from .jobs import Jobs
from .saliency_view import SaliencyView
from .sample_views import SampleList, TokenWords, is_image
from .task_evaluation import TaskEvaluation

if TYPE_CHECKING:
    from torchloom.engine.data.dataset import Dataset, Split
    from torchloom.engine.probe.loaded import TrainedModel
    from torchloom.engine.probe.predictions import Predictions

PLACEHOLDER = "Train the model (or pick a run in Runs) to evaluate it."
REGRESSION = "Evaluation needs class labels; this run is a regression."
#: A cell's samples shown at most (the most confident first).
CELL_LIMIT = 24
#: Mistakes listed at most.
MISTAKE_LIMIT = 30
#: How the width is shared between the five columns (1400 px: about these in pixels).
COLUMN_SHARES = (250, 235, 325, 255, 335)


def percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def shrinkable(label: QLabel) -> QLabel:
    """A one-line label that does not hold its column wider than the panel has room for."""
    label.setMinimumWidth(20)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def column(title: str, body: QWidget, extra: QWidget | None = None) -> tuple[QWidget, QLabel]:
    """A titled column of the panel."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(6, 4, 6, 4)
    layout.setSpacing(4)
    label = QLabel(title)
    label.setObjectName("section")
    shrinkable(label)
    layout.addWidget(label)
    if extra is not None:
        layout.addWidget(extra)
    layout.addWidget(body, 1)
    return box, label


class EvaluatePanel(QWidget):
    #: A sample (its index in the evaluated split) was chosen in the strip or the mistakes.
    sample_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = Jobs(self)
        self.lock = threading.Lock()
        self.trained: TrainedModel | None = None
        self.preds: Predictions | None = None
        self.words: TokenWords | None = None
        self.data: Dataset | None = None
        self.split_name = ""
        self.cell: tuple[int, int] | None = None
        self.sample: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        #: which of the run's weights are evaluated (the best epoch's, when it kept them)
        self.weights_used = QLabel("")
        self.weights_used.setObjectName("muted")
        self.weights_used.setAccessibleName("Weights evaluated")
        self.weights_used.setContentsMargins(6, 2, 6, 0)
        self.weights_used.hide()
        layout.addWidget(self.weights_used)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack)
        self.message = QLabel(PLACEHOLDER)
        self.message.setObjectName("muted")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stack.addWidget(self.message)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.stack.addWidget(self.splitter)
        #: what the other tasks show (regression, labels, masks, reconstructions)
        self.task_view = TaskEvaluation()
        self.stack.addWidget(self.task_view)

        self.confusion = ConfusionView()
        box, _ = column("Confusion matrix", self.confusion)
        self.splitter.addWidget(box)
        self.cell_samples = SampleList(grid=True, icon_size=48)
        self.cell_samples.setAccessibleName("Samples of the selected cell")
        self.cell_hint = QLabel("Click a cell of the matrix.")
        self.cell_hint.setObjectName("muted")
        self.cell_hint.setWordWrap(True)
        box, _ = column("Samples", self.cell_samples, self.cell_hint)
        self.splitter.addWidget(box)
        self.table = QTableWidget(0, 5)
        self.table.setAccessibleName("Per-class metrics")
        self.table.setHorizontalHeaderLabels(["class", "precision", "recall", "F1", "support"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(30)
        for c in range(1, 5):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
            self.table.setColumnWidth(c, (0, 72, 56, 40, 64)[c])
        self.table.horizontalHeaderItem(1).setToolTip("Of the samples predicted as this class, "
                                                      "the fraction that really are")
        self.table.horizontalHeaderItem(2).setToolTip("Of the samples of this class, the "
                                                      "fraction predicted as it")
        self.table.horizontalHeaderItem(3).setToolTip("The harmonic mean of precision and "
                                                      "recall")
        self.table.horizontalHeaderItem(4).setToolTip("How many samples of this class were "
                                                      "evaluated")
        self.accuracy = shrinkable(QLabel(" "))
        box, _ = column("Per class", self.table, self.accuracy)
        self.splitter.addWidget(box)
        self.mistakes = SampleList(grid=False, icon_size=36)
        self.mistakes.setAccessibleName("Most confident mistakes")
        self.mistakes_hint = QLabel(" ")
        self.mistakes_hint.setObjectName("muted")
        self.mistakes_hint.setWordWrap(True)
        box, _ = column("Most confident mistakes", self.mistakes, self.mistakes_hint)
        self.splitter.addWidget(box)
        self.saliency = SaliencyView()
        saliency_box = QWidget()
        inner = QVBoxLayout(saliency_box)
        inner.setContentsMargins(6, 4, 6, 4)
        inner.addWidget(self.saliency)
        self.splitter.addWidget(saliency_box)
        self._sized = False

        self.confusion.cell_clicked.connect(self.show_cell)
        self.cell_samples.sample_chosen.connect(lambda i: self._chosen(i, self.mistakes))
        self.mistakes.sample_chosen.connect(lambda i: self._chosen(i, self.cell_samples))
        self.saliency.node_changed.connect(lambda _node: self._explain())
        self.stack.setCurrentWidget(self.message)

    # ---- entry points ----------------------------------------------------------------

    def set_trained(self, trained: TrainedModel | None,
                    split_loader: Callable[[], Split] | None = None) -> None:
        """Evaluate `trained` on its validation samples (its training samples when it kept
        none back), in the background; None clears the panel."""
        self.jobs.cancel("predict")
        self.jobs.cancel("saliency")
        self.trained = trained
        self.preds, self.data, self.cell, self.sample = None, None, None, None
        self.weights_used.setVisible(trained is not None)
        if trained is None:
            self.say(PLACEHOLDER)
            return
        self.weights_used.setText(f"{trained.run_dir.name}: {trained.weights_used}")
        self.say("Evaluating the model on its validation samples…")
        loader = split_loader or trained.split
        lock = self.lock

        def work() -> Any:
            from torchloom.engine.tasks import task_for

            split = loader()
            data, name = (split.val, "validation") if len(split.val) else (split.train,
                                                                            "training")
            task = task_for(trained.project)
            if "confusion" in task.views and not data.classes:
                return None
            with lock:
                return task.views, task.evaluate(trained, data), data, name

        self.jobs.submit("predict", work, self._predicted, self._failed)

    def watch_live(self, live: Any, view: str) -> None:
        """A run in progress: the task's view works on its weights as they train
        (`probe.live.LiveWeights`) until the run's own evaluation replaces it."""
        self.jobs.cancel("predict")
        self.jobs.cancel("saliency")
        self.trained = None
        self.task_view.show_live(live, view)
        self.stack.setCurrentWidget(self.task_view)

    def show_predictions(self, preds: Predictions, data: Dataset,
                         split_name: str = "validation") -> None:
        """Show predictions on `data` (the samples they were made on)."""
        self.preds, self.data, self.split_name = preds, data, split_name
        self.cell, self.sample = None, None
        #: token ids as words, for text data (None for other data)
        self.words = TokenWords.of(data)
        classes = list(preds.classes)
        self.confusion.set_matrix(preds.confusion().numpy(), classes)
        n = len(preds)
        self.confusion.hover.setText(f"{n:,} {split_name} samples; click a cell to list them.")
        self.confusion.idle = self.confusion.hover.text()
        self._fill_metrics()
        self._fill_mistakes()
        self.cell_hint.setText("Click a cell of the matrix to list its samples.")
        self.cell_samples.set_samples(None, [], [])
        self.saliency.set_nodes(self._conv_nodes())
        if self.trained is None:
            self.saliency.show_message("Saliency needs the trained model.")
        else:
            self.saliency.show_message("Select a sample (a cell's samples or a mistake) to "
                                       "see where the model looked.")
        self.stack.setCurrentWidget(self.splitter)

    # ---- background results ----------------------------------------------------------

    def _predicted(self, result: Any) -> None:
        if result is None:
            self.say(REGRESSION)
            return
        views, preds, data, name = result
        if "confusion" in views:  # a classifier's: the matrix, its samples, saliency
            self.show_predictions(preds, data, name)
            return
        self.task_view.show_eval(preds, views[0])  # the view the task declares
        self.stack.setCurrentWidget(self.task_view)

    def _failed(self, message: str) -> None:
        self.say(f"Could not evaluate the model: {message}", error=True)

    def say(self, text: str, error: bool = False) -> None:
        colour = theme.current().error if error else theme.current().node_subtext
        self.message.setStyleSheet(f"color: {colour}")
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    # ---- the columns -----------------------------------------------------------------

    def _fill_metrics(self) -> None:
        assert self.preds is not None
        metrics = self.preds.metrics()
        self.table.setRowCount(len(metrics))
        for row, m in enumerate(metrics):
            cells = [m.name, f"{m.precision:.2f}", f"{m.recall:.2f}", f"{m.f1:.2f}",
                     str(m.support)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not c:
                    item.setToolTip(m.name)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, c, item)
        self.table.resizeRowsToContents()
        macro = float(np.mean([m.f1 for m in metrics])) if metrics else 0.0
        self.accuracy.setText(f"accuracy <b>{percent(self.preds.accuracy)}</b> · "
                              f"macro F1 {macro:.2f}")

    def _fill_mistakes(self) -> None:
        assert self.preds is not None
        index = self.preds.mistakes(MISTAKE_LIMIT).tolist()
        wrong = int((self.preds.pred != self.preds.target).sum())
        self.mistakes_hint.setText(f"{wrong:,} of {len(self.preds):,} wrong" + (
            f"; the {len(index)} most confident" if wrong > len(index) else ""))
        captions = [self._caption(i, " " if self.words is not None else "\n") for i in index]
        samples = self._read(index)
        self.mistakes.set_samples(samples, index, captions,
                                  self._tooltips(index, samples), self.words)

    def _caption(self, i: int, gap: str = " ") -> str:
        assert self.preds is not None
        classes = self.preds.classes
        true, pred = int(self.preds.target[i]), int(self.preds.pred[i])
        return (f"true {classes[true]},{gap}predicted {classes[pred]}, "
                f"{percent(float(self.preds.confidence[i]))}")

    def show_cell(self, true: int, pred: int) -> None:
        """List the samples of one confusion-matrix cell, the most confident first."""
        if self.preds is None:
            return
        self.cell = (true, pred)
        self.confusion.mark(true, pred)
        index = self.preds.cell(true, pred)
        shown = index[:CELL_LIMIT].tolist()
        more = (f", the {len(shown)} most confident shown" if len(index) > len(shown)
                else "")
        self.cell_hint.setText(f"{self.confusion.describe(true, pred)}{more}." + (
            " Select one for saliency." if shown else ""))
        confidence = self.preds.confidence
        captions = [percent(float(confidence[i])) for i in shown]
        samples = self._read(shown)
        self.cell_samples.set_samples(samples, shown, captions,
                                      self._tooltips(shown, samples), self.words)

    def _tooltips(self, index: list[int], samples: np.ndarray | None) -> list[str]:
        """Each sample's caption, and for text its whole text (a list line is cut short)."""
        tips = [f"#{i}: {self._caption(i)}" for i in index]
        if self.words is None or samples is None:
            return tips
        return [f"{tip}\n{self.words.text(x)}" for tip, x in zip(tips, samples)]

    def _read(self, index: list[int]) -> np.ndarray | None:
        """The few samples a list shows, as numpy (indexing, or a few files from disk)."""
        if not index or self.data is None:
            return None
        import torch

        from torchloom.engine.data.inputs import shown_samples

        return shown_samples(self.data.read(torch.tensor(index, dtype=torch.int64))).numpy()

    # ---- saliency --------------------------------------------------------------------

    def _conv_nodes(self) -> list[str]:
        if self.trained is None or self.data is None or self.data.several \
                or not is_image(self.data.input_shape):
            return []
        from torchloom.engine.probe.saliency import conv_nodes

        return conv_nodes(self.trained)

    def _chosen(self, index: int, other: SampleList) -> None:
        other.blockSignals(True)
        other.clearSelection()
        other.setCurrentRow(-1)
        other.blockSignals(False)
        self.sample_activated.emit(index)
        if index != self.sample:
            self.show_sample(index)

    def show_sample(self, index: int) -> None:
        """Compute (in the background) and show where the model looked for sample `index`."""
        self.sample = index
        self._explain()

    def _explain(self) -> None:
        trained, data, preds, index = self.trained, self.data, self.preds, self.sample
        if index is None or data is None or preds is None:
            return
        title = f"Saliency · #{index}"
        caption = (self._caption(index) + " · explaining the predicted class "
                   f"{preds.classes[int(preds.pred[index])]}")
        if trained is None:
            self.saliency.show_message("Saliency needs the trained model.", title=title)
            return
        self.saliency.show_message("Computing…", title=title)
        node = (self.saliency.node() if not data.several and is_image(data.input_shape)
                else None)
        lock = self.lock

        def work() -> Any:
            import torch

            from torchloom.engine.probe.saliency import grad_cam, input_gradient

            x = data.read(torch.tensor([index], dtype=torch.int64))
            with lock:
                gradient = input_gradient(trained, x)
                cam = grad_cam(trained, x, node) if node else None
            return (index, x[0].numpy(), gradient.numpy(),
                    None if cam is None else cam.numpy())

        def done(result: Any) -> None:
            shown, x, gradient, cam = result
            if shown != self.sample:
                return
            if is_image(x.shape):
                self.saliency.show_image(x, gradient, cam, title, caption)
            elif np.issubdtype(x.dtype, np.integer):
                self.saliency.show_tokens(x, gradient, title, caption, self.words)
            else:
                self.saliency.show_features(gradient, title, caption)

        self.jobs.submit("saliency", work, done,
                         lambda message: self.saliency.show_message(message, error=True,
                                                                    title=title))

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        """The columns' widths, once, in proportion to the width the panel first gets (the
        splitter would otherwise share it by size hints, starving the metrics table)."""
        super().showEvent(event)
        if not self._sized:
            self._sized = True
            shares = COLUMN_SHARES
            width = max(self.width(), 600)
            self.splitter.setSizes([int(width * s / sum(shares)) for s in shares])

    def closeEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
        self.jobs.wait(5.0)
        super().closeEvent(event)
