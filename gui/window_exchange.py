"""Models in and out, for the main window: File → Export, File → Import PyTorch module, and
the trust step for the Python files a project's Code blocks run. A mixin.

Exports and imports run on a worker thread (an ONNX export takes a few seconds, an import
runs the person's code); the window stays usable and says where the files went.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from torchloom.engine.project import Project, dumps_project, loads_project

from .actions import ACTIONS
from .exchange.export_dialog import FORMATS, ExportDialog, matching_runs
from .exchange.export_done import ExportDoneDialog, export_message
from .inspect.jobs import Jobs
from .text import message


def snapshot(project: Project) -> Project:
    """A copy a worker thread may read while the person goes on editing."""
    copy = loads_project(dumps_project(project), path=str(project.path or "<unsaved>"))
    copy.path = project.path
    copy.graph.base_dir = project.graph.base_dir
    return copy


def describe_checks(checks: dict[str, Any]) -> str:
    parts = []
    if checks.get("outputs_identical"):
        parts.append("outputs identical to the model's")
    if "max_abs_diff" in checks and not checks.get("outputs_identical"):
        parts.append(f"largest difference from the model {checks['max_abs_diff']:.2g}")
    if checks.get("batch_sizes"):
        parts.append("checked on batches of " + " and ".join(map(str, checks["batch_sizes"])))
    if checks.get("tensors_equal"):
        parts.append("every tensor read back equal")
    return "; ".join(parts)


class ExchangeActions:
    """Needs `document`, `report`, `flash`, `runs_dir`, `_action`, `open_path` and
    `controller`."""

    def _build_exchange_actions(self) -> None:
        a = self._action
        self.exchange_jobs = Jobs(self)  # type: ignore[arg-type]
        self.act_export = a("export", self.export_dialog)
        self.export_actions = {key: self._derived_action(label, lambda k=key: self.export_dialog(k),
                                                         doc)
                               for key, label, doc, _suffix in FORMATS}
        self.act_import = a("import", self.import_dialog)
        self.act_trust = a("trust", self.trust_code_files)

    def _build_exchange_menu(self, file: QMenu) -> None:
        file.addAction(self.act_import)
        menu = self.export_menu = file.addMenu("E&xport")
        menu.addAction(self.act_export)
        menu.addSeparator()
        for act in self.export_actions.values():
            menu.addAction(act)
        file.addAction(self.act_trust)

    def _exchange_enabled(self) -> None:
        has = self.document is not None
        busy = getattr(self, "_exchange_busy", False)
        from .exchange.export_dialog import formats_for

        allowed = formats_for(self.document.project) if has else ()
        self.act_export.setEnabled(has and not busy)
        for key, act in self.export_actions.items():
            act.setEnabled(has and not busy and key in allowed)
        self.export_menu.setEnabled(has and not busy)
        self.act_import.setEnabled(not busy)
        self.act_trust.setEnabled(has and bool(self._untrusted()))

    def _set_exchange_busy(self, busy: bool) -> None:
        """One export or import at a time: both trace the model, and tracing patches torch
        process-wide for a moment."""
        self._exchange_busy = busy
        self._exchange_enabled()

    def _refuse_while_training(self, what: str) -> bool:
        if self.controller.running:
            self.report(f"Cannot {what} now", f"A model is training. Stop it (or let it "
                        f"finish) before you {what}: both trace models, which must not happen "
                        "while training steps run.")
            return True
        return False

    # ---- export --------------------------------------------------------------------------

    def export_dialog(self, fmt: str = "python") -> None:
        doc = self.document
        if doc is None or self._refuse_while_training("export"):
            return
        errors = doc.errors
        if errors:
            self.report("Cannot export", "The graph has errors; fix them first (see the "
                        f"Problems tab):\n\n{errors[0].describe()}")
            return
        project = snapshot(doc.project)
        runs = matching_runs(project, self.runs_dir() if doc.path else None)
        dialog = ExportDialog(project, runs, fmt, self)  # type: ignore[arg-type]
        self._export_dialog = dialog  # tests reach it while it is open
        if not dialog.exec():
            return
        choice = dialog.choice()
        if choice.out.exists() and not self.ask_replace([choice.out]):
            return
        self.start_export(project, choice)

    def start_export(self, project: Project, choice: Any) -> None:
        from torchloom.engine.export import export_project

        self.flash(f"Exporting {choice.fmt} to {choice.out}…")
        self._set_exchange_busy(True)

        def done(result: Any) -> None:
            self._set_exchange_busy(False)
            self.last_export = result
            self.flash(f"Exported {choice.fmt}: {result.files[0] if result.files else ''}")
            message = export_message([str(f) for f in result.files],
                                     describe_checks(result.checks), list(result.notes))
            dialog = ExportDoneDialog(message, self)  # type: ignore[arg-type]
            self._export_done = dialog  # tests reach it while it is open
            dialog.exec()

        def failed(message: str) -> None:
            self._set_exchange_busy(False)
            self.last_export = None
            self.report("Export failed", message)

        self.exchange_jobs.submit("export", lambda: export_project(
            project, choice.fmt, choice.out, weights=choice.weights), done, failed)

    # ---- trusting code files -----------------------------------------------------------

    def _untrusted(self) -> list[Path]:
        from torchloom.engine.codefiles import untrusted_files

        doc = self.document
        if doc is None:
            return []
        found: dict[str, Path] = {}  # every graph of the project (a GAN has two), each file once
        for graph in doc.graphs().values():
            for path in untrusted_files(graph):
                found.setdefault(str(path), path)
        return list(found.values())

    def train_blocked_reason(self) -> str | None:
        """Why Train is off while Code blocks name files nobody trusted (None: it is not)."""
        from .units.code_status import untrusted_reason

        if self.document is None:
            return None
        return untrusted_reason(self._untrusted(), self.document.graph.base_dir)

    def _gate_train(self) -> None:
        """Train stays off, with the reason as its tooltip, until the code files are trusted;
        the graph still displays and can be edited."""
        reason = self.train_blocked_reason()
        button = self.training_panel.train_button  # type: ignore[attr-defined]
        if reason:
            self.act_train.setEnabled(False)  # type: ignore[attr-defined]
            button.setEnabled(False)
        elif self.controller.state == "idle":
            self.act_train.setEnabled(self.document is not None)  # type: ignore[attr-defined]
            button.setEnabled(True)
        keys = self.act_train.shortcut().toString(  # type: ignore[attr-defined]
            QKeySequence.SequenceFormat.NativeText)
        tip = message(reason) if reason else f"{ACTIONS['train'].does} ({keys})"
        self.act_train.setToolTip(tip)  # type: ignore[attr-defined]
        button.setToolTip(tip)
        self.act_trust.setEnabled(self.document is not None and bool(reason))

    def offer_trust(self) -> None:
        """After opening a project: its Code blocks' files run only if the person says so."""
        files = self._untrusted()
        if files and self.ask_trust(files):
            self._trust(files)

    def trust_code_files(self) -> None:
        files = self._untrusted()
        if not files:
            self.flash("Every code file of this project is trusted.")
            return
        if self.ask_trust(files):
            self._trust(files)

    def ask_trust(self, files: list[Path]) -> bool:
        from .trust_prompt import trust_box

        folder = self.document.graph.base_dir if self.document is not None else None
        box, trust = trust_box(self, files, folder)  # type: ignore[arg-type]
        box.exec()
        return box.clickedButton() is trust

    def _trust(self, files: list[Path]) -> None:
        from torchloom.engine.codefiles import trust_file
        from torchloom.engine.errors import TorchloomError

        for path in files:
            try:
                trust_file(path)
            except TorchloomError as exc:
                self.report("Cannot trust the file", exc.describe())
        if self.document is not None:
            self.document.refresh()
        self._exchange_enabled()
        self._gate_train()
        self.flash(f"Trusted {len(files)} code file{'s' * (len(files) > 1)}")

    # ---- import --------------------------------------------------------------------------

    def import_dialog(self) -> None:
        from .exchange.import_dialog import ImportDialog

        if self._refuse_while_training("import") or not self.confirm_discard():
            return
        dialog = ImportDialog(self)  # type: ignore[arg-type]
        self._import_dialog = dialog
        if not dialog.exec():
            return
        request = dialog.request()
        existing = [p for p in request.outputs() if p.exists()]
        if existing:
            if not self.ask_replace(existing):
                return
            request.force = True
        self.start_import(request)

    def ask_replace(self, paths: list[Path]) -> bool:
        listing = "\n".join(f"  • {p}" for p in paths)
        answer = QMessageBox.question(
            self, "Replace files?",  # type: ignore[arg-type]
            message(f"These files already exist:\n\n{listing}\n\nReplace them?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def start_import(self, request: Any) -> None:
        from torchloom.engine.importer import import_to_project

        self.flash(f"Importing {request.source}…")
        self._set_exchange_busy(True)

        def done(result: Any) -> None:
            self._set_exchange_busy(False)
            self.last_import = result
            if self.open_path(result.project_path, confirmed=True):
                report = "\n".join(result.report_lines())
                QMessageBox.information(self, "Import finished",  # type: ignore[arg-type]
                                        message(report))

        def failed(message: str) -> None:
            self._set_exchange_busy(False)
            self.last_import = None
            self.report("Import failed", message)

        self.exchange_jobs.submit("import", lambda: import_to_project(**request.kwargs()),
                                  done, failed)
