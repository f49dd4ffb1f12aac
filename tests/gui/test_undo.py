"""Every edit undoes: a long session of mixed edits, undone to the start and redone."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF

from torchloom.engine.project import graph_to_dict

from .conftest import settle


def snap(doc):
    return json.dumps(graph_to_dict(doc.graph), sort_keys=True)


def test_undo_everything_back_to_the_file_and_redo_to_the_end(window, example):
    doc = example()
    states = [snap(doc)]

    def step(action):
        action()
        settle()
        states.append(snap(doc))

    step(lambda: window.add_block("BatchNorm2d", QPointF(100, 400)))
    step(lambda: window.scene.connect_nodes("conv1", "batchnorm2d_1"))
    step(lambda: window.inspector_commit("conv1", "out_channels", 8))
    step(lambda: (window.scene.select_nodes(["relu2", "pool2"]), window.copy(), window.paste()))
    step(lambda: (window.scene.select_nodes(["batchnorm2d_1", "relu2_2", "pool2_2"]),
                  window.delete_selection()))
    step(lambda: (window.scene.select_nodes(["flatten"]), window.delete_selection()))
    step(lambda: window.scene.connect_nodes("pool2", "fc1"))
    step(lambda: window.apply_fix(doc.analysis.errors[0].fix))
    step(window.auto_layout)
    assert doc.analysis.ok
    assert len(set(states)) == len(states)  # every step changed something
    for expected in reversed(states[:-1]):
        doc.undo_stack.undo()
        settle()
        assert snap(doc) == expected
    assert not doc.dirty
    for expected in states[1:]:
        doc.undo_stack.redo()
        settle()
        assert snap(doc) == expected
    assert window.scene.node_items.keys() == {n.id for n in doc.graph.nodes}
