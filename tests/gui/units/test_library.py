"""The personal block library in the window: save a unit, see it under My blocks, drop it
on another project's canvas (a name clash gets a fresh name), undo the drop."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from torchloom.gui.canvas.view import BLOCK_MIME

from tests.gui.conftest import double_click_palette_item, settle


def drop_on_canvas(window, payload: str, scene_pos: QPointF) -> None:
    """What the palette's drag delivers: a real QDropEvent on the canvas."""
    data = QMimeData()
    data.setData(BLOCK_MIME, payload.encode())
    local = window.view.mapFromScene(scene_pos)
    event = QDropEvent(QPointF(local), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)
    settle()


def palette_library(window) -> list[str]:
    group = window.palette.library_group
    return [group.child(i).text(0) for i in range(group.childCount())] if group else []


def test_save_unit_to_library_then_drop_it_into_another_project(window, example, qtbot,
                                                                data_dir):
    doc = example()
    assert palette_library(window) == []  # no "My blocks" until something is saved
    window.ask_unit_name = lambda default: "ConvBlock"
    window.scene.select_nodes(["conv1", "relu1", "pool1"])
    window.act_group.trigger()
    settle()
    unit_id = window.scene.selected_node_ids()[0]
    params = doc.analysis.nodes[unit_id].num_params
    window.ask_library_name = lambda default: default
    assert window.act_save_unit.isEnabled()
    window.act_save_unit.trigger()
    path = data_dir / "blocks" / "ConvBlock.json"
    assert path.exists()
    assert palette_library(window) == ["ConvBlock"]
    group = window.palette.library_group
    assert window.palette.tree.topLevelItem(0) is group and group.text(0) == "My blocks"
    mime = window.palette.tree.mimeData([group.child(0)])
    assert bytes(mime.data(BLOCK_MIME).data()).decode() == "library:ConvBlock"
    window.palette_dock.grab().save("/tmp/units_my_blocks_palette.png")

    # another project: the MLP example; drop My blocks → ConvBlock on its canvas
    example("mlp_digits.json")
    other = window.document
    assert "ConvBlock" not in other.project.units
    count = len(window.scene.node_items)
    drop_on_canvas(window, "library:ConvBlock", QPointF(100, 300))
    assert len(window.scene.node_items) == count + 1
    new_id = window.scene.selected_node_ids()[0]
    assert other.graph.node(new_id).type == "unit:ConvBlock"
    assert "ConvBlock" in other.project.units
    window.act_undo.trigger()
    settle()
    assert len(window.scene.node_items) == count and "ConvBlock" not in other.project.units
    window.act_redo.trigger()
    settle()
    assert new_id in window.scene.node_items and "ConvBlock" in other.project.units
    assert other.analysis.nodes[new_id].errors or other.analysis.nodes[new_id].spec is not None
    window.palette.library_remove_requested.emit("ConvBlock")  # right-click → Remove
    assert palette_library(window) == [] and not path.exists()
    assert "ConvBlock" in other.project.units  # the project keeps its copy
    del params


def test_a_library_unit_whose_name_is_taken_gets_a_fresh_name(window, example, qtbot):
    doc = example()
    window.ask_unit_name = lambda default: "Block"
    window.scene.select_nodes(["conv1", "relu1"])
    window.act_group.trigger()
    settle()
    window.save_unit_to_library("Block")
    # now a different "Block" in this project: ungroup, then group other blocks as Block
    window.act_ungroup.trigger()
    settle()
    window.scene.select_nodes(["fc1", "relu3"])
    window.act_group.trigger()
    settle()
    drop_on_canvas(window, "library:Block", QPointF(0, 500))
    node = doc.graph.node(window.scene.selected_node_ids()[0])
    assert node.type == "unit:Block2"
    assert "Block2" in window.statusBar().currentMessage()
    # double-click in the palette adds one at the view's centre, the same way
    item = window.palette.items["library:Block"]
    window.palette._double_clicked(item, 0)
    settle()
    assert doc.graph.node(window.scene.selected_node_ids()[0]).type == "unit:Block2"
    assert QApplication.instance() is not None and QPoint  # noqa: B018


def test_a_my_blocks_entry_double_clicked_with_a_block_selected_is_wired_after_it(window,
                                                                                example, qtbot):
    example()
    window.ask_unit_name = lambda default: "ConvBlock"
    window.scene.select_nodes(["conv1", "relu1", "pool1"])
    window.act_group.trigger()
    settle()
    window.ask_library_name = lambda default: default
    window.act_save_unit.trigger()
    example("mnist_cnn.json")
    doc = window.document
    window.scene.select_nodes(["x"])
    settle()
    double_click_palette_item(window, qtbot, window.palette.library_group.child(0))
    (new_id,) = window.scene.selected_node_ids()
    assert doc.graph.node(new_id).type == "unit:ConvBlock"
    assert ("x", new_id) in [(e.src, e.dst) for e in doc.graph.edges]
    x, added = window.scene.node_items["x"], window.scene.node_items[new_id]
    assert added.pos().x() > x.pos().x()
    assert not any(added.sceneBoundingRect().intersects(i.sceneBoundingRect())
                   for n, i in window.scene.node_items.items() if n != new_id)
    window.act_undo.trigger()
    settle()
    assert new_id not in doc.graph and ("x", "conv1") in [(e.src, e.dst) for e in doc.graph.edges]
    window.act_redo.trigger()
    settle()
    assert ("x", new_id) in [(e.src, e.dst) for e in doc.graph.edges]
