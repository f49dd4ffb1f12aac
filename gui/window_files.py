"""File handling for the main window: new, open, save, recent files, unsaved changes and
recovery after a crash. A mixin: it works on the window's `document` and widgets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.project import UNTITLED, Project, load_project
from torchloom.engine.run_move import MoveReport

from .autosave import leftovers
from .document import Document
from .paths import add_recent
from .text import message, plain
from .training.runs_follow import RunsFollowProject

PROJECT_FILTER = "Torchloom projects (*.json);;All files (*)"


def untitled_project() -> Project:
    """What File > New opens: one MNIST-sized Input on the default data. One definition, so
    the canvas tests that build a canvas without the window start from the same project."""
    project = Project(name=UNTITLED, dataset={"name": "mnist5k"})
    project.graph.add_node("Input", {"shape": [1, 28, 28]}, "x", pos=(0.0, 0.0))
    return project


class FileActions:
    """Needs `document`, `loader`, `autosaver`, `set_document` and `flash` from the window."""

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the current document (saved, or the person agreed)."""
        doc = self.document
        if doc is None or not doc.dirty:
            return True
        answer = self.ask_unsaved(doc.display_name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def ask_unsaved(self, name: str) -> str:
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          message(f"{name} has unsaved changes. Save them first?"),
                          parent=self)
        save = box.addButton("Save", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Don't save", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        box.exec()
        clicked = box.clickedButton()
        return "save" if clicked is save else "discard" if clicked is discard else "cancel"

    def new_project(self) -> None:
        if not self.confirm_discard():
            return
        self.set_document(Document(untitled_project(), self.loader))

    def new_from_template(self, name: str = "gan") -> bool:
        """New from template: the task `name`'s small project opens untitled."""
        from torchloom.engine.resources import examples_dir
        from torchloom.engine.tasks import task_class

        template = task_class(name).template
        assert template is not None, name
        path = examples_dir() / template
        if not self.confirm_discard():
            return False
        try:
            project = load_project(path)
        except ProjectFileError as exc:
            self.report("Cannot open the template", exc.describe())
            return False
        project.path = None
        self.set_document(Document(project, self.loader))
        return True

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        start = str(self.document.path.parent) if self.document and self.document.path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start, PROJECT_FILTER)
        if path:
            self.open_path(Path(path), confirmed=True)

    def open_path(self, path: Path, confirmed: bool = False) -> bool:
        """Open a project file. A file that fails to load gets a dialog naming it and why."""
        if not confirmed and not self.confirm_discard():
            return False
        try:
            project = load_project(path)
        except ProjectFileError as exc:
            self.report("Cannot open project", f"{path}\n\n{exc.message}" +
                        (f"\n(at {exc.where})" if exc.where else ""))
            return False
        self.set_document(Document(project, self.loader))
        add_recent(path)
        self.offer_trust()
        return True

    def open_example(self, path: Path) -> None:
        """Examples open as untitled copies, so the bundled file is never overwritten."""
        if not self.confirm_discard():
            return
        try:
            project = load_project(path)
        except ProjectFileError as exc:
            self.report("Cannot open example", exc.describe())
            return
        project.path = None
        self.set_document(Document(project, self.loader))

    def open_recovered(self, project: Project) -> None:
        document = Document(project, self.loader)
        self.set_document(document)
        document.mark_dirty()

    def save(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        if doc.path is None:
            return self.save_as()
        return self.save_to(doc.path)

    def save_as(self) -> bool:
        doc = self.document
        if doc is None:
            return False
        path = self.ask_save_path(doc)
        return self.save_to(Path(path)) if path else False

    def ask_save_path(self, doc: Document) -> str:
        suggestion = str(doc.path) if doc.path else f"{doc.project.name}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save project", suggestion, PROJECT_FILTER)
        if path and not path.endswith(".json"):
            path += ".json"
        return path

    def save_to(self, path: Path) -> bool:
        doc = self.document
        assert doc is not None
        first = doc.path is None
        name = doc.project.name
        if first and name == UNTITLED:
            doc.project.name = path.stem  # a new project takes the name it is saved under
        try:
            target = doc.save(path)
        except ProjectFileError as exc:
            doc.project.name = name
            self.report("Cannot save project", exc.describe())
            return False
        add_recent(target)
        self.autosaver.clear()
        self.flash(f"Saved {target}")
        self.runs_follow.saved(doc, first)  # an unsaved project's runs move next to the file
        return True

    # ---- the runs of a project that had no file ----------------------------------------

    def _build_runs_follow(self) -> None:
        self.runs_follow = RunsFollowProject(self.controller, lambda: self.document,
                                             self.wait_background, self)
        self.runs_follow.moved.connect(self._runs_moved)
        self.runs_follow.waiting.connect(self._runs_waiting)

    def _runs_waiting(self, text: str) -> None:
        self.flash(text)
        self.runs_panel.set_note(text)

    def _runs_moved(self, document: Document, report: MoveReport) -> None:
        """Say where the runs went; everything that remembers a run folder follows it. A
        run that could not move is named in a dialog, with where it still is."""
        lines = report.lines()
        if document is self.document:
            sources = sorted({str(m.source.parent) for m in report.moved})
            note = (f"{len(report.moved)} run{'s' * (len(report.moved) > 1)} moved here from "
                    f"{', '.join(sources)} when the project was first saved." if report.moved
                    else "")
            renamed = [f"{m.source.name} is now {m.target.name} (the name was taken)."
                       for m in report.moved if m.renamed]
            self._train_runs_moved(report.mapping, " ".join([note, *renamed]).strip())
            self._inspect_runs_moved(report.mapping)
        if lines:
            self.flash(lines[0])
        trouble = [f"{path} could not move ({why}); it stays where it was."
                   for path, why in report.failed]
        trouble += [line for line in lines if "could not be deleted" in line]
        if trouble:
            self.warn("Some runs did not move", "\n\n".join(
                trouble + ["Nothing was deleted that was not copied first: every run is "
                           "still on disk."]))

    def warn(self, title: str, text: str) -> None:
        QMessageBox.warning(self, plain(title), message(text))

    def report(self, title: str, text: str) -> None:
        """An error for the person; its text names their files and ids, so it is escaped
        (`gui.text.message`): no escape sequence, no markup from a file name is rendered."""
        QMessageBox.critical(self, plain(title), message(text))

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.confirm_discard():
            event.ignore()
            return
        self.stop_training_for_exit()
        self.stop_sweep_for_exit()  # type: ignore[attr-defined]
        self.wait_background()
        self.autosaver.stop()
        if self.document is not None:
            self.document.close()
        event.accept()

    def recover_leftovers(self) -> None:
        """After a crash: offer each autosave a dead session left behind."""
        for left in leftovers():
            if self.ask_recover(left.describe()):
                try:
                    project = left.load()
                except ProjectFileError as exc:
                    self.report("Cannot recover", exc.describe())
                    continue
                self.open_recovered(project)
                self.autosaver.save_now()
                left.discard()
                return
            left.discard()

    def ask_recover(self, description: str) -> bool:
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            message("Torchloom did not close normally last time.\n\n"
                    f"{description}\n\nRecover it?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
