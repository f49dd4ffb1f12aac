"""Grouping blocks into a unit on the canvas, through the real window: Ctrl+G, the node it
makes, undo and redo, ungroup, opening the unit and coming back, repeat in the inspector."""

from __future__ import annotations

from PySide6.QtCore import Qt

from torchloom.gui.canvas.style import format_count

from tests.gui.conftest import send_mouse, settle

CONV_BLOCK = ["conv1", "relu1", "pool1"]


def group_with_keys(window, qtbot, ids, name="ConvBlock"):
    window.ask_unit_name = lambda default: name
    window.scene.select_nodes(ids)
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    settle()


def shown_graph(window):
    return sorted(window.scene.node_items), len(window.scene.edge_items)


def test_ctrl_g_groups_the_selection_into_one_unit_node(window, example, qtbot):
    doc = example()
    before_nodes, before_edges = shown_graph(window)
    total = doc.analysis.total_params
    pool1_shape = window.scene.node_items["pool1"].shape_text
    conv1_params = doc.analysis.nodes["conv1"].num_params
    asked = []
    window.ask_unit_name = lambda default: asked.append(default) or "ConvBlock"
    window.scene.select_nodes(CONV_BLOCK)
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert asked == ["ConvBlock"]  # a default from what is selected
    nodes, edges = shown_graph(window)
    assert len(nodes) == len(before_nodes) - 2 and edges == before_edges - 2
    unit_id = next(n for n in nodes if n not in before_nodes)
    item = window.scene.node_items[unit_id]
    assert item.node.type == "unit:ConvBlock" and item.title_text() == "ConvBlock"
    assert item.port_names == ["in"]
    # the unit's shapes and size: its output is pool1's, its weights conv1's
    assert item.shape_text == pool1_shape
    assert \
        item.params_text == f"{format_count(conv1_params)} params"
    assert doc.analysis.total_params == total
    into = [e for e in window.scene.edge_items.values() if e.edge.dst == unit_id]
    out = [e for e in window.scene.edge_items.values() if e.edge.src == unit_id]
    assert [e.edge.src for e in into] == ["x"] and [e.edge.dst for e in out] == ["conv2"]
    assert out[0].label == pool1_shape
    assert window.scene.selected_node_ids() == [unit_id]
    assert window.inspector.node_id == unit_id and "repeat" in window.inspector.fields

    window.act_undo.trigger()
    settle()
    assert shown_graph(window) == (before_nodes, before_edges)
    assert "ConvBlock" not in doc.project.units
    window.act_redo.trigger()
    settle()
    assert shown_graph(window) == (nodes, edges)
    assert doc.analysis.nodes[unit_id].num_params == conv1_params and doc.analysis.ok


