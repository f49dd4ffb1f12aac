"""A GAN project in the window: two canvas tabs, editing and undo in each, problems that
name their network, the template, save and reopen, autosave, export and the classifier
panels."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, Qt

from torchloom.engine.project import load_project
from torchloom.gui.exchange.export_dialog import ExportDialog
from torchloom.gui.exchange.export_done import ExportDoneDialog

from ..conftest import settle


def open_gan(window, qtbot=None):
    """New → GAN from the start page, as a person clicks it."""
    window.start_page.new_gan.click()
    settle()
    assert window.document is not None and window.document.project.task == "gan"
    return window.document


def tab_texts(window) -> list[str]:
    tabs = window.gan_canvas
    return [tabs.tabText(i) for i in range(tabs.count())]


def show_tab(qtbot, window, index: int) -> None:
    bar = window.gan_canvas.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    settle()


def edge_labels(scene) -> dict[tuple[str, str], str]:
    return {(e.edge.src, e.edge.dst): e.label for e in scene.edge_items.values()}


def test_the_gan_template_opens_two_tabs_with_their_blocks_and_shapes(window, qtbot):
    doc = open_gan(window)
    assert doc.path is None and doc.project.dataset["name"] == "mnist5k"
    assert tab_texts(window) == ["Generator", "Discriminator"]
    tabs = window.gan_canvas
    assert window.stack.currentWidget() is tabs and window.view is tabs.views["generator"]
    gen, disc = tabs.scenes["generator"], tabs.scenes["discriminator"]
    assert set(gen.node_items) == {"z", "fc1", "act1", "fc2", "act2", "fc3", "tanh", "image"}
    assert set(disc.node_items) == {"x", "flatten", "fc1", "act1", "fc2", "act2", "logit"}
    assert edge_labels(gen)[("z", "fc1")] == "N×100"
    assert edge_labels(gen)[("fc3", "tanh")] == "N×784"
    assert edge_labels(disc)[("x", "flatten")] == "N×1×28×28"
    assert gen.node_items["image"].shape_text == "N×1×28×28" and gen.node_items["image"].is_output
    assert disc.node_items["logit"].shape_text == "N×1"
    assert "noise N×100 → sample N×1×28×28" in window.summary_label.text()
    assert window.problems.tree.topLevelItem(0).text(2).startswith("No problems")
    assert "Generator: 8 blocks, 7 wires" in window.inspector.header.text()
    show_tab(qtbot, window, 1)
    assert doc.active == "discriminator" and window.view is tabs.views["discriminator"]
    assert window.scene is disc
    assert "Discriminator: 7 blocks, 6 wires" in window.inspector.header.text()
    # the inspector edits the shown network's block, not the other's namesake
    window.scene.select_nodes(["fc1"])
    settle()
    assert window.inspector.node_id == "fc1"
    assert "param_out_features" in {f.widget.objectName() for f in window.inspector.fields.values()}
    assert window.inspector.fields["out_features"].widget.text() == "256"


def test_the_file_menu_and_the_examples_offer_the_gan(window):
    assert window.act_new_gan in window.menuBar().actions()[0].menu().actions()
    window.act_new_gan.trigger()
    settle()
    assert window.document.project.task == "gan"
    cards = [c for c in window.start_page.cards if c.path.name == "gan_mnist.json"]
    assert cards and "GAN" in cards[0].findChildren(type(window.summary_label))[1].text()


def test_an_edit_in_one_tab_undoes_there_even_from_the_other(window, qtbot):
    doc = open_gan(window)
    show_tab(qtbot, window, 1)
    added = window.add_block("Dropout", QPointF(200, 400))
    settle()
    disc = doc.project.discriminator
    assert added in disc and added not in doc.project.generator
    assert added in window.gan_canvas.scenes["discriminator"].node_items
    assert window.act_undo.text().startswith("&Undo Discriminator: Add Dropout") or \
        "Discriminator: Add Dropout" in doc.undo_stack.undoText()
    show_tab(qtbot, window, 0)
    assert doc.active == "generator"
    window.act_undo.trigger()  # Ctrl+Z on the generator tab: the dropout goes, and we see it
    settle()
    assert added not in disc and doc.active == "discriminator"
    assert window.gan_canvas.currentIndex() == 1
    assert added not in window.gan_canvas.scenes["discriminator"].node_items
    window.act_redo.trigger()
    settle()
    assert added in disc and added in window.gan_canvas.scenes["discriminator"].node_items
    # a parameter of the generator: its shapes follow, the discriminator's do not move
    show_tab(qtbot, window, 0)
    assert window.inspector_commit("fc2", "out_features", 300) is None
    settle()
    gen = window.gan_canvas.scenes["generator"]
    assert edge_labels(gen)[("fc2", "act2")] == "N×300"
    assert edge_labels(window.gan_canvas.scenes["discriminator"])[("fc1", "act1")] == "N×256"
    assert doc.undo_stack.undoText() == "Generator: Set fc2.out_features"
    assert doc.dirty and window.windowTitle().startswith("GAN on MNIST (unsaved)*")


def test_problems_name_their_network_and_lead_to_it(window, qtbot):
    doc = open_gan(window)
    assert window.inspector_commit("fc3", "out_features", 100) is None  # 100 is not 1×28×28
    settle()
    rows = [window.problems.tree.topLevelItem(i)
            for i in range(window.problems.tree.topLevelItemCount())]
    assert any(r.text(1).startswith("Generator › ") for r in rows)
    assert "1 error" in window.gan_canvas.tabText(0) and tab_texts(window)[1] == "Discriminator"
    assert "error" in window.summary_label.text()
    # training refuses, and says so in the panel
    assert not window.train()
    assert "error" in window.training_panel.message.text()
    show_tab(qtbot, window, 1)
    tree = window.problems.tree
    row = next(r for r in (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
               if r.text(1).startswith("Generator › "))
    node = row.data(0, Qt.ItemDataRole.UserRole)
    window.problems._activated(row, 1)  # a click on the problem
    settle()
    assert doc.active == "generator" and window.gan_canvas.currentIndex() == 0
    assert window.scene.selected_node_ids() == [node]


def test_a_gan_saves_reopens_and_autosaves_with_both_graphs(window, tmp_path):
    doc = open_gan(window)
    window.inspector_commit("fc1", "out_features", 64)
    settle()
    assert window.autosaver.save_now()
    saved = json.loads(window.autosaver.project_file.read_text())
    assert saved["task"] == "gan" and "graph" not in saved
    fc1 = next(n for n in saved["generator"]["nodes"] if n["id"] == "fc1")
    assert fc1["params"]["out_features"] == 64
    path = tmp_path / "gan.json"
    assert window.save_to(path)
    assert not doc.dirty
    project = load_project(path)
    assert project.task == "gan" and len(project.generator) == 8 and len(project.discriminator) == 7
    window.set_document(None)
    assert window.open_path(path)
    settle()
    assert tab_texts(window) == ["Generator", "Discriminator"]
    assert window.document.project.generator.node("fc1").params["out_features"] == 64
    assert set(window.gan_canvas.scenes["discriminator"].node_items) == set(
        n.id for n in project.discriminator.nodes)
    # a recovered autosave opens as both networks too
    window.open_recovered(load_project(path))
    settle()
    assert window.document.project.task == "gan" and window.gan_canvas is not None


def test_a_classifier_still_has_one_canvas_and_its_own_settings(window, example):
    doc = example("mlp_digits.json")
    assert doc.project.task != "gan" and window.gan_canvas is None
    assert window.stack.currentWidget() is window.view
    panel = window.training_panel
    rows = panel.form
    assert not rows.isRowVisible(panel.fields["betas"].widget)
    assert rows.isRowVisible(panel.fields["val_split"].widget)
    assert not rows.isRowVisible(panel.fields["loss"].widget)  # classify has one loss
    assert panel.task_box.currentText() == "Classification" and panel.task_box.isEnabled()
    assert all(window.export_actions[k].isEnabled() for k in window.export_actions)
    open_gan(window)
    assert rows.isRowVisible(panel.fields["betas"].widget)
    assert not rows.isRowVisible(panel.fields["loss"].widget)
    assert not rows.isRowVisible(panel.fields["val_split"].widget)
    assert panel.fields["lr"].widget.text() == "0.0002"
    assert panel.task_box.currentText() == "GAN" and not panel.task_box.isEnabled()


def test_export_offers_python_only_for_a_gan_and_writes_both_networks(window, tmp_path, qtbot,
                                                                     monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(ExportDoneDialog, "exec",
                        lambda self: shown.append(f"{self.windowTitle()}: {self.message}") or 1)
    doc = open_gan(window)
    assert window.save_to(tmp_path / "gan.json")
    assert window.export_actions["python"].isEnabled()
    assert not window.export_actions["onnx"].isEnabled()
    dialog = ExportDialog(doc.project, [], "onnx", window)
    assert dialog.format.currentData() == "python"  # ONNX cannot hold two networks
    assert "a GAN has two" in dialog.about.text() and "Generator" in dialog.about.text()
    onnx = dialog.format.model().item(dialog.format.findData("onnx"))
    assert not onnx.isEnabled() and "PyTorch code" in onnx.toolTip()
    monkeypatch.setattr(ExportDialog, "exec", lambda self: 1)  # the person presses Export
    window.export_actions["python"].trigger()
    qtbot.waitUntil(lambda: bool(shown), timeout=60_000)
    code = (tmp_path / "gan.py").read_text()
    assert "class Generator" in code and "class Discriminator" in code


def test_inspect_and_evaluate_say_they_look_at_one_network(window):
    open_gan(window)
    assert "looks at one trained network" in window.inspect_panel.message.text()
    assert "looks at one trained network" in window.evaluate_panel.message.text()
    window.show_tab(window.evaluate_panel)
    settle()
    assert "A GAN generates samples instead" in window.evaluate_panel.message.text()


def test_drop_and_wire_on_the_discriminator_tab(window, qtbot):
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDropEvent

    from torchloom.gui.canvas.view import BLOCK_MIME

    from ..conftest import drag

    doc = open_gan(window)
    show_tab(qtbot, window, 1)
    scene = window.scene
    below = scene.node_items["act2"].sceneBoundingRect().bottomLeft() + QPointF(80, 160)
    data = QMimeData()
    data.setData(BLOCK_MIME, b"Dropout")
    event = QDropEvent(QPointF(window.view.mapFromScene(below)), Qt.DropAction.CopyAction, data,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.view.dropEvent(event)  # what the palette's drag delivers
    settle()
    added = [n.id for n in doc.project.discriminator.nodes if n.type == "Dropout"]
    assert len(added) == 1 and added[0] in scene.node_items
    assert not any(n.type == "Dropout" for n in doc.project.generator.nodes)
    window.view.centerOn(below)
    settle()
    drop = scene.node_items[added[0]]
    drag(window, scene.node_items["act2"].output_port_pos(), drop.input_port_pos(None))
    assert edge_labels(scene).get(("act2", added[0])) == "N×128"
    assert drop.shape_text == "N×128"
    window.act_undo.trigger()
    settle()
    assert ("act2", added[0]) not in edge_labels(scene)


def test_a_crashed_gan_session_is_recovered_with_both_networks(window, tmp_path, qtbot):
    from torchloom.gui.autosave import leftovers

    from ..test_autosave import crashed_autosave

    doc = open_gan(window)
    assert window.save_to(tmp_path / "gan.json")
    show_tab(qtbot, window, 1)
    window.inspector_commit("fc1", "out_features", 200)  # the discriminator's fc1
    settle()
    crashed_autosave(doc)
    window.set_document(None)
    window.ask_recover = lambda text: True
    window.recover_leftovers()
    settle()
    recovered = window.document
    assert recovered.project.task == "gan" and recovered.path == tmp_path / "gan.json"
    assert recovered.dirty
    assert recovered.project.discriminator.node("fc1").params["out_features"] == 200
    assert recovered.project.generator.node("fc1").params["out_features"] == 128
    assert tab_texts(window) == ["Generator", "Discriminator"]
    assert leftovers() == []


def test_colour_by_parameters_colours_both_networks(window, qtbot):
    open_gan(window)
    tabs = window.gan_canvas
    assert len(tabs.cost_overlays) == 2
    window.cost_actions["params"].trigger()
    for overlay in tabs.cost_overlays:
        qtbot.waitUntil(lambda o=overlay: o.result is not None and o.result.get("ok"),
                        timeout=60_000)
    settle()
    assert all(o.metric == "params" for o in tabs.cost_overlays)
    assert "params" in tabs.scenes["generator"].node_items["fc3"].cost_text
    assert "params" in tabs.scenes["discriminator"].node_items["fc1"].cost_text
