"""The main window: canvas in the centre, palette, inspector and problems around it, and the
menus that drive them. File handling (`window_files`) and editing (`window_edit`) are mixed
in; every model change is an engine edit pushed through the document."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QColor, QUndoGroup
from PySide6.QtWidgets import (QApplication, QDockWidget, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QStackedWidget, QTabWidget, QWidget)


from . import theme
from .actions import ACTIONS, bindings, shortcut_rows, tool_tip
from .autosave import Autosaver
from .canvas.scene import CanvasScene
from .canvas.style import format_count, format_shape
from .canvas.view import CanvasView
from .dialog_focus import FocusReturn
from .document import Document
from .engine_loader import engine_loader
from .gan.canvas_tabs import GanCanvas
from .inspector import Inspector
from .palette import Palette
from .paths import recent_files, settings
from .problems import ProblemsPanel
from .shortcuts import ShortcutsDialog
from .start_page import StartPage
from .text import plain
from .units.window_units import UnitActions
from .window_edit import EditActions
from .window_exchange import ExchangeActions
from .window_files import FileActions
from .window_inspect import InspectActions
from .window_sweep import SweepActions
from .window_train import TrainActions



class MainWindow(FileActions, EditActions, TrainActions, SweepActions, InspectActions,
                 ExchangeActions, UnitActions, QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.loader = engine_loader()
        self.document: Document | None = None
        self.scene: CanvasScene | None = None
        self.view: CanvasView | None = None
        #: A GAN project's tabbed canvas (None for a classifier's single canvas).
        self.gan_canvas: GanCanvas | None = None
        self.undo_group = QUndoGroup(self)
        self.setMinimumSize(QSize(900, 600))
        self.resize(1400, 900)
        self.stack = QStackedWidget(self)
        self.start_page = StartPage(self)
        self.start_scroll = QScrollArea(self)  # so the page never forces a tall window
        self.start_scroll.setWidgetResizable(True)
        self.start_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.start_scroll.setWidget(self.start_page)
        self.stack.addWidget(self.start_scroll)
        self.setCentralWidget(self.stack)
        self._build_docks()
        self._build_status()
        self._build_actions()
        self._build_menus()
        self._build_training()
        self._build_sweep()
        self._build_inspect()
        self._build_runs_follow()
        self._build_units()
        #: the canvas in front gets the keys back whenever one of our dialogs closes
        self.focus_return = FocusReturn(self, lambda: self.view)
        self.start_page.new_requested.connect(self.new_project)
        self.start_page.template_requested.connect(self.new_from_template)
        self.start_page.open_requested.connect(self.open_dialog)
        self.start_page.recent_requested.connect(lambda p: self.open_path(Path(p)))
        self.start_page.example_requested.connect(self.open_example)
        self.autosaver = Autosaver(lambda: self.document, self)
        self.loader.ready.connect(self._engine_ready)
        self.loader.failed.connect(lambda msg: self.engine_label.setText(msg))
        self._update_title()
        self._update_enabled()

    # ---- layout ------------------------------------------------------------------------

    def _build_docks(self) -> None:
        """Three docks: blocks on the left; inspector (and data, training) on the right;
        problems (and plots, runs) below. The side and bottom docks hold tab widgets: one
        dock per area keeps the layout predictable and easy to resize."""
        self.palette = Palette(self)
        self.palette.add_requested.connect(self.add_block_at_center)
        self.inspector = Inspector(self)
        self.problems = ProblemsPanel(self)
        self.problems.node_activated.connect(self.focus_node)
        self.problems.fix_requested.connect(self.apply_fix)
        self.problems.graph_activated.connect(
            lambda key: self.document.set_active(key) if self.document is not None else None)
        self.side_tabs = QTabWidget(self)
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(self.inspector, "Inspector")
        self.bottom_tabs = QTabWidget(self)
        self.bottom_tabs.setDocumentMode(True)
        self.bottom_tabs.addTab(self.problems, "Problems")
        self.palette_dock = self._dock("Blocks", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.side_dock = self._dock("Details", self.side_tabs,
                                    Qt.DockWidgetArea.RightDockWidgetArea, title_bar=False)
        self.bottom_dock = self._dock("Output", self.bottom_tabs,
                                      Qt.DockWidgetArea.BottomDockWidgetArea, title_bar=False)
        self.resizeDocks([self.palette_dock, self.side_dock], [230, 330],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.bottom_dock], [170], Qt.Orientation.Vertical)

    def show_tab(self, page: QWidget, height: int | None = None) -> None:
        """Bring a side or bottom page forward; `height` resizes the bottom dock."""
        for tabs, dock in ((self.side_tabs, self.side_dock), (self.bottom_tabs, self.bottom_dock)):
            index = tabs.indexOf(page)
            if index >= 0:
                dock.show()
                tabs.setCurrentIndex(index)
                if height is not None and dock is self.bottom_dock:
                    self.resizeDocks([dock], [height], Qt.Orientation.Vertical)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea,
              title_bar: bool = True) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(title)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        if not title_bar:  # its tabs say what it is
            dock.setTitleBarWidget(QWidget(dock))
        self.addDockWidget(area, dock)
        return dock

    def _build_status(self) -> None:
        self.summary_label = QLabel("")
        self.engine_label = QLabel("")
        self.statusBar().addPermanentWidget(self.summary_label)
        self.statusBar().addPermanentWidget(self.engine_label)
        if not self.loader.is_ready:
            self.engine_label.setText("Loading PyTorch…")

    def _action(self, name: str, slot) -> QAction:  # type: ignore[no-untyped-def]
        """The action `name` of `actions.ACTIONS` (its text, keys and tip), calling `slot`."""
        spec = ACTIONS[name]
        action = QAction(spec.text, self)
        self._declare(action, name)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _declare(self, action: QAction, name: str) -> None:
        """Give `action` the keys and the tip `actions.ACTIONS` declares for `name`."""
        spec = ACTIONS[name]
        action.setShortcuts(self._bindings[name])
        action.setToolTip(tool_tip(name, self._bindings))  # toolbar buttons show it
        if spec.does:
            action.setStatusTip(spec.does)

    def _derived_action(self, text: str, slot, tip: str = "") -> QAction:  # type: ignore[no-untyped-def]
        """An action made from other declared data (an export format): no keys."""
        action = QAction(text, self)
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self._bindings = bindings()
        a = self._action
        self.act_new = a("new", self.new_project)
        self.act_new_gan = a("new_gan", lambda: self.new_from_template("gan"))
        self.act_open = a("open", self.open_dialog)
        self.act_save = a("save", self.save)
        self.act_save_as = a("save_as", self.save_as)
        self.act_quit = a("quit", self.close)
        self.act_undo = self.undo_group.createUndoAction(self, ACTIONS["undo"].text)
        self._declare(self.act_undo, "undo")
        self.act_redo = self.undo_group.createRedoAction(self, ACTIONS["redo"].text)
        self._declare(self.act_redo, "redo")
        self.act_cut = a("cut", self.cut)
        self.act_copy = a("copy", self.copy)
        self.act_paste = a("paste", self.paste)
        self.act_duplicate = a("duplicate", self.duplicate)
        self.act_delete = a("delete", self.delete_selection)
        self.act_select_all = a("select_all", self.select_all)
        self.act_layout = a("layout", self.auto_layout)
        self.act_fit = a("fit", self.fit)
        self.act_fit.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.act_add = a("add", self.quick_add)
        self.act_dark = a("dark", lambda: self.set_theme("dark"))
        self.act_light = a("light", lambda: self.set_theme("light"))
        self.act_shortcuts = a("shortcuts", self.show_shortcuts)
        self.act_about = a("about", self.show_about)
        self._build_exchange_actions()
        from torchloom.engine.tasks import task_class, task_names

        #: File → New from template: one project per task ("gan" is New GAN itself)
        self.template_actions = {"gan": self.act_new_gan}
        for name in task_names():
            task = task_class(name)
            if task.template and name not in self.template_actions:
                self.template_actions[name] = self._derived_action(
                    f"{task.title}…", lambda n=name: self.new_from_template(n), task.summary)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.act_new)
        templates = file.addMenu("New from &template")
        for act in self.template_actions.values():
            templates.addAction(act)
        for act in (self.act_new_gan, self.act_open):
            file.addAction(act)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file.addSeparator()
        for act in (self.act_save, self.act_save_as):
            file.addAction(act)
        file.addSeparator()
        self._build_exchange_menu(file)
        file.addSeparator()
        file.addAction(self.act_quit)
        edit = bar.addMenu("&Edit")
        edit.addAction(self.act_undo)
        edit.addAction(self.act_redo)
        edit.addSeparator()
        for act in (self.act_cut, self.act_copy, self.act_paste, self.act_duplicate,
                    self.act_delete):
            edit.addAction(act)
        edit.addSeparator()
        edit.addAction(self.act_select_all)
        edit.addAction(self.act_add)
        edit.addAction(self.act_layout)
        view = self.view_menu = bar.addMenu("&View")
        view.addAction(self.act_fit)
        view.addSeparator()
        for dock in (self.palette_dock, self.side_dock, self.bottom_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        view.addAction(self.act_dark)
        view.addAction(self.act_light)
        help_ = bar.addMenu("&Help")
        help_.addAction(self.act_shortcuts)
        help_.addAction(self.act_about)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = [f for f in recent_files() if Path(f).exists()]
        for path in files:
            act = self.recent_menu.addAction(Path(path).name)
            act.setToolTip(path)
            act.triggered.connect(lambda _=False, p=path: self.open_path(Path(p)))
        if not files:
            self.recent_menu.addAction("No recent projects").setEnabled(False)

    # ---- documents ---------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        self._leave_units()
        old = self.document
        if old is not None:
            self.undo_group.removeStack(old.undo_stack)
            old.close()
        self.document = document
        host = self.gan_canvas or self.view
        if host is not None:
            self.stack.removeWidget(host)
            host.deleteLater()
            self.view = None
            self.scene = None
            self.gan_canvas = None
        if document is None:
            self.stack.setCurrentWidget(self.start_scroll)
            self.start_page.refresh_recent()
        else:
            self.undo_group.addStack(document.undo_stack)
            self.undo_group.setActiveStack(document.undo_stack)
            if len(document.graphs()) > 1:  # one canvas tab per network (a GAN's two)
                self._build_gan_canvas(document)
            else:
                self.scene = CanvasScene(document)
                self.view = CanvasView(self.scene, self)
                self.view.add_block_requested.connect(self.add_block)
                self.view.add_next_requested.connect(self.add_next)
                self.stack.addWidget(self.view)
                self.stack.setCurrentWidget(self.view)
                self.scene.node_selection_changed.connect(self.inspector.show_nodes)
            self.act_fit.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            document.title_changed.connect(self._update_title)
            document.analysis_changed.connect(self._update_summary)
            document.message.connect(self.flash)
            assert self.view is not None
            self.view.fit_readable()
            self.view.setFocus()
        self.inspector.set_document(document)
        self._training_document()
        self._sweep_document()
        self._inspect_document()
        self._update_summary()
        self._update_title()
        self._update_enabled()
        self._units_document()

    def _build_gan_canvas(self, document: Document) -> None:
        """A GAN: one canvas tab per graph; `scene` and `view` follow the tab on show."""
        tabs = self.gan_canvas = GanCanvas(document, self)
        for key, scene in tabs.scenes.items():
            view = tabs.views[key]
            view.add_block_requested.connect(self.add_block)
            view.add_next_requested.connect(self.add_next)
            scene.node_selection_changed.connect(
                lambda ids, s=scene: self.inspector.show_nodes(ids) if s is self.scene else None)
        self.scene, self.view = tabs.scenes[tabs.key], tabs.views[tabs.key]
        tabs.graph_shown.connect(self._graph_shown)
        self.stack.addWidget(tabs)
        self.stack.setCurrentWidget(tabs)

    def _graph_shown(self, key: str) -> None:
        """Another GAN graph's tab: the window's canvas, inspector and summary follow it."""
        tabs = self.gan_canvas
        if tabs is None:
            return
        self.scene, self.view = tabs.scenes[key], tabs.views[key]
        self.inspector.node_id = None
        self.inspector.show_nodes(self.scene.selected_node_ids())
        self.inspector.rebuild()
        self._update_summary()
        self.view.setFocus()

    def canvas_scenes(self) -> list[CanvasScene]:
        """Every canvas of the open project (two for a GAN)."""
        if self.gan_canvas is not None:
            return list(self.gan_canvas.scenes.values())
        return [self.scene] if self.scene is not None else []

    def wait_background(self, timeout: float = 10.0) -> None:
        """Wait for the short background threads (data preview, probes, exports) so the
        process never exits with one of them inside torch."""
        from .inspect.jobs import Jobs

        self.data_panel.wait(timeout)
        for jobs in self.findChildren(Jobs):
            jobs.wait(timeout)

    # ---- status, title, themes, help ---------------------------------------------------

    def flash(self, text: str) -> None:
        self.statusBar().showMessage(plain(text), 8000)  # often names a file or an id

    def _engine_ready(self) -> None:
        self.engine_label.setText("")
        self._update_summary()

    def _update_summary(self) -> None:
        doc = self.document
        if doc is None:
            self.summary_label.setText("")
            self.problems.show_problems([])
            return
        analysis = doc.analysis
        if analysis is None:
            self.summary_label.setText(f"{len(doc.graph)} blocks")
            return
        if doc.gan_analysis is not None:  # several graphs, checked together
            self._update_gan_summary()
            return
        out = analysis.output_spec
        frozen = analysis.frozen_params
        parts = [f"{format_count(analysis.total_params)} parameters"
                 + (f" ({format_count(frozen)} frozen)" if frozen else ""),
                 f"output {format_shape(out.shape) if out else '?'}"]
        if analysis.errors:
            parts.append(f"{len(analysis.errors)} error{'s' * (len(analysis.errors) > 1)}")
        self.summary_label.setText("  ·  ".join(parts))
        self.problems.show_problems(analysis.problems)
        self.bottom_tabs.setTabText(self.bottom_tabs.indexOf(self.problems),
                                    f"Problems ({len(analysis.problems)})"
                                    if analysis.problems else "Problems")

    def _update_gan_summary(self) -> None:
        """Both networks' sizes, what goes in and out, and the problems of both."""
        doc = self.document
        assert doc is not None and doc.gan_analysis is not None
        gan = doc.gan_analysis
        parts = [" · ".join(f"{key} {format_count(a.total_params)}"
                            for key, a in gan.analyses.items()) + " parameters"]
        flow = gan.flow()
        if flow is not None:
            parts.append(" → ".join(f"{what} {format_shape(shape)}" for what, shape in flow))
        errors = len(gan.errors)
        if errors:
            parts.append(f"{errors} error{'s' * (errors > 1)}")
        self.summary_label.setText("  ·  ".join(parts))
        problems = doc.problems
        if getattr(self, "_problems_from", None) is not gan:  # not on a tab switch: a row
            self._problems_from = gan                           # may be in use
            self.problems.show_problems(problems)
        self.bottom_tabs.setTabText(self.bottom_tabs.indexOf(self.problems),
                                    f"Problems ({len(problems)})" if problems else "Problems")

    def _update_title(self) -> None:
        doc = self.document
        if doc is None:
            self.setWindowTitle("Torchloom")
        else:
            self.setWindowTitle(f"{plain(doc.display_name)}{'*' if doc.dirty else ''} — Torchloom")

    def _update_enabled(self) -> None:
        has = self.document is not None
        for act in (self.act_save, self.act_save_as, self.act_cut, self.act_copy,
                    self.act_paste, self.act_duplicate, self.act_delete, self.act_select_all,
                    self.act_layout, self.act_fit, self.act_add):
            act.setEnabled(has)
        self._exchange_enabled()

    def set_theme(self, name: str) -> None:
        theme.apply_theme(QApplication.instance(), name)  # type: ignore[arg-type]
        store = settings()
        store.setValue("theme", name)
        store.sync()
        for scene in self.canvas_scenes():
            scene.setBackgroundBrush(QColor(theme.current().background))
            for item in scene.items():
                item.update()
            for view in scene.views():
                view.viewport().update()
        if self.document is not None:
            self.problems.show_problems(self.document.problems)
        self.inspector.rebuild()
        self.inspect_panel.apply_theme()
        self.evaluate_panel.confusion.apply_theme()
        self.evaluate_panel.saliency.apply_theme()
        self.sweep_panel.plots.apply_theme()
        for overlay in getattr(self.gan_canvas, "cost_overlays", [self.cost_overlay]):
            overlay.apply_theme()

    def show_shortcuts(self) -> None:
        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        QMessageBox.about(self, "About Torchloom",
                          "<h3>Torchloom</h3><p>A visual model builder for PyTorch.</p>"
                          f"<p>{len(shortcut_rows())} keyboard shortcuts: Help → Keyboard "
                          "shortcuts.</p>")
