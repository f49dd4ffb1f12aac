"""A node's "trainable" and "lr_scale" (issue 22 §2): in the file beside "params" only when
they differ from the default, so older files load and save byte for byte; undoable edits
that survive a rename and a copy-paste; frozen parameters counted in the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchloom.engine.cli import main
from torchloom.engine.edits import apply_all, copy_fragment, plan_paste, plan_set_training
from torchloom.engine.errors import ParamError, ProjectFileError
from torchloom.engine.project import dumps_project, load_project, loads_project, save_project
from torchloom.engine.rename import plan_rename
from torchloom.engine.summary import summarize, table_lines

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def test_an_old_file_is_written_back_byte_for_byte(tmp_path):
    original = (EXAMPLES / "mlp_digits.json").read_text()
    project = loads_project(original)
    assert all(n.trainable and n.lr_scale == 1 for n in project.graph.nodes)
    assert dumps_project(project) == original
    assert "trainable" not in original and "lr_scale" not in original


def test_frozen_and_scaled_nodes_round_trip_beside_params(tmp_path):
    project = load_project(EXAMPLES / "mlp_digits.json")
    project.graph.set_training("fc1", "trainable", False)
    project.graph.set_training("fc2", "lr_scale", 0.1)
    save_project(project, tmp_path / "p.json")
    nodes = {n["id"]: n for n in json.loads((tmp_path / "p.json").read_text())["graph"]["nodes"]}
    assert list(nodes["fc1"])[:4] == ["id", "type", "params", "trainable"]
    assert nodes["fc1"]["trainable"] is False and "lr_scale" not in nodes["fc1"]
    assert nodes["fc2"]["lr_scale"] == 0.1 and "trainable" not in nodes["fc2"]
    again = load_project(tmp_path / "p.json")
    assert not again.graph.node("fc1").trainable and again.graph.node("fc2").lr_scale == 0.1
    assert dumps_project(again) == (tmp_path / "p.json").read_text()
    again.graph.set_training("fc1", "trainable", True)  # back to the default: key gone
    again.graph.set_training("fc2", "lr_scale", 1.0)
    assert dumps_project(again) == (EXAMPLES / "mlp_digits.json").read_text()


@pytest.mark.parametrize("key, value, says", [("trainable", "no", "true or false"),
                                              ("lr_scale", -1, ">= 0.0"),
                                              ("lr_scale", True, "a number")])
def test_a_bad_value_in_a_file_names_the_node_and_the_setting(key, value, says):
    data = json.loads((EXAMPLES / "mlp_digits.json").read_text())
    data["graph"]["nodes"][2][key] = value
    with pytest.raises(ProjectFileError) as caught:
        loads_project(json.dumps(data), path="p.json")
    text = caught.value.describe()
    assert f"graph.nodes[2].{key}" in text and says in text


def test_the_edit_is_undoable_and_refuses_bad_values():
    project = load_project(EXAMPLES / "mlp_digits.json")
    g = project.graph
    inverses = apply_all(g, plan_set_training(g, "fc1", "trainable", False))
    assert not g.node("fc1").trainable
    apply_all(g, inverses)
    assert g.node("fc1").trainable
    with pytest.raises(ParamError, match="lr_scale must be a number >= 0.0"):
        plan_set_training(g, "fc1", "lr_scale", -0.5)
    with pytest.raises(ParamError, match="not a block training setting"):
        plan_set_training(g, "fc1", "frozen", True)


def test_a_rename_and_a_paste_keep_the_settings():
    project = load_project(EXAMPLES / "mlp_digits.json")
    g = project.graph
    g.set_training("fc1", "trainable", False)
    g.set_training("fc1", "lr_scale", 0.25)
    apply_all(g, plan_rename(g, "fc1", "hidden"))
    assert not g.node("hidden").trainable and g.node("hidden").lr_scale == 0.25
    ops, mapping = plan_paste(g, copy_fragment(g, ["hidden"]))
    apply_all(g, ops)
    pasted = g.node(mapping["hidden"])
    assert not pasted.trainable and pasted.lr_scale == 0.25


def test_the_summary_counts_trainable_and_frozen_parameters(tmp_path, capsys):
    project = load_project(EXAMPLES / "mlp_digits.json")
    project.graph.set_training("fc1", "trainable", False)  # 64 * 64 + 64 = 4160 weights
    project.graph.set_training("fc2", "lr_scale", 0.5)
    summary = summarize(project.graph)
    data = summary.to_json()
    assert data["total_params"] == 4160 + 650
    assert data["trainable_params"] == 650 and data["frozen_params"] == 4160
    rows = {r["id"]: r for r in data["nodes"]}
    assert rows["fc1"]["trainable"] is False and rows["fc2"]["lr_scale"] == 0.5
    assert "trainable" not in rows["fc2"] and "lr_scale" not in rows["relu"]
    lines = table_lines(summary)
    assert lines[0].split()[-1] == "trains"
    assert next(line for line in lines if line.startswith("fc1")).endswith("frozen")
    assert next(line for line in lines if line.startswith("fc2")).endswith("lr x0.5")
    assert "total params 4,810 (trainable 650, frozen 4,160)" in lines[-1]
    save_project(project, tmp_path / "p.json")
    assert main(["summary", str(tmp_path / "p.json")]) == 0
    assert "(trainable 650, frozen 4,160)" in capsys.readouterr().out


def test_an_unfrozen_project_prints_the_summary_as_before():
    lines = table_lines(summarize(load_project(EXAMPLES / "mlp_digits.json").graph))
    assert lines[0].split()[-1] == "FLOPs"
    assert "frozen" not in lines[-1]


def test_the_docs_describe_each_node_training_setting_as_declared():
    from torchloom.engine.block_training import NODE_TRAINING

    doc = (EXAMPLES.parents[1] / "docs" / "project-format.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in doc.splitlines()
            if line.startswith("| `")}
    for key in NODE_TRAINING:
        assert f"`{key}`" in rows, key
    assert NODE_TRAINING["lr_scale"].expects() in rows["`lr_scale`"]


def test_ungrouping_a_frozen_unit_leaves_its_blocks_frozen():
    from torchloom.engine.units.edit import group, ungroup

    project = load_project(EXAMPLES / "mlp_digits.json")
    unit_id = group(project, ["fc1", "relu"], "Hidden").node_id
    project.graph.set_training(unit_id, "trainable", False)
    ungroup(project, unit_id)
    frozen = {n.id: n.trainable for n in project.graph.nodes}
    assert [k for k, v in frozen.items() if not v] == ["fc1", "relu"]
    assert frozen["fc2"]
