"""Looking inside the trained model from the main window: the Inspect (and Evaluate) tabs
follow the canvas selection, the latest run, the run picked in Runs, and live probes while
training. A mixin over the window, beside `window_train`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QActionGroup

from .canvas.cost_overlay import METRICS, CostOverlay
from .inspect.evaluate_panel import EvaluatePanel
from .inspect.inspect_panel import InspectPanel
from .inspect.jobs import Jobs

#: Live probes every this many training steps. One probe is one forward pass on the probe
#: batch (about 20 samples); the controller draws at most the newest one per 300 ms.
LIVE_PROBE_EVERY = 20
#: What Inspect and Evaluate say on a GAN project (two networks), instead of their views.
#: How many of a reopened project's runs are read to find one that trained its graph.
NEWEST_RUNS_LOOKED_AT = 5

GAN_TEXT = ("{what} looks at one trained network: {views}. A GAN generates samples instead: "
            "watch them in the sample grid of the Plots tab, or write them with the command "
            "torchloom sample.")


class InspectActions:
    """Needs `bottom_tabs`, `controller`, `runs_panel`, `document`, `show_tab`."""

    def _build_inspect(self) -> None:
        self.inspect_panel = InspectPanel(self)  # type: ignore[arg-type]
        self.bottom_tabs.addTab(self.inspect_panel, "Inspect")
        self.evaluate_panel = EvaluatePanel(self)  # type: ignore[arg-type]
        self.bottom_tabs.addTab(self.evaluate_panel, "Evaluate")
        self._evaluate_jobs = Jobs(self)  # type: ignore[arg-type]
        #: (run folder, project) waiting for the Evaluate tab to be looked at
        self._evaluate_pending: tuple[Path, Any] | None = None
        self.bottom_tabs.currentChanged.connect(lambda _i: self._evaluate_if_shown())
        self._inspected_run: Path | None = None
        c = self.controller
        c.prepared.connect(self._inspect_prepared)
        c.probe.connect(self.inspect_panel.show_probe)
        c.stats.connect(self.inspect_panel.show_stats)
        c.finished.connect(self._inspect_finished)
        self.runs_panel.selection_changed.connect(self._inspect_runs_selected)
        self.cost_overlay = CostOverlay(self)  # type: ignore[arg-type]
        cost_menu = self.view_menu.addMenu("&Colour blocks by")
        group = QActionGroup(self)  # type: ignore[arg-type]
        self.cost_actions: dict[str | None, QAction] = {}
        for key, text in METRICS:
            action = cost_menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(key is None)
            group.addAction(action)
            action.triggered.connect(lambda _c=False, k=key: self.cost_overlay.set_metric(k))
            self.cost_actions[key] = action
        self.cost_overlay.metric_changed.connect(
            lambda key: self.cost_actions[key].setChecked(True))

    def _inspect_document(self) -> None:
        """A document was opened or closed: forget the previous model."""
        self._inspected_run = None
        self._evaluate_pending = None
        self.inspect_panel.clear()
        self.evaluate_panel.set_trained(None)
        tabs = getattr(self, "gan_canvas", None)
        if tabs is not None:  # a GAN: no class predictions to inspect or evaluate
            self.inspect_panel.say(GAN_TEXT.format(
                what="Inspect", views="its activation and saliency views explain a predicted "
                "class"))
            self.evaluate_panel.say(GAN_TEXT.format(
                what="Evaluate", views="it compares the network's outputs on the validation "
                "samples with the truth (classes, numbers, labels, masks)"))
            # a cost strip on each network's canvas, one colouring choice for both
            first, second = tabs.keys
            self.cost_overlay.attach(tabs.parts[first], tabs.scenes[first], tabs.views[first])
            other = CostOverlay(tabs)  # goes with the tabs
            other.attach(tabs.parts[second], tabs.scenes[second], tabs.views[second])
            other.set_metric(self.cost_overlay.metric)
            self.cost_overlay.metric_changed.connect(other.set_metric)
            other.metric_changed.connect(self.cost_overlay.set_metric)
            tabs.cost_overlays = [self.cost_overlay, other]
            return
        if self.scene is not None:
            self.scene.node_selection_changed.connect(self._inspect_selection)
        self.cost_overlay.attach(self.document, self.scene, self.view)
        self._inspect_newest_run()

    def _inspect_newest_run(self) -> None:
        """A project opened with runs beside it: Inspect and Evaluate show the newest run
        that trained this very graph, as they did when the run ended (a person reopening
        yesterday's work looks inside it at once). A run of another graph, or one without
        weights, waits to be picked in Runs."""
        doc = self.document
        if doc is None or doc.path is None or not doc.task.probes:
            return
        from torchloom.engine.train.history import graph_diff
        from torchloom.engine.train.runfiles import MODEL_FILE

        for run in self.runs_panel.runs[:NEWEST_RUNS_LOOKED_AT]:  # newest first
            if run.status == "failed" or not (run.path / MODEL_FILE).is_file():
                continue
            trained = run.project()
            if trained is not None and not graph_diff(trained.graph, doc.graph):
                self.inspect_run(run.path)
                return

    def _inspect_selection(self, node_ids: list[str]) -> None:
        doc = self.document
        if doc is None or len(node_ids) != 1 or node_ids[0] not in doc.graph:
            self.inspect_panel.show_node(None)
            return
        node = doc.graph.node(node_ids[0])
        self.inspect_panel.show_node(node.id, node.type)
        # a click opens the panel, except over the live plots of a running training
        watching_plots = (self.controller.running
                          and self.bottom_tabs.currentWidget() is self.plots_holder)
        if self.inspect_panel.result is not None and not watching_plots:
            self.show_tab(self.inspect_panel, height=int(self.height() * 0.4))

    def _inspect_prepared(self, job: Any) -> None:
        if job.live is not None:  # Evaluate's view can work on the weights as they train
            self._evaluate_pending = None
            self.evaluate_panel.watch_live(job.live, job.trainer.task.views[0])
        if self.document is not None and not self.document.task.probes:
            return
        from .inspect.sample_views import token_names

        full = job.split.full
        self.inspect_panel.start_live(job.trainer.probe,
                                      token_names(full.info.get("tokens"), full.tokenizer))

    def _inspect_finished(self, result: Any) -> None:
        if result.run_dir is None or result.status == "failed" or self.document is None \
                or not self.document.task.probes:
            return
        request_project = getattr(self, "_last_request_project", None)
        self.inspect_run(Path(result.run_dir), request_project)

    def _inspect_runs_selected(self, runs: list[Any]) -> None:
        if len(runs) == 1 and not self.controller.running and not (
                self.document is not None and not self.document.task.probes):
            self.inspect_run(runs[0].path)

    def _inspect_runs_moved(self, mapping: dict[Path, Path]) -> None:
        """Run folders moved (the project's first save): the run on show in Inspect and the
        one Evaluate will load are read from their new place."""
        self._inspected_run = mapping.get(self._inspected_run,  # type: ignore[arg-type]
                                          self._inspected_run)
        if self._evaluate_pending is not None:
            run_dir, project = self._evaluate_pending
            self._evaluate_pending = (mapping.get(run_dir, run_dir), project)

    def inspect_run(self, run_dir: Path, project: Any = None) -> None:
        """Load a run's weights into the Inspect panel. The document's own project is used
        (so its dataset path resolves) unless the caller has the exact trained snapshot."""
        doc = self.document
        if doc is None:
            return
        from .training.controller import TrainRequest

        self._inspected_run = run_dir
        snapshot = project or TrainRequest.snapshot(doc.project).project  # never shared
        self.inspect_panel.load_run(run_dir, snapshot)
        self._evaluate_pending = (run_dir, snapshot)
        self._evaluate_if_shown()

    def _evaluate_if_shown(self) -> None:
        """Evaluating loads the dataset and predicts every validation sample: done when the
        tab is looked at, once per run. The panel gets its own copy of the model, so its
        passes never meet the Inspect panel's hooks on another thread."""
        if self._evaluate_pending is None or \
                self.bottom_tabs.currentWidget() is not self.evaluate_panel:
            return
        run_dir, project = self._evaluate_pending
        self._evaluate_pending = None
        self.evaluate_panel.say(f"Loading {run_dir.name}…")

        def load() -> Any:
            from torchloom.engine.probe.loaded import load_trained

            return load_trained(run_dir, project)

        self._evaluate_jobs.submit("load", load, self.evaluate_panel.set_trained,
                                   lambda message: self.evaluate_panel.say(
                                       f"Cannot evaluate {run_dir.name}: {message}", error=True))
