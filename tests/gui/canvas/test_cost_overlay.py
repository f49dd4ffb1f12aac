"""The cost overlay: blocks coloured by parameters, FLOPs or measured time, numbers in the
tooltip, and the memory estimate on the canvas."""

from __future__ import annotations

from ..conftest import settle

TIMEOUT = 60_000  # a hang guard, not a speed: generous for a loaded machine


def wait_cost(qtbot, window, measured=False):
    overlay = window.cost_overlay
    qtbot.waitUntil(lambda: overlay.result is not None and not overlay.jobs.busy()
                    and (not measured or overlay.result.get("measured")), timeout=TIMEOUT)
    settle()
    return overlay


def test_colour_by_flops_makes_the_costliest_block_hottest(window, example, qtbot):
    example()
    overlay = wait_cost(qtbot, window)
    items = window.scene.node_items
    assert all(item.cost_level is None for item in items.values())  # off by default
    assert "Batch 64 needs about" in overlay.label.text()
    assert "memory on the CPU is not checked" in overlay.label.text()
    overlay.combo.setCurrentIndex(overlay.combo.findText("FLOPs"))
    settle()
    assert window.cost_actions["flops"].isChecked()  # the View menu follows
    assert items["conv2"].cost_level == 1.0 and "85 %" in items["conv2"].cost_text
    assert items["relu1"].cost_level == 0.0
    assert 0 < items["conv1"].cost_level < 1
    assert "MFLOPs per batch of 64" in overlay.label.text()
    assert "225,034" not in items["conv1"].toolTip() and "320 parameters" in \
        items["conv1"].toolTip()
    window.cost_actions[None].trigger()
    settle()
    assert overlay.combo.currentText() == "No colours"
    assert all(item.cost_level is None for item in items.values())


def test_colour_by_parameters_and_by_measured_time(window, example, qtbot):
    example()
    wait_cost(qtbot, window)
    window.cost_actions["params"].trigger()
    settle()
    items = window.scene.node_items
    assert items["fc1"].cost_level == 1.0 and items["fc1"].cost_text.startswith("204,928")
    window.cost_actions["time"].trigger()
    wait_cost(qtbot, window, measured=True)
    timed = [item for item in items.values() if item.cost_level is not None]
    assert len(timed) == 11  # every block but the Input
    assert all(item.cost_text.split(" ms")[0].replace(".", "").isdigit() for item in timed)
    assert "ms forward+backward" in items["conv2"].toolTip()


def test_a_broken_graph_says_to_fix_it_first(window, example, qtbot):
    doc = example()
    wait_cost(qtbot, window)
    window.scene.select_nodes(["flatten"])
    window.delete_selection()  # fc1 now has nothing to read
    settle()
    assert doc.analysis.errors
    overlay = window.cost_overlay
    qtbot.waitUntil(lambda: not overlay.result.get("ok", True) if overlay.result else False,
                    timeout=TIMEOUT)
    assert "Fix the graph's errors" in overlay.label.text()


def test_a_language_model_with_vocab_sizes_is_coloured_not_called_broken(window, qtbot,
                                                                         tmp_path):
    """The Embedding and the head take their size from the data ("vocab"); the cost pass
    must read it as the canvas does, not report errors the graph does not have."""
    from ...engine.tasks.test_language_model import _project

    assert window.open_path(_project(tmp_path))
    settle()
    qtbot.waitUntil(lambda: window.document.graph.vocab_size is not None, timeout=TIMEOUT)
    overlay = wait_cost(qtbot, window)
    window.cost_actions["params"].trigger()
    settle()
    assert "Fix the graph's errors" not in overlay.label.text()
    assert "parameters in all" in overlay.label.text()
    embed = window.scene.node_items["embed"]
    vocab = window.document.graph.vocab_size
    assert embed.cost_text.startswith(f"{vocab * 32:,} params")
