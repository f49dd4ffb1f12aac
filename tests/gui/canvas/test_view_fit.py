"""Opening a project shows it at a zoom where its labels read, never as a speck."""

from __future__ import annotations

from PySide6.QtCore import Qt

from torchloom.gui.canvas.edge_item import LABEL_ZOOM

from ..conftest import settle


def _seen(window):  # type: ignore[no-untyped-def]
    return window.view.mapToScene(window.view.viewport().rect()).boundingRect()


def test_a_small_project_opens_whole_and_readable(window, example):
    example("mlp_digits.json")
    seen = _seen(window)
    assert window.view.zoom() >= LABEL_ZOOM
    for item in window.scene.node_items.values():
        assert seen.contains(item.sceneBoundingRect())


def test_a_big_project_opens_at_its_start_at_a_readable_zoom_not_as_a_speck(window, example,
                                                                              tmp_path):
    doc = example("residual_cnn.json", tmp_path)
    for i, node in enumerate(doc.graph.nodes):  # one long row: fitting it whole is a speck
        node.pos = (i * 400.0, 0.0)
    assert window.save()
    window.new_project()
    settle()
    assert window.open_path(tmp_path / "residual_cnn.json")
    settle()
    seen = _seen(window)
    assert window.view.zoom() >= LABEL_ZOOM
    assert seen.contains(window.scene.node_items["x"].sceneBoundingRect())  # where it starts
    window.view.setFocus()
    from PySide6.QtTest import QTest

    QTest.keyClick(window.view, Qt.Key.Key_F)  # F still shows all of it, however small
    settle()
    assert window.view.zoom() < LABEL_ZOOM
    assert _seen(window).contains(window.scene.itemsBoundingRect())


def test_the_view_refits_while_it_gets_its_size_and_stops_once_a_person_zooms(window, example):
    from PySide6.QtCore import QPoint, QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    example("mnist_cnn.json")
    view = window.view
    view.resize(120, 90)  # as a view is before the window lays it out
    settle()
    view.resize(1000, 700)
    settle()
    assert view.zoom() >= LABEL_ZOOM
    assert _seen(window).contains(window.scene.node_items["x"].sceneBoundingRect())
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(centre, QPointF(view.viewport().mapToGlobal(centre.toPoint())),
                        QPoint(0, 0), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), wheel)
    zoomed = view.zoom()
    view.resize(900, 650)
    settle()
    assert view.zoom() == zoomed  # the person's zoom stays
