"""Promoted parameters made from the inspector inside an opened unit (the "⋯" beside a
parameter: promote, link to an existing one, un-promote), and problems inside a unit picked
in the Problems panel (the unit opens with the inner block selected)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QToolButton

from torchloom.engine.edits import plan_connect
from torchloom.gui.units import promote as promote_module

from tests.gui.conftest import settle
from tests.gui.units.test_group import group_with_keys


def open_grouped(window, qtbot, ids, name="ConvBlock"):
    group_with_keys(window, qtbot, ids, name=name)
    unit_id = window.scene.selected_node_ids()[0]
    assert window.open_unit(unit_id)
    settle()
    return unit_id


def menu_of(window, node_id, param):
    """The "⋯" button beside `param` of inner block `node_id`, and its menu's entries."""
    window.focus_node(node_id)
    settle()
    assert window.inspector.node_id == node_id
    button = window.inspector.findChild(QToolButton, f"promote_{param}")
    assert button is not None and button.isVisible()
    return button, button.menu()


def trigger(menu, text):
    """Choose the menu entry `text`, as a click on it does."""
    action = next((a for a in menu.actions() if a.text() == text), None)
    assert action is not None, [a.text() for a in menu.actions()]
    action.trigger()
    settle()


def test_promote_an_inner_parameter_then_set_it_on_the_unit_node(window, example, qtbot,
                                                                 monkeypatch):
    doc = example()
    unit_id = open_grouped(window, qtbot, ["conv1", "relu1"])
    asked = []
    monkeypatch.setattr(promote_module, "ask_param_name",
                        lambda parent, unit, target, default:
                        asked.append((unit, target, default)) or "channels")
    button, menu = menu_of(window, "conv1", "out_channels")
    assert [a.text() for a in menu.actions()] == ["Promote to unit parameter…"]
    trigger(menu, "Promote to unit parameter…")
    assert asked == [("ConvBlock", "conv1.out_channels", "channels")]
    defn = doc.project.units.get("ConvBlock")
    assert defn.params["channels"].default == 32
    # inside, the field is now set by the unit; its "⋯" offers to un-promote
    field = window.inspector.fields["out_channels"]
    assert not field.widget.isEnabled() and "channels" in field.error.text()
    _button, menu = menu_of(window, "conv1", "out_channels")
    assert [a.text() for a in menu.actions()] == [
        "Un-promote (removes channels from ConvBlock)"]
    window.grab().save("/tmp/promote_inner.png")

    # outside, the unit node shows the new field; repeat 3 and channels 16 reach every copy
    window.unit_up()
    settle()
    window.focus_node(unit_id)
    settle()
    assert list(window.inspector.fields) == ["repeat", "channels"]
    assert window.inspector.fields["channels"].widget.value() == 32
    note = window.inspector.findChild(QLabel, "targets_channels")
    assert note is not None and note.text() == "→ conv1.out_channels"
    assert window.inspector_commit(unit_id, "repeat", 3) is None
    settle()
    window.inspector.fields["channels"].widget.setValue(16)  # as a person types 16
    settle()
    assert doc.graph.node(unit_id).params["channels"] == 16
    assert doc.analysis.ok
    assert doc.analysis.nodes[unit_id].spec.shape[0] == 16
    # copy 1: 1→16 channels, copies 2 and 3: 16→16, each 3×3 with a bias
    assert doc.analysis.nodes[unit_id].num_params == (16 * 9 + 16) + 2 * (16 * 16 * 9 + 16)
    window.grab().save("/tmp/promote_outer.png")

    # undo: channels back to 32, repeat back, then the promotion itself goes
    for _ in range(3):
        window.act_undo.trigger()
        settle()
    assert "channels" not in defn.params
    assert list(window.inspector.fields) == ["repeat"]
    assert doc.analysis.nodes[unit_id].spec.shape[0] == 32
    window.act_redo.trigger()
    settle()
    assert "channels" in window.inspector.fields and "channels" in defn.params


def test_link_a_second_target_and_unpromote(window, example, qtbot, monkeypatch):
    doc = example()
    unit_id = open_grouped(window, qtbot, ["conv1", "relu1", "pool1", "conv2"], "Stem")
    monkeypatch.setattr(promote_module, "ask_param_name", lambda *a: "channels")
    _button, menu = menu_of(window, "conv1", "out_channels")
    trigger(menu, "Promote to unit parameter…")
    _button, menu = menu_of(window, "conv2", "out_channels")
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Promote to unit parameter…", "Link to unit parameter"]
    link_menu = menu.actions()[1].menu()
    assert [a.text() for a in link_menu.actions()] == ["channels"]
    window.grab().save("/tmp/promote_link_menu.png")
    link_menu.actions()[0].trigger()
    settle()
    defn = doc.project.units.get("Stem")
    assert [(t.node, t.param) for t in defn.params["channels"].targets] == [
        ("conv1", "out_channels"), ("conv2", "out_channels")]
    # conv2 now follows channels (32, not its own 64): the unit's output says so
    assert window.scene.node_items["conv2"].node.id == "conv2"
    assert doc.analysis.nodes[unit_id].spec.shape[0] == 32
    assert not window.inspector.fields["out_channels"].widget.isEnabled()
    _button, menu = menu_of(window, "conv2", "out_channels")
    assert [a.text() for a in menu.actions()] == ["Unlink from channels"]
    window.grab().save("/tmp/promote_linked.png")

    # a value on the unit node, then un-promote both: the node loses it, conv1 keeps it
    window.unit_up()
    settle()
    assert window.inspector_commit(unit_id, "channels", 8) is None
    settle()
    assert doc.analysis.nodes[unit_id].spec.shape[0] == 8
    assert window.open_unit(unit_id)
    settle()
    _button, menu = menu_of(window, "conv2", "out_channels")
    trigger(menu, "Unlink from channels")
    assert window.inspector.fields["out_channels"].widget.isEnabled()
    assert window.inspector.fields["out_channels"].widget.value() == 8  # what it was fed
    _button, menu = menu_of(window, "conv1", "out_channels")
    trigger(menu, "Un-promote (removes channels from Stem)")
    assert "channels" not in defn.params and "channels" not in doc.graph.node(unit_id).params
    assert defn.graph.node("conv1").params["out_channels"] == 8
    assert doc.analysis.ok and doc.analysis.nodes[unit_id].spec.shape[0] == 8
    # undo both: linked again, the node's 8 back
    window.act_undo.trigger()
    window.act_undo.trigger()
    settle()
    assert len(defn.params["channels"].targets) == 2
    assert doc.graph.node(unit_id).params["channels"] == 8


