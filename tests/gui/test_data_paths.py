"""The data panel shows the full path a project's dataset is read from, before it is read,
and says when that path leads out of the project's folder."""

from __future__ import annotations

import os
import shutil

import numpy as np
from PySide6.QtGui import QTextDocument

from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, save_project

from .conftest import settle


def visible(label) -> str:
    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText()


def points(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.normal(size=(30, 4)).astype(np.float32), y=np.arange(30) % 3)


def project_in(folder, dataset_path: str):
    graph = Graph()
    graph.add_node("Input", {"shape": [4]}, "x")
    graph.add_node("Linear", {"out_features": 3}, "fc")
    graph.connect("x", "fc")
    return save_project(Project(graph, name="points", dataset={"path": dataset_path}),
                        folder / "points.json")


def open_panel(window, path):
    assert window.open_path(path)
    settle()
    panel = window.data_panel
    window.side_tabs.setCurrentWidget(panel)
    assert panel.wait_loaded()
    return panel


def test_the_panel_shows_the_full_path_and_it_follows_a_moved_project(window, tmp_path):
    points(tmp_path / "a" / "data" / "points.npz")
    path = project_in(tmp_path / "a", "data/points.npz")
    panel = open_panel(window, path)
    assert visible(panel.where) == f"Reads {tmp_path / 'a' / 'data' / 'points.npz'}"
    assert panel.data is not None and len(panel.data) == 30
    window.set_document(None)
    shutil.move(tmp_path / "a", tmp_path / "b")  # the folder moves, the data goes with it
    panel = open_panel(window, tmp_path / "b" / "points.json")
    assert visible(panel.where) == f"Reads {tmp_path / 'b' / 'data' / 'points.npz'}"
    assert panel.data is not None


def test_a_path_outside_the_project_folder_is_pointed_out(window, tmp_path):
    outside = tmp_path / "elsewhere" / "points.npz"
    points(outside)
    (tmp_path / "p").mkdir()
    panel = open_panel(window, project_in(tmp_path / "p", str(outside)))
    assert visible(panel.where) == f"Reads {outside}\noutside the project folder"
    assert panel.data is not None  # shown, and read
    panel = open_panel(window, project_in(tmp_path / "p", "../elsewhere/points.npz"))
    assert "outside the project folder" in visible(panel.where)


def test_the_path_is_shown_before_the_file_is_read(window, tmp_path, monkeypatch):
    import torchloom.engine.data as data

    points(tmp_path / "points.npz")
    path = project_in(tmp_path, "points.npz")
    panel = window.data_panel
    seen: list[tuple[bool, str]] = []
    real = data.load_dataset

    def reading(*args, **kwargs):  # on the loading thread, as the read begins
        seen.append((panel.where.isHidden(), panel.where.toolTip()))
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "load_dataset", reading)
    assert window.open_path(path)
    assert panel.wait_loaded()
    assert seen == [(False, str(tmp_path / "points.npz"))]


def test_an_embedding_too_small_for_the_tokens_gets_a_one_click_fix(window, qtbot, tmp_path):
    """Issue 21 §1: the data panel offers the fix when a number disagrees with the data."""
    import json

    from PySide6.QtCore import Qt

    from torchloom.engine.resources import examples_dir

    data = json.loads((examples_dir() / "review_sentiment.json").read_text())
    for node in data["graph"]["nodes"]:
        if node["type"] == "Embedding":
            node["params"]["num_embeddings"] = 10
            embed = node["id"]
    path = tmp_path / "reviews.json"
    path.write_text(json.dumps(data))
    assert window.open_path(path)
    settle()
    panel = window.data_panel
    window.side_tabs.setCurrentWidget(panel)
    assert panel.wait_loaded()
    settle()
    assert panel.fit_button.isVisible()
    assert f"{embed}'s num_embeddings is 10" in panel.fit_message.text()
    size = panel.data.tokenizer.vocab_size
    if os.environ.get("TORCHLOOM_VOCAB_FIX_PNG"):
        panel.widget().grab().save(os.environ["TORCHLOOM_VOCAB_FIX_PNG"])
    assert panel.fit_button.text() == f"Set {embed}'s num_embeddings to \"vocab\" ({size})"
    qtbot.mouseClick(panel.fit_button, Qt.MouseButton.LeftButton)
    settle()
    graph = window.document.graph
    assert graph.node(embed).params["num_embeddings"] == "vocab"
    assert not panel.fit_button.isVisible()
    window.document.undo_stack.undo()
    settle()
    assert graph.node(embed).params["num_embeddings"] == 10
