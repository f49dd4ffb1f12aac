"""The Sweep tab: the ranges to search as editable rows, the trial count and the metric,
Start/Stop, a live table of trials, the sweep's plots and Apply best.

The rows read back to the command line's ``--param`` specs (`specs`), which the engine
parses against the project (`engine.sweep.space`): the tab and `torchloom sweep` accept
the same ranges and refuse them with the same sentences.
"""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QSpinBox, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from .sweep_plots import SweepPlots

#: the columns of a range row
RANGE_COLUMNS = ("parameter", "low", "high", "log", "choices")
#: the rows a new sweep starts from
DEFAULT_ROWS = (("lr", "1e-4", "1e-1", True, ""),)


class SweepPanel(QWidget):
    start_clicked = Signal()
    stop_clicked = Signal()
    apply_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        # the ranges (a table and its row buttons), then the run's settings beside them:
        # two short columns, so the tab fits the Output dock's height
        ranges = QVBoxLayout()
        self.ranges = QTableWidget(0, len(RANGE_COLUMNS))
        self.ranges.setHorizontalHeaderLabels(list(RANGE_COLUMNS))
        self.ranges.setAccessibleName("Sweep ranges")
        self.ranges.setToolTip("One row per name to vary: a training setting (lr) or "
                               "<block id>.<param> (fc1.out_features). Give low and high "
                               "(tick log for a log-spaced range), or choices a,b,c")
        self.ranges.verticalHeader().hide()
        self.ranges.verticalHeader().setDefaultSectionSize(24)
        header = self.ranges.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate((118, 50, 50, 30, 70)):
            self.ranges.setColumnWidth(col, width)
        header.setStretchLastSection(True)
        self.ranges.setMinimumWidth(330)
        ranges.addWidget(self.ranges, 1)
        row_buttons = QHBoxLayout()
        self.add_button = QPushButton("Add row")
        self.remove_button = QPushButton("Remove row")
        row_buttons.addWidget(self.add_button)
        row_buttons.addWidget(self.remove_button)
        ranges.addLayout(row_buttons)
        layout.addLayout(ranges)
        setup = QVBoxLayout()
        form = QFormLayout()
        self.trials = QSpinBox()
        self.trials.setRange(1, 10_000)
        self.trials.setValue(10)
        self.trials.setAccessibleName("Trials")
        self.trials.setToolTip("Trials the study holds when done; a study that stopped "
                               "continues where it was")
        self.metric_box = QComboBox()
        self.metric_box.setAccessibleName("Metric")
        self.mode_box = QComboBox()
        self.mode_box.addItems(["max", "min"])
        self.mode_box.setAccessibleName("Mode")
        form.addRow("trials", self.trials)
        form.addRow("metric", self.metric_box)
        form.addRow("mode", self.mode_box)
        setup.addLayout(form)
        self.start_button = QPushButton("▶  Start sweep")
        self.start_button.setProperty("primary", True)
        self.stop_button = QPushButton("■  Stop")
        setup.addWidget(self.start_button)
        setup.addWidget(self.stop_button)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.RichText)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        setup.addWidget(self.message)
        setup.addStretch(1)
        left = QWidget()
        left.setLayout(setup)
        left.setFixedWidth(210)
        layout.addWidget(left)

        split = QSplitter(Qt.Orientation.Horizontal)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["#", "params", "metric", "state"])
        self.table.setAccessibleName("Sweep trials")
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        th = self.table.horizontalHeader()
        th.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        th.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        results_layout.addWidget(self.table, 1)
        best_row = QHBoxLayout()
        self.best = QLabel("")
        self.best.setObjectName("muted")
        self.best.setWordWrap(True)
        self.apply_button = QPushButton("Apply best")
        self.apply_button.setToolTip("Write the best trial's values into the project "
                                     "(one step of Edit → Undo)")
        best_row.addWidget(self.best, 1)
        best_row.addWidget(self.apply_button)
        results_layout.addLayout(best_row)
        split.addWidget(results)
        self.plots = SweepPlots()
        split.addWidget(self.plots)
        split.setSizes([360, 760])
        layout.addWidget(split, 1)

        self.add_button.clicked.connect(lambda: self.add_row("", "", "", False, ""))
        self.remove_button.clicked.connect(self._remove_row)
        self.start_button.clicked.connect(self.start_clicked)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.apply_button.clicked.connect(self.apply_clicked)
        self.metric_box.currentTextChanged.connect(self._metric_chosen)
        for row in DEFAULT_ROWS:
            self.add_row(*row)
        #: TrialRecords shown, by number
        self.trials_shown: dict[int, Any] = {}
        self.metric_name = ""
        self.set_state("idle", has_project=False, has_best=False)

    # ---- the ranges --------------------------------------------------------------------

    def add_row(self, name: str, low: str, high: str, log: bool, choices: str) -> None:
        row = self.ranges.rowCount()
        self.ranges.insertRow(row)
        for col, text in ((0, name), (1, low), (2, high), (4, choices)):
            self.ranges.setItem(row, col, QTableWidgetItem(text))
        check = QTableWidgetItem()
        check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        check.setCheckState(Qt.CheckState.Checked if log else Qt.CheckState.Unchecked)
        self.ranges.setItem(row, 3, check)

    def _remove_row(self) -> None:
        row = self.ranges.currentRow()
        self.ranges.removeRow(row if row >= 0 else self.ranges.rowCount() - 1)

    def specs(self) -> list[str]:
        """The rows as ``--param`` specs; rows without a name are skipped."""
        out = []
        for row in range(self.ranges.rowCount()):
            cell = [(self.ranges.item(row, c).text().strip() if self.ranges.item(row, c)
                     else "") for c in range(len(RANGE_COLUMNS))]
            name, low, high, _, choices = cell
            if not name:
                continue
            if choices:
                out.append(f"{name}={choices}")
                continue
            log = self.ranges.item(row, 3).checkState() == Qt.CheckState.Checked
            out.append(f"{name}={low}:{high}" + (":log" if log else ""))
        return out

    # ---- the project -------------------------------------------------------------------

    def set_metrics(self, metrics: Sequence[str], default: str) -> None:
        """The metrics the project's task reports, its headline chosen."""
        self.metric_box.blockSignals(True)
        self.metric_box.clear()
        self.metric_box.addItems(list(metrics))
        self.metric_box.setCurrentText(default)
        self.metric_box.blockSignals(False)
        self._metric_chosen(default)

    def _metric_chosen(self, metric: str) -> None:
        from torchloom.engine.train.early_stop import metric_mode

        if metric:
            self.mode_box.setCurrentText(metric_mode(metric))

    def set_state(self, state: str, has_project: bool, has_best: bool) -> None:
        busy = state != "idle"
        self.start_button.setEnabled(has_project and not busy)
        self.stop_button.setEnabled(state == "sweeping")
        self.apply_button.setEnabled(has_project and has_best and not busy)
        for widget in (self.ranges, self.add_button, self.remove_button, self.trials,
                       self.metric_box, self.mode_box):
            widget.setEnabled(not busy)

    def say(self, text: str, error: bool = False) -> None:
        """As the Training panel says it: an error in the theme's error colour."""
        import html

        from .. import theme

        colour = theme.current().error if error else theme.current().node_subtext
        self.message.setText(f"<span style='color:{colour}'>{html.escape(text)}</span>"
                             if text else "")

    # ---- trials ------------------------------------------------------------------------

    def begin(self, space: Sequence[Any], metric: str, mode: str) -> None:
        self.metric_name = metric
        self.table.setRowCount(0)
        self.table.setHorizontalHeaderLabels(["#", "params", metric, "state"])
        self.trials_shown = {}
        self.best.setText("")
        self.plots.set_space(space, metric, mode)

    def trial_started(self, number: int, values: dict[str, Any]) -> None:
        from torchloom.engine.sweep.run import TrialRecord

        self.show_trial(TrialRecord(number, values, None, "running"))

    def show_trial(self, record: Any) -> None:
        from torchloom.engine.sweep.space import format_value

        self.trials_shown[record.number] = record
        numbers = sorted(self.trials_shown)
        row = numbers.index(record.number)
        if self.table.rowCount() < len(numbers):
            self.table.insertRow(row)
        value = "" if record.value is None else f"{record.value:.4f}"
        cells = (str(record.number),
                 ", ".join(f"{k}={format_value(v)}" for k, v in record.params.items()),
                 value, record.state if not record.error else f"{record.state}: "
                 f"{record.error}")
        for col, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if col == 1 or (col == 3 and record.error):
                item.setToolTip(text)
            self.table.setItem(row, col, item)
        self.plots.show_trials(list(self.trials_shown.values()))

    def show_result(self, result: Any) -> None:
        for record in result.trials:
            self.show_trial(record)
        best = result.best
        if best is None:
            self.best.setText("No trial completed.")
            return
        from torchloom.engine.sweep.space import format_value

        values = ", ".join(f"{k}={format_value(v)}" for k, v in best.params.items())
        self.best.setText(f"Best: trial {best.number}, {result.metric} "
                          f"{best.value:.4f} — {values}")
