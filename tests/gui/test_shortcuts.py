"""Keyboard shortcuts: declared once (gui/actions.py), no two actions answer the same keys,
Redo answers Ctrl+Shift+Z and Ctrl+Y, and Help lists what the window really binds."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QTableWidget, QWidget

from torchloom.gui.actions import (ACTIONS, K, ActionSpec, bindings, key_sequences,
                                   keys_text, shortcut_rows)

from .conftest import activate, settle


def every_action(window) -> list[QAction]:
    """Every QAction of the window: its own, its menus' and every child widget's (canvas,
    tabs, docks, toolbars, breadcrumbs), each once."""
    found: dict[int, QAction] = {}
    menus = [a.menu() for a in window.menuBar().actions() if a.menu() is not None]
    sources = [window, *window.findChildren(QWidget), *menus]
    while menus:  # submenus (Open Recent, Export, Colour blocks by)
        menu = menus.pop()
        subs = [a.menu() for a in menu.actions() if isinstance(a.menu(), QMenu)]
        sources += subs
        menus += subs
    for source in sources:
        for action in source.actions():
            found[id(action)] = action
    for action in window.findChildren(QAction):
        found[id(action)] = action
    return list(found.values())


def clashes(window) -> dict[str, list[str]]:
    """Each key sequence answered more than once, with the actions that answer it."""
    seen: dict[str, list[str]] = {}
    for action in every_action(window):
        for sequence in action.shortcuts():
            if not sequence.isEmpty():
                seen.setdefault(sequence.toString(), []).append(action.text())
    return {keys: texts for keys, texts in seen.items() if len(texts) > 1}


def test_no_two_actions_share_a_shortcut(window, example, qtbot):
    assert clashes(window) == {}, "start page"
    example("mnist_cnn.json")
    assert len(every_action(window)) > len(ACTIONS)
    assert clashes(window) == {}, "a classifier"
    doc = example("resnet18_units.json")
    unit = next(n.id for n in doc.graph.nodes if n.type.startswith("unit:"))
    assert window.open_unit(unit)
    settle()
    assert window.open_units
    assert clashes(window) == {}, "inside a unit"
    example("gan_mnist.json")
    assert window.gan_canvas is not None
    assert clashes(window) == {}, "a GAN's tabs"


def test_the_declared_keys_never_repeat_on_this_platform(qapp):
    # qapp: the platform's bindings need the application; without one (this test first in
    # its worker) QKeySequence.keyBindings crashes the process
    redo = key_sequences(ActionSpec("Redo", keys=(K.Redo, "Ctrl+Shift+Z", "Ctrl+Y")))
    names = [s.toString() for s in redo]
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(names) and len(names) == len(set(names))
    platform = [s.toString() for s in QKeySequence.keyBindings(K.Redo)]
    assert names[:len(platform)] == platform  # the platform's own come first
    # a platform binding another action declares as text stays that action's
    assert key_sequences(ActionSpec("Delete", keys=(K.Delete,)),
                         taken=[QKeySequence("Ctrl+D")]) == [
        s for s in QKeySequence.keyBindings(K.Delete) if s != QKeySequence("Ctrl+D")]
    owners: dict[str, list[str]] = {}
    for name, sequences in bindings().items():
        assert bool(sequences) == bool(ACTIONS[name].keys), name
        for sequence in sequences:
            owners.setdefault(sequence.toString(), []).append(name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}


def test_redo_by_keyboard_with_ctrl_shift_z_and_ctrl_y(window, example, qtbot, qtlog):
    doc = example("mnist_cnn.json")
    activate(window, qtbot)
    view = window.view
    view.setFocus()
    window.scene.select_nodes(["drop"])
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    settle()
    assert "drop" not in doc.graph
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    for key, modifiers in ((Qt.Key.Key_Z, ctrl | shift), (Qt.Key.Key_Y, ctrl)):
        qtbot.keyClick(view, Qt.Key.Key_Z, ctrl)
        settle()
        assert "drop" in doc.graph and window.act_redo.text() == "&Redo Delete drop"
        qtbot.keyClick(view, key, modifiers)
        settle()
        assert "drop" not in doc.graph, QKeySequence(key | modifiers).toString()
        assert window.act_undo.text() == "&Undo Delete drop"
    assert not [r for r in qtlog.records if "Ambiguous" in r.message]


def test_help_lists_the_keys_the_window_answers(window, qtbot):
    rows: list[tuple[str, str]] = []

    def read_and_close() -> None:
        dialog = QApplication.activeModalWidget()
        table = dialog.findChild(QTableWidget)
        rows.extend((table.item(r, 0).text(), table.item(r, 1).text())
                    for r in range(table.rowCount()))
        dialog.close()

    activate(window, qtbot)
    QTimer.singleShot(0, read_and_close)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert rows == shortcut_rows()
    shown = dict(rows)
    for action in (window.act_undo, window.act_redo, window.act_save, window.act_delete,
                   window.act_train, window.act_group):
        assert keys_text(action.shortcuts()) in shown, action.text()
    assert "Ctrl+Y" in next(k for k, what in rows if what == "Redo")
    assert any(k == "Tab" for k, _ in rows)
