"""Training from the main window: the Data, Training, Plots and Runs panels, the toolbar,
and the run lifecycle (train, stop, resume, reset weights). A mixin over the window."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMenu, QToolBar, QVBoxLayout, QWidget

from torchloom.engine.edits import plan_set_param

from . import theme
from .commands import ProjectSettingCommand, ProjectTaskCommand, plain_value
from .training.controller import TrainingController, TrainRequest
from .training.data_panel import DataPanel
from .training.runs_follow import project_runs_dir, unsaved_runs_dir
from .text import rich
from .training.runs_panel import RunsPanel
from .training.settings_panel import TrainingPanel
from .window_pretrained import start_from_pretrained

LOCK_HINT = "Training is running: stop it before editing the graph"


class TrainActions:
    """Needs `document`, `scene`, `loader`, `flash`, `_dock` and the other docks."""

    def _build_training(self) -> None:
        self.controller = TrainingController(self)  # type: ignore[arg-type]
        self.weights_from: Path | None = None
        #: the run starting resumes the one the plots show: its curves carry on
        self._carry_on = False
        self.data_panel = DataPanel(self)  # type: ignore[arg-type]
        self.training_panel = TrainingPanel(self)  # type: ignore[arg-type]
        self.runs_panel = RunsPanel(self)  # type: ignore[arg-type]
        self.plots: Any = None
        self.plots_holder = QWidget(self)  # type: ignore[arg-type]
        QVBoxLayout(self.plots_holder).setContentsMargins(0, 0, 0, 0)
        self.plots_holder.layout().addWidget(QLabel("  Plots appear here when training starts."))
        self.side_tabs.addTab(self.data_panel, "Data")
        self.side_tabs.addTab(self.training_panel, "Training")
        self.bottom_tabs.addTab(self.plots_holder, "Plots")
        self.bottom_tabs.addTab(self.runs_panel, "Runs")
        self.act_train = self._action("train", self.train)
        self.act_stop = self._action("stop", self.stop_training)
        self.act_resume = self._action("resume", self.resume_training)
        self.act_reset = self._action("reset", self.reset_weights)
        self.act_pretrained = self._action("pretrained", lambda: start_from_pretrained(self))
        self.act_find_lr = self._action("find_lr", self.find_lr)
        #: the open Find learning rate dialog, if any
        self.lr_find_dialog: Any = None
        toolbar = QToolBar("Training", self)  # type: ignore[arg-type]
        toolbar.setObjectName("training-toolbar")
        toolbar.setMovable(False)
        for act in (self.act_train, self.act_stop, self.act_resume):
            toolbar.addAction(act)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)
        self.run_menu = QMenu("&Run", self)  # type: ignore[arg-type]
        for act in (self.act_train, self.act_stop, self.act_resume):
            self.run_menu.addAction(act)
        self.run_menu.addSeparator()
        self.run_menu.addAction(self.act_pretrained)
        self.run_menu.addAction(self.act_reset)
        self.run_menu.addAction(self.act_find_lr)
        help_menu = self.menuBar().actions()[-1]
        self.menuBar().insertMenu(help_menu, self.run_menu)
        tp = self.training_panel
        tp.train_clicked.connect(self.train)
        tp.stop_clicked.connect(self.stop_training)
        tp.resume_clicked.connect(self.resume_training)
        tp.reset_clicked.connect(self.reset_weights)
        tp.find_lr_clicked.connect(self.find_lr)
        tp.setting_changed.connect(self._set_training_setting)
        tp.task_changed.connect(self._set_task)
        self.data_panel.spec_changed.connect(self._set_dataset)
        self.data_panel.augment_changed.connect(self._set_augment)
        self.data_panel.fit_input.connect(self._fit_input)
        self.data_panel.fit_embedding.connect(self._fit_embedding)
        self.runs_panel.selection_changed.connect(self._overlay_runs)
        c = self.controller
        c.state_changed.connect(self._training_state)
        c.began.connect(self._began)
        c.reports.connect(self._reports)
        c.epoch.connect(self._epoch)
        c.finished.connect(self._finished)
        c.failed.connect(self._failed)
        c.prepared.connect(self._prepared)
        self.loader.ready.connect(self._devices)
        if self.loader.is_ready:
            self._devices()
        self._training_state("idle")

    # ---- documents -------------------------------------------------------------------

    def _training_document(self) -> None:
        """A document was opened or closed: the panels follow it."""
        doc = self.document
        self.weights_from = None
        self._training_state(self.controller.state)  # Train needs a document
        if doc is None:
            self.data_panel.set_project(None, None, None)
            self.runs_panel.refresh(None)
            return
        doc.settings_changed.connect(self._settings_changed)
        doc.analysis_changed.connect(self._expected_input)
        doc.analysis_changed.connect(self._gate_train)  # type: ignore[attr-defined]
        self._settings_changed()
        self.runs_panel.refresh(self.runs_dir())

    def _settings_changed(self) -> None:
        doc = self.document
        if doc is None:
            return
        self.training_panel.set_task(doc.task)
        self.training_panel.show_settings(doc.project.training_config())
        base = doc.path.parent if doc.path else None
        self.data_panel.wanted = self._input_shapes()
        self.data_panel.embeddings = self._embeddings()
        self.data_panel.set_project(doc.project.dataset, base, self._input_spec(),
                                    doc.task.targets)

    def _expected_input(self) -> None:
        self.data_panel.set_inputs(self._input_shapes())
        self.data_panel.set_expected(self._input_spec(), self._embeddings())

    def _embeddings(self) -> dict[str, Any]:
        """The Embeddings the data graph's Inputs feed: id -> num_embeddings as held."""
        doc = self.document
        if doc is None:
            return {}
        graph = doc.graphs()[doc.data_key()]
        return {e.dst: graph.node(e.dst).params.get("num_embeddings")
                for n in graph.nodes if n.type == "Input" for e in graph.out_edges(n.id)
                if graph.node(e.dst).type == "Embedding"}

    def _fit_embedding(self, node_id: str, value: Any) -> None:
        doc = self.document
        if doc is None:
            return
        key = doc.data_key()
        graph = doc.graphs()[key]
        if node_id in graph:
            doc.plan_and_edit(lambda: plan_set_param(graph, node_id, "num_embeddings", value),
                              f"Fit {node_id} to the data's tokens", key=key)

    def _input_shapes(self) -> dict[str, tuple[int, ...]]:
        """The data graph's Inputs (id -> shape) in the order the model takes them."""
        doc = self.document
        analysis = doc.analyses.get(doc.data_key()) if doc is not None else None
        if analysis is None or not analysis.ok:
            return {}
        from torchloom.engine.compile import input_order

        graph = doc.graphs().get(doc.data_key())  # type: ignore[union-attr]
        if graph is None:
            return {}
        return {i: tuple(analysis.nodes[i].spec.shape) for i in input_order(graph, analysis)
                if analysis.nodes[i].spec is not None}

    def _input_spec(self) -> tuple[tuple[int, ...], str] | None:
        """The shape the data must have: the Input's (a GAN's discriminator's)."""
        doc = self.document
        analysis = doc.analyses.get(doc.data_key()) if doc is not None else None
        if analysis is None:
            return None
        for node_id in analysis.inputs:
            spec = analysis.nodes[node_id].spec
            if spec is not None:
                return tuple(spec.shape), spec.dtype
        return None

    def runs_dir(self) -> Path:
        doc = self.document
        assert doc is not None
        if doc.path is not None:
            return project_runs_dir(doc.path)
        return unsaved_runs_dir(doc.project)

    def _train_runs_moved(self, mapping: dict[Path, Path], note: str) -> None:
        """Run folders moved (the project's first save): Resume, the next run's starting
        weights, the Runs tab and the run's messages follow them."""
        c = self.controller
        c.last_run_dir = mapping.get(c.last_run_dir, c.last_run_dir)  # type: ignore[arg-type]
        if c.last_result is not None and c.last_result.run_dir in mapping:
            c.last_result.run_dir = mapping[c.last_result.run_dir]
        self.weights_from = mapping.get(self.weights_from, self.weights_from)  # type: ignore
        if self.plots is not None and self.plots.run_dir in mapping:  # a resume carries on
            self.plots.run_dir = mapping[self.plots.run_dir]
        text = self.training_panel.message.text()
        for old, new in sorted(mapping.items(), key=lambda m: -len(str(m[0]))):  # longest
            for a, b in ((str(old), str(new)), (html.escape(str(old)), html.escape(str(new)))):
                text = text.replace(a, b)
                self._run_notes = getattr(self, "_run_notes", "").replace(a, b)
        self.training_panel.message.setText(text)
        chosen = [mapping.get(run.path, run.path) for run in self.runs_panel.selected_runs()]
        self.runs_panel.refresh(self.runs_dir(), select=chosen)
        self.runs_panel.set_note(note)
        self._training_state(c.state)

    # ---- settings as undoable project edits --------------------------------------------

    def _set_training_setting(self, key: str, value: Any) -> None:
        """A setting the person changed; the value already in effect (written in the file
        or the default) is no change."""
        doc = self.document
        if doc is None or plain_value(doc.project.training_config().get(key)) == \
                plain_value(value):
            return
        doc.undo_stack.push(ProjectSettingCommand(doc, key, value))

    def _set_task(self, name: str) -> None:
        """The person chose another task (the Training tab's chooser)."""
        from torchloom.engine.tasks import task_class

        doc = self.document
        if doc is None or doc.project.task == name:
            return
        doc.undo_stack.push(ProjectTaskCommand(doc, name, task_class(name).title))

    def _set_dataset(self, spec: dict[str, Any]) -> None:
        doc = self.document
        if doc is not None and spec != doc.project.dataset:
            doc.undo_stack.push(ProjectSettingCommand(doc, None, spec))

    def _set_augment(self, spec: dict[str, Any], text: str, about: str) -> None:
        doc = self.document
        if doc is not None and spec != doc.project.dataset:
            doc.undo_stack.push(ProjectSettingCommand(doc, None, spec, text, merge=about))

    def _fit_input(self, shape: list[int], dtype: str) -> None:
        doc = self.document
        key = doc.data_key() if doc is not None else "graph"
        analysis = doc.analyses.get(key) if doc is not None else None
        if doc is None or not analysis or not analysis.inputs:
            return
        node_id = analysis.inputs[0]
        graph = doc.graphs()[key]
        doc.plan_and_edit(lambda: plan_set_param(graph, node_id, "shape", shape)
                          + plan_set_param(graph, node_id, "dtype", dtype),
                          f"Fit {node_id} to the data", key=key)

    def _devices(self) -> None:
        from torchloom.engine.train.config import list_devices

        self.training_panel.set_devices(list_devices())

    # ---- the run -----------------------------------------------------------------------

    def train(self, resume: Path | None = None) -> bool:
        doc = self.document
        if doc is None or self.controller.running:
            return False
        if doc.analysis is None:
            self.flash("PyTorch is still loading: try again in a moment")
            return False
        if self.sweeper.running:  # type: ignore[attr-defined]
            self.training_panel.say("A sweep is running: stop it (Sweep tab) before "
                                    "training", error=True)
            return False
        if doc.errors:
            count = len(doc.errors)
            what = "The networks have" if len(doc.graphs()) > 1 else "The graph has"
            text = (f"{what} {count} error{'s' * (count > 1)}: fix "
                    f"{'them' if count > 1 else 'it'} first (see the Problems panel).")
            self.training_panel.say(text, error=True)
            self.flash(text)
            self.show_tab(self.problems)
            return False
        from .window_inspect import LIVE_PROBE_EVERY

        request = TrainRequest.snapshot(doc.project, resume=resume,
                                        init_from=None if resume else self.weights_from,
                                        runs_dir=self.runs_dir(),
                                        probe_every=LIVE_PROBE_EVERY if doc.task.probes else 0)
        self._last_request_project = request.project
        self._run_prepared = False  # until the worker has a job: failures are "could not start"
        self._ensure_plots()
        # a resume of the run on show carries on its curves; of another, shows its epochs
        self._carry_on = resume is not None and self.plots.run_dir == resume
        if not self._carry_on:
            self.plots.reset()
            self.plots.run_dir = None
            if resume is not None:
                from torchloom.engine.train.history import read_metrics

                self.plots.show_metrics(read_metrics(resume))
        self.plots.status.setText("Preparing: loading data and compiling…")
        self.training_panel.say("")
        self.show_plots()
        doc.lock(LOCK_HINT)
        return self.controller.start(request)

    def find_lr(self) -> bool:
        """Find learning rate… (`training.lr_find_dialog.open_finder`)."""
        from .training.lr_find_dialog import open_finder

        return open_finder(self)

    def stop_training(self) -> None:
        self.controller.stop()

    def resume_training(self) -> bool:
        run = self.controller.last_run_dir
        if run is None:
            self.flash("There is no stopped run to resume")
            return False
        return self.train(resume=run)

    def reset_weights(self) -> None:
        self.weights_from = None
        self.training_panel.say("Weights reset: the next run starts from fresh weights.")

    def show_plots(self) -> None:
        """Bring the plots forward, tall enough to read (40 % of the window)."""
        self._ensure_plots()
        self.show_tab(self.plots_holder, height=int(self.height() * 0.4))

    def _ensure_plots(self) -> None:
        """The plots the open project's task declares (its charts, a sample grid)."""
        from torchloom.engine.tasks import task_class

        task = self.document.task if self.document is not None else task_class("classify")
        if self.plots is not None and self.plots.task is not task \
                and not self.controller.running:
            self.plots.hide()
            self.plots.setParent(None)
            self.plots.deleteLater()
            self.plots = None
        if self.plots is None:
            from .training.plots import PlotsPanel

            layout = self.plots_holder.layout()
            while layout.count():
                item = layout.takeAt(0)
                if item.widget():
                    item.widget().hide()
                    item.widget().setParent(None)
            self.plots = PlotsPanel(task, self.plots_holder)
            layout.addWidget(self.plots)

    def _training_state(self, state: str) -> None:
        can_resume = (self.controller.last_result is not None
                      and self.controller.last_result.status == "stopped"
                      and self.controller.last_run_dir is not None)
        self.training_panel.set_state(state, can_resume)
        self.act_train.setEnabled(state == "idle" and self.document is not None)
        self.act_stop.setEnabled(state == "training")
        self.act_resume.setEnabled(state == "idle" and can_resume)
        self.act_reset.setEnabled(state == "idle")
        self.act_pretrained.setEnabled(state == "idle" and self.document is not None)
        self.act_find_lr.setEnabled(state == "idle" and self.document is not None)
        if state == "idle" and self.document is not None:
            self.document.lock(None)
        for scene in self.canvas_scenes():
            scene.set_read_only(state != "idle")
        self.inspector.setEnabled(state == "idle")
        if state == "stopping" and self.plots is not None:
            self.plots.status.setText("Stopping after this batch…")
        self._gate_train()  # type: ignore[attr-defined]  # untrusted code files (H4)

    def _prepared(self, job: Any) -> None:
        self._run_prepared = True
        if self.plots is not None:
            self.plots.run_dir = job.run_dir
        self._run_warning = ""
        where = [f"Run folder: {job.run_dir}"] if job.run_dir else []
        # a note names files and folders (the images a folder dataset skipped): shown as
        # written, never as markup
        self._run_notes = "<br>".join(rich(t) for t in where + list(job.notes))
        self.training_panel.say(self._run_notes)
        from torchloom.engine.data.skipped import skipped_note

        skipped = skipped_note(job.data())
        if skipped:  # a run on fewer images than the folder holds: said where one looks
            self.flash(skipped[0].upper() + skipped[1:])

    def _began(self, info: dict[str, Any]) -> None:
        if self.plots is not None:
            if self._carry_on:
                self.plots.resume(info)
            self.plots.set_epochs(info["epochs"])
            if not info.get("val_samples"):
                self.plots.status.setText(f"Training on {info.get('device', '?')}: "
                                          f"{info.get('train_samples', 0):,} samples")
            else:
                self.plots.status.setText(f"Training on {info['device']}: "
                                          f"{info['train_samples']:,} train / "
                                          f"{info['val_samples']:,} validation samples")

    def _reports(self, reports: list[Any]) -> None:
        if self.plots is not None:
            self.plots.add_reports(reports)

    def _epoch(self, report: Any) -> None:
        if self.plots is not None:
            self.plots.add_epoch(report)
        warning = (getattr(report, "extra", None) or {}).get("warning")
        if warning:  # a GAN's mode collapse: said in the run's log too, not only drawn
            self._run_warning = (f"<span style='color:{theme.current().warning}'>⚠ "
                                 f"{html.escape(str(warning))}</span>")
            self.training_panel.say("<br>".join(
                t for t in (getattr(self, "_run_notes", ""), self._run_warning) if t))
            self.flash(str(warning))

    def _finished(self, result: Any) -> None:
        if result.status in ("finished", "stopped") and result.run_dir is not None:
            self.weights_from = result.run_dir
        final = result.final
        text = {"finished": "Finished", "stopped": f"Stopped at step {result.step}: Resume "
                "continues from the checkpoint", "failed": "Failed"}.get(result.status, "")
        if result.status == "finished" and result.early_stop is not None:
            from torchloom.engine.train.early_stop import describe

            text = describe(result.early_stop).capitalize()
        metrics = final.metrics() if final is not None else {}
        for key, label in (self.plots.task.headline if self.plots is not None else ()):
            if metrics.get(key) is not None:
                text += f" · {label} {metrics[key]:.4f}"
        if self.plots is not None and result.status != "failed":
            self.plots.finish(result.status, text)
        if result.status != "failed":
            notes = "<br>".join(t for t in (getattr(self, "_run_notes", ""),
                                            getattr(self, "_run_warning", "")) if t)
            self.training_panel.say(text + (f"<br>{notes}" if notes else ""))
        elif result.run_dir is not None:  # under the failure, muted: what the person still has
            kept = (f"The run folder keeps its last checkpoint, from step {result.checkpoint[1]}"
                    "." if result.checkpoint else "No checkpoint was saved before the failure.")
            self.training_panel.say(
                getattr(self, "_failure_text", "") + f"<br><span style='color:"
                f"{theme.current().node_subtext}'>{kept}<br>Run folder: "
                f"{html.escape(str(result.run_dir))}</span>", error=True)
        if self.document is not None:
            self.runs_panel.refresh(self.runs_dir())

    def _failed(self, message: str) -> None:
        """A run that failed, or one that could not start: the whole message (what happened,
        then what to change) in the Training panel under a heading that says which, and its
        first part in the plots' status line; the window carries on, ready to train."""
        started = getattr(self, "_run_prepared", False)
        heading = "Training failed" if started else "Training could not start"
        self._failure_text = f"<b>{heading}</b><br>{html.escape(message)}"
        self.training_panel.say(self._failure_text, error=True)
        if self.plots is not None:
            # a run's messages read "what happened: what to change"; the status line is short
            self.plots.finish("failed", f"{heading}: {message.split(': ', 1)[0]}" if started
                              else message)
            self.plots.status.setToolTip(message)
            if started:
                progress = self.plots.progress
                progress.setFormat(progress.format().split(" · ETA")[0] + " · failed")
        self.show_tab(self.training_panel)
        self.flash(message)

    def _overlay_runs(self, runs: list[Any]) -> None:
        if runs:
            self._ensure_plots()
        if self.plots is not None:
            self.plots.show_history(runs)

    def stop_training_for_exit(self) -> None:
        """Closing while training: stop cleanly (a checkpoint is kept) and wait; a
        learning-rate sweep still running is cancelled."""
        if self.lr_find_dialog is not None:
            self.lr_find_dialog.reject()
        if self.controller.running:
            self.controller.stop()
            self.controller.wait(120_000)

