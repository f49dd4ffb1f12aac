"""Hyperparameter sweeps from the main window: the Sweep tab, its worker, and Apply best as
one undoable edit. A mixin over the window, beside `TrainActions`."""

from __future__ import annotations

from typing import Any

from torchloom.engine.edits import plan_set_param

from .commands import ProjectSettingCommand
from .training.controller import TrainRequest
from .training.sweep_controller import SweepController, SweepRequest
from .training.sweep_panel import SweepPanel


class SweepActions:
    """Needs `document`, `bottom_tabs`, `controller` (training) and `runs_dir`."""

    def _build_sweep(self) -> None:
        self.sweeper = SweepController(self)  # type: ignore[arg-type]
        self.sweep_panel = SweepPanel(self)  # type: ignore[arg-type]
        self.bottom_tabs.addTab(self.sweep_panel, "Sweep")  # type: ignore[attr-defined]
        panel = self.sweep_panel
        panel.start_clicked.connect(self.start_sweep)
        panel.stop_clicked.connect(self.sweeper.stop)
        panel.apply_clicked.connect(self.apply_best)
        s = self.sweeper
        s.state_changed.connect(self._sweep_state)
        s.trial_started.connect(panel.trial_started)
        s.trial_done.connect(self._trial_done)
        s.finished.connect(self._sweep_finished)
        s.failed.connect(lambda message: panel.say(message, error=True))

    def _sweep_document(self) -> None:
        """A document was opened or closed: the metric list follows its task."""
        doc = self.document  # type: ignore[attr-defined]
        if doc is not None:
            from torchloom.engine.sweep.run import choose_metric
            from torchloom.engine.train.early_stop import reported_metrics

            task = doc.task
            metric, _ = choose_metric(doc.project, None, None)
            self.sweep_panel.set_metrics(reported_metrics(task.metric_columns), metric)
        self.sweeper.last_result = None
        self._sweep_state(self.sweeper.state)

    def _sweep_state(self, state: str) -> None:
        result = self.sweeper.last_result
        self.sweep_panel.set_state(state, self.document is not None,  # type: ignore[attr-defined]
                                   result is not None and result.best is not None)

    def start_sweep(self) -> bool:
        """Parse the rows against the project (a bad row is said in the tab, nothing runs)
        and start the sweep on a snapshot of the project."""
        from torchloom.engine.errors import SweepError
        from torchloom.engine.sweep.run import choose_metric
        from torchloom.engine.sweep.space import parse_space

        doc, panel = self.document, self.sweep_panel  # type: ignore[attr-defined]
        if doc is None or self.sweeper.running:
            return False
        if self.controller.running:  # type: ignore[attr-defined]
            panel.say("Training is running: stop it before starting a sweep", error=True)
            return False
        if doc.errors:
            panel.say("The graph has errors: fix them (see the Problems panel) first",
                      error=True)
            return False
        snapshot = TrainRequest.snapshot(doc.project).project
        try:
            space = parse_space(panel.specs(), snapshot)
            metric, mode = choose_metric(snapshot, panel.metric_box.currentText() or None,
                                         panel.mode_box.currentText())
        except SweepError as exc:
            panel.say(exc.describe(), error=True)
            return False
        panel.begin(space, metric, mode)
        panel.say(f"Sweeping {', '.join(p.name for p in space)}…")
        self.sweeper.last_result = None
        return self.sweeper.start(SweepRequest(
            snapshot, space, panel.trials.value(), metric, mode,
            runs_dir=self.runs_dir()))  # type: ignore[attr-defined]

    def _trial_done(self, record: Any) -> None:
        self.sweep_panel.show_trial(record)
        self.runs_panel.refresh(self.runs_dir())  # type: ignore[attr-defined]

    def _sweep_finished(self, result: Any) -> None:
        panel = self.sweep_panel
        panel.show_result(result)
        done = sum(t.state in ("complete", "pruned") for t in result.trials)
        word = "Stopped" if result.stopped else "Done"
        panel.say(f"{word}: {done} trial(s) in {result.storage.name}")
        self._sweep_state(self.sweeper.state)

    def apply_best(self) -> bool:
        """The best trial's values into the project as one step of Edit → Undo."""
        doc = self.document  # type: ignore[attr-defined]
        result = self.sweeper.last_result
        best = result.best if result is not None else None
        if doc is None or best is None:
            return False
        graphs = doc.graphs()
        stack = doc.undo_stack
        stack.beginMacro(f"Apply the best sweep values (trial {best.number})")
        try:
            for name, value in best.params.items():
                if "." not in name:
                    stack.push(ProjectSettingCommand(doc, name, value))
                    continue
                node, param = name.rsplit(".", 1)
                key = next((k for k, g in graphs.items() if node in g), None)
                if key is not None:
                    doc.plan_and_edit(lambda g=graphs[key], n=node, p=param, v=value:
                                      plan_set_param(g, n, p, v), f"Set {name}", key=key)
        finally:
            stack.endMacro()
        self.sweep_panel.say(f"Applied trial {best.number}'s values (Edit → Undo takes "
                             "them back)")
        return True

    def stop_sweep_for_exit(self) -> None:
        if self.sweeper.running:
            self.sweeper.stop()
            self.sweeper.wait(120_000)