def test_ungroup_restores_the_blocks_and_undo_brings_the_unit_back(window, example, qtbot):
    doc = example()
    before = shown_graph(window)
    from torchloom.engine.project import dumps_project

    saved = dumps_project(doc.project)
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    grouped = shown_graph(window)
    qtbot.keyClick(window.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    settle()
    assert shown_graph(window) == before
    assert dumps_project(doc.project) == saved  # group then ungroup: the same project
    assert sorted(window.scene.selected_node_ids()) == sorted(CONV_BLOCK)
    window.act_undo.trigger()
    settle()
    assert shown_graph(window) == grouped and unit_id in window.scene.node_items
    window.act_undo.trigger()
    settle()
    assert shown_graph(window) == before


def test_a_selection_that_cannot_be_a_unit_says_why(window, example, qtbot):
    example()
    window.ask_unit_name = lambda default: (_ for _ in ()).throw(AssertionError("asked"))
    window.scene.select_nodes(["x", "conv1"])
    window.act_group.trigger()
    assert "Input" in window.statusBar().currentMessage()
    assert len(window.scene.node_items) == 12


def test_double_click_opens_the_unit_and_back_again(window, example, qtbot):
    doc = example()
    conv1_shape = window.scene.node_items["conv1"].shape_text
    conv1_params = doc.analysis.nodes["conv1"].num_params
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    root_view = window.view
    item = window.scene.node_items[unit_id]
    centre = item.sceneBoundingRect().center()
    send_mouse(window, "press", centre)
    send_mouse(window, "release", centre)
    send_mouse(window, "double", centre)
    send_mouse(window, "release", centre)
    settle()
    assert window.open_units and window.view is not root_view
    crumb = window.open_units[-1].holder.crumb
    assert crumb.texts() == ["Model", "ConvBlock"]
    inner = window.scene
    assert sorted(inner.node_items) == sorted(["in", *CONV_BLOCK])
    assert inner.node_items["conv1"].shape_text == conv1_shape  # as the model feeds it
    window.grab().save("/tmp/units_opened_unit.png")

    # an edit inside changes the definition: the unit node outside follows; undo works
    assert window.inspector_commit("conv1", "out_channels", 16) is None
    settle()
    half = conv1_params // 2
    assert inner.node_items["conv1"].params_text == f"{format_count(half)} params"
    assert doc.analysis.nodes[unit_id].num_params == half
    window.act_undo.trigger()
    settle()
    assert doc.analysis.nodes[unit_id].num_params == conv1_params
    assert inner.node_items["conv1"].params_text == f"{format_count(conv1_params)} params"

    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    settle()
    assert not window.open_units and window.view is root_view
    assert window.stack.currentWidget() is root_view

    assert window.open_unit(unit_id)
    settle()
    window.open_units[-1].holder.crumb.steps[0].click()  # the breadcrumb's "Model"
    settle()
    assert not window.open_units and window.view is root_view
    assert window.open_unit(unit_id)
    settle()
    window.act_unit_up.trigger()  # Alt+Up
    assert not window.open_units


def test_repeat_in_the_inspector_multiplies_the_parameters(window, example, qtbot):
    doc = example()
    group_with_keys(window, qtbot, ["fc1", "relu3"], name="Dense")
    unit_id = window.scene.selected_node_ids()[0]
    one = doc.analysis.nodes[unit_id].num_params
    width = doc.analysis.nodes[unit_id].spec.shape[-1]
    assert window.inspector.node_id == unit_id
    field = window.inspector.fields["repeat"]
    field.widget.setValue(3)  # the spin box, as a person types 3
    settle()
    assert field.error.isHidden(), field.error.text()
    item = window.scene.node_items[unit_id]
    assert doc.graph.node(unit_id).params["repeat"] == 3
    assert (item.title_text(), item.repeat_text()) == ("Dense", "×3")
    # copies 2 and 3 map width → width, each with its own weights
    three = doc.analysis.nodes[unit_id].num_params
    assert three == one + 2 * (width * width + width)
    assert item.params_text == f"{format_count(three)} params" and doc.analysis.ok
    window.grab().save("/tmp/units_repeat_inspector.png")
    window.act_undo.trigger()
    settle()
    assert doc.analysis.nodes[unit_id].num_params == one
    assert item.repeat_text() == ""


def test_the_canvas_menu_offers_the_unit_actions(window, example, qtbot):
    example()
    window._menu_quiet = True
    item = window.scene.node_items["conv1"]
    menu = window.canvas_menu(window.view.mapToGlobal(window.view.rect().center()),
                              item.sceneBoundingRect().center())
    texts = [a.text() for a in menu.actions() if a.text()]
    assert texts[:4] == ["&Group into unit…", "&Ungroup", "&Open unit",
                         "&Save unit to library…"]
    assert window.act_group.isEnabled() and not window.act_ungroup.isEnabled()
    assert window.scene.selected_node_ids() == ["conv1"]


def test_undoing_the_grouping_while_the_unit_is_open_goes_back_out(window, example, qtbot):
    doc = example()
    before = shown_graph(window)
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    qtbot.keyClick(window.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle()
    assert not window.open_units
    assert shown_graph(window) == before and "ConvBlock" not in doc.project.units
    window.act_redo.trigger()
    settle()
    assert unit_id in window.scene.node_items and window.open_unit(unit_id)
    settle()
    assert sorted(window.scene.node_items) == sorted(["in", *CONV_BLOCK])


def test_grouping_inside_an_opened_unit_makes_a_nested_unit(window, example, qtbot):
    doc = example()
    total = doc.analysis.total_params
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    group_with_keys(window, qtbot, ["conv1", "relu1"], name="Inner")
    inner_id = window.scene.selected_node_ids()[0]
    assert window.edit_doc.graph.node(inner_id).type == "unit:Inner"
    assert window.open_unit(inner_id)
    settle()
    assert window.open_units[-1].holder.crumb.texts() == ["Model", "ConvBlock", "Inner"]
    window.open_units[-1].holder.crumb.steps[1].click()  # back to ConvBlock
    settle()
    assert window.unit_path() == ["Model", "ConvBlock"]
    assert doc.analysis.ok and doc.analysis.total_params == total


def test_undo_and_redo_through_an_edit_made_inside_the_unit(window, example, qtbot):
    doc = example()
    conv1_params = doc.analysis.nodes["conv1"].num_params
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    assert window.inspector_commit("conv1", "out_channels", 16) is None
    settle()
    window.unit_up()
    for _ in range(2):  # the inner edit, then the grouping
        window.act_undo.trigger()
        settle()
    assert "ConvBlock" not in doc.project.units and "conv1" in window.scene.node_items
    for _ in range(2):
        window.act_redo.trigger()
        settle()
    assert doc.analysis.nodes[unit_id].num_params == conv1_params // 2
    assert doc.project.units.get("ConvBlock").graph.node("conv1").params["out_channels"] == 16


def test_an_error_inside_a_unit_shows_on_the_unit_and_on_the_inner_block(window, example, qtbot):
    doc = example()
    group_with_keys(window, qtbot, CONV_BLOCK)
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    assert window.inspector_commit("conv1", "kernel_size", 64) is None  # larger than 28×28
    settle()
    inner = window.scene.node_items["conv1"]
    assert inner.severity == "error"
    outer_errors = doc.analysis.nodes[unit_id].errors
    assert outer_errors and "in unit ConvBlock" in outer_errors[0].message
    assert "conv1" in outer_errors[0].message
    window.unit_up()
    assert window.scene.node_items[unit_id].severity == "error"


def test_the_name_dialog_offers_a_default_and_groups_with_it(window, example, qtbot):
    from PySide6.QtCore import QTimer

    doc = example()
    seen = []

    def answer():
        dialog = window._name_dialog
        seen.append((dialog.windowTitle(), dialog.textValue()))
        dialog.accept()

    QTimer.singleShot(0, answer)
    window.scene.select_nodes(CONV_BLOCK)
    unit_id = window.group_selection()
    assert seen == [("Group into unit", "ConvBlock")]
    assert doc.graph.node(unit_id).type == "unit:ConvBlock"


def test_the_palette_lists_the_projects_units_and_adds_another_node(window, example, qtbot):
    doc = example()
    assert window.palette.units_group is None
    group_with_keys(window, qtbot, ["relu3", "drop"], name="Act")
    group = window.palette.units_group
    assert group is not None and [group.child(i).text(0) for i in range(group.childCount())] \
        == ["Act"]
    window.palette._double_clicked(window.palette.items["unit:Act"], 0)  # another node
    settle()
    second = window.scene.selected_node_ids()[0]
    assert doc.graph.node(second).type == "unit:Act"
    window.act_undo.trigger()  # the added node
    window.act_undo.trigger()  # the grouping
    settle()
    assert window.palette.units_group is None