def test_a_taken_name_is_refused_with_the_reason(window, example, qtbot, monkeypatch):
    doc = example()
    open_grouped(window, qtbot, ["conv1", "relu1"])
    monkeypatch.setattr(promote_module, "ask_param_name", lambda *a: "repeat")
    _button, menu = menu_of(window, "conv1", "out_channels")
    trigger(menu, "Promote to unit parameter…")
    assert not doc.project.units.get("ConvBlock").params
    assert "repeat" in window.statusBar().currentMessage()
    # the unit's input takes what flows in: nothing of it to promote
    window.focus_node("in")
    settle()
    assert window.inspector.node_id == "in" and "shape" in window.inspector.fields
    assert window.inspector.findChildren(QToolButton) == []


def test_a_problem_inside_a_unit_opens_it_at_the_inner_block(window, example, qtbot):
    doc = example()
    unit_id = open_grouped(window, qtbot, ["conv1", "relu1", "pool1"])
    assert window.inspector_commit("conv1", "kernel_size", 64) is None  # larger than 28×28
    settle()
    window.unit_up()
    settle()
    assert not window.open_units
    rows = window.problems.tree
    item = next(rows.topLevelItem(i) for i in range(rows.topLevelItemCount())
                if rows.topLevelItem(i).text(1).startswith(unit_id))
    assert item.text(1) == f"{unit_id} › conv1 (Conv2d)"
    rect = rows.visualItemRect(item)
    from PySide6.QtCore import Qt
    qtbot.mouseClick(rows.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    settle()
    assert window.unit_path() == ["Model", "ConvBlock"]
    assert window.scene.selected_node_ids() == ["conv1"]
    assert window.inspector.node_id == "conv1"
    assert window.scene.node_items["conv1"].severity == "error"
    window.grab().save("/tmp/promote_problem_opened.png")
    assert doc.analysis.nodes[unit_id].errors


def test_fix_of_a_problem_inside_a_unit_applies_inside_it(window, example, qtbot):
    doc = example()
    group_with_keys(window, qtbot, ["fc1", "relu3"], name="Dense")
    unit_id = window.scene.selected_node_ids()[0]
    window.scene.select_nodes(["flatten"])  # pool2 → Dense: fc1 inside gets [N, 64, 5, 5]
    window.act_delete.trigger()
    settle()
    doc.plan_and_edit(lambda: plan_connect(doc.graph, "pool2", unit_id), "Connect")
    settle()
    buttons = window.problems.fix_buttons()
    assert [b.text() for b in buttons] == ["Insert Flatten"]
    window.grab().save("/tmp/promote_problem_fix.png")
    buttons[0].click()
    settle()
    assert window.unit_path() == ["Model", "Dense"]
    inner = doc.project.units.get("Dense").graph
    assert [n.type for n in inner.nodes].count("Flatten") == 1
    assert doc.analysis.ok, [p.message for p in doc.analysis.problems]
    window.act_undo.trigger()
    settle()
    assert "Flatten" not in [n.type for n in inner.nodes] and not doc.analysis.ok


def test_nested_units_promote_through_and_a_deep_problem_opens_both(window, example, qtbot,
                                                                    monkeypatch):
    doc = example()
    outer_id = open_grouped(window, qtbot, ["conv1", "relu1", "pool1"])
    inner_id = open_grouped(window, qtbot, ["conv1", "relu1"], "Inner")
    monkeypatch.setattr(promote_module, "ask_param_name", lambda *a: "width")
    _button, menu = menu_of(window, "conv1", "out_channels")
    trigger(menu, "Promote to unit parameter…")  # Inner.width → conv1.out_channels
    window.unit_up()
    settle()
    _button, menu = menu_of(window, inner_id, "width")  # ConvBlock.width → Inner's width
    trigger(menu, "Promote to unit parameter…")
    window.unit_up()
    settle()
    assert window.inspector_commit(outer_id, "width", 8) is None
    settle()
    assert doc.analysis.ok and doc.analysis.nodes[outer_id].spec.shape[0] == 8
    # a problem two units deep: the click opens ConvBlock, then Inner, at conv1
    window.open_unit(outer_id)
    settle()
    window.open_unit(inner_id)
    settle()
    assert window.inspector_commit("conv1", "kernel_size", 64) is None
    settle()
    window.unit_up_to(0)
    settle()
    tree = window.problems.tree
    item = tree.topLevelItem(0)
    assert item.text(1) == f"{outer_id} › {inner_id} › conv1 (Conv2d)"
    tree.itemClicked.emit(item, 1)
    settle()
    assert window.unit_path() == ["Model", "ConvBlock", "Inner"]
    assert window.scene.selected_node_ids() == ["conv1"]
