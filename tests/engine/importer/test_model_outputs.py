"""A model whose forward returns a tuple or dict of tensors imports as a graph with several
outputs, in the forward's order, each given a head, so it loads, compiles and exports; a
None in the tuple (a loss without targets) is left out."""

from __future__ import annotations

import json

import torch

from torchloom.engine.export import export_project
from torchloom.engine.project import load_project
from torchloom.engine.shapes import infer

from .helpers import batch, imported, reloaded_model, seeded_outputs


def _wires_into(graph, node_id):
    return [(e.src, e.from_port) for e in graph.in_edges(node_id)]


def test_a_vae_ends_in_recon_mu_and_logvar_in_that_order(tmp_path):
    result, reference = imported(tmp_path, "architectures:VAE", [1, 16, 16])
    assert result.ok and result.outputs_identical, result.lines()
    graph = result.project.graph
    # recon ends the graph itself; mu and logvar also feed the sampling, so an Identity ends
    # each, named after its position in the tuple
    assert result.outputs == ["decoder_3", "output_1", "output_2"]
    assert graph.node("decoder_3").type == "Sigmoid"
    assert _wires_into(graph, "output_1") == [("fc_mu", None)]
    assert _wires_into(graph, "output_2") == [("fc_logvar", None)]
    assert sorted(graph.output_ids()) == sorted(result.outputs)
    assert [n.type for n in graph.nodes if n.id in result.code_nodes] == ["Code", "Code"]
    assert any("randn_like" in r for r in result.reasons)

    saved = json.loads(result.project.path.read_text())
    assert list(saved["heads"]) == result.outputs  # the order the model returns them in
    assert "task" not in saved and "dataset" not in saved
    assert any("placeholder head" in note for note in result.notes)
    project = load_project(result.project.path)
    assert infer(project.graph).ok

    x = batch([1, 16, 16], n=5)
    model = reloaded_model(result)
    recon, mu, logvar = seeded_outputs(model, x)
    want = seeded_outputs(reference, x)
    assert torch.equal(recon, want[0]) and torch.equal(mu, want[1])
    assert torch.equal(logvar, want[2]) and recon.shape == (5, 1, 16, 16)
    # it still samples: the noise is drawn on each call, not frozen at import
    torch.manual_seed(1)
    again = model(x)[0]
    assert not torch.equal(again, recon)


def test_the_vae_exports_as_python_that_unpacks_as_the_original(tmp_path):
    import runpy

    result, reference = imported(tmp_path, "architectures:VAE", [1, 16, 16])
    exported = export_project(result.project, "python", tmp_path / "vae.py")
    assert exported.checks["outputs_identical"]
    model = runpy.run_path(str(tmp_path / "vae.py"))["build"]()
    model.load_state_dict(reloaded_model(result).state_dict())
    x = batch([1, 16, 16], n=2)
    got = seeded_outputs(model, x)
    recon, mu, logvar = got
    assert all(torch.equal(g, w) for g, w in zip(got, seeded_outputs(reference, x)))
    assert mu.shape == logvar.shape == (2, 8)


def test_the_vae_onnx_export_compares_what_the_noise_does_not_reach(tmp_path):
    """ONNX Runtime draws its own noise: recon is checked by shape, mu and logvar by value."""
    result, _ = imported(tmp_path, "architectures:VAE", [1, 16, 16])
    exported = export_project(result.project, "onnx", tmp_path / "vae.onnx")
    assert exported.checks["sampled_outputs"] == [0]
    assert exported.checks["max_abs_diff"] <= 1e-5
    import onnx

    names = [o.name for o in onnx.load(str(tmp_path / "vae.onnx")).graph.output]
    assert names == ["decoder_3", "output_1", "output_2"]


def test_a_tuple_keeps_each_block_as_its_output_unless_it_is_read_on(tmp_path):
    result, reference = imported(tmp_path, "several_outputs:TwoHeads", [12])
    assert result.ok and result.outputs_identical and not result.code_nodes, result.lines()
    graph = result.project.graph
    assert result.outputs == ["classifier", "output_1", "aux"]
    assert graph.node("classifier").type == graph.node("aux").type == "Linear"
    assert graph.node("output_1").type == "Identity"
    assert _wires_into(graph, "output_1") == [("embed", None)]
    x = batch([12], n=3)
    got = reloaded_model(result)(x)
    assert isinstance(got, tuple) and len(got) == 3
    assert all(torch.equal(g, w) for g, w in zip(got, reference.eval()(x)))


def test_a_dict_names_each_output_after_its_key(tmp_path):
    result, reference = imported(tmp_path, "several_outputs:DictOutputs", [10])
    assert result.ok and result.outputs_identical and not result.code_nodes, result.lines()
    graph = result.project.graph
    assert result.outputs == ["logits", "features"]
    assert graph.node("logits").type == "Linear"  # the head's Linear, named after its key
    assert graph.node("features").type == "Identity"  # features_1 is read by the head too
    assert _wires_into(graph, "features") == [("features_1", None)]
    x = batch([10], n=3)
    want = reference.eval()(x)
    logits, features = reloaded_model(result)(x)  # the dict comes back in key order
    assert torch.equal(logits, want["logits"]) and torch.equal(features, want["features"])
    exported = export_project(result.project, "python", tmp_path / "model.py")
    assert exported.checks["outputs_identical"]
    assert "return (logits, features)" in (tmp_path / "model.py").read_text()


def test_a_gpt_giving_no_loss_without_targets_imports_its_logits(tmp_path):
    """nanoGPT's ``return logits, loss``: without targets the loss is None; it is left out
    with a note, and the model has one output."""
    result, reference = imported(tmp_path, "several_outputs:GPTWithLoss", [8], "int64")
    assert result.ok and result.outputs_identical and not result.code_nodes, result.lines()
    assert result.outputs == ["lm_head"] and not result.project.heads
    assert any("output 1 is None" in note for note in result.notes), result.notes
    x = batch([8], "int64", n=3)
    logits, loss = reference.eval()(x)
    assert loss is None
    assert torch.equal(reloaded_model(result)(x), logits)


def test_the_cli_report_lists_the_outputs_in_order(tmp_path, capsys):
    from torchloom.engine.cli import main

    from .helpers import source

    code = main(["import", source("several_outputs:DictOutputs"), "-o",
                 str(tmp_path / "d.json"), "--input-shape", "10", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"]
    assert report["outputs"] == ["logits", "features"]


def test_a_pt2_returning_several_tensors_imports_them_in_order(tmp_path):
    from torchloom.engine.importer import import_module

    result, reference = imported(tmp_path, "several_outputs:TwoHeads", [12])
    export_project(result.project, "pt2", tmp_path / "two.pt2")
    back = import_module(tmp_path / "two.pt2", tmp_path / "back.json")
    assert back.ok and back.outputs_identical, back.lines()
    assert back.outputs == ["classifier", "output_1", "aux"]
    assert list(load_project(back.project.path).heads) == back.outputs
    x = batch([12], n=3)
    got = reloaded_model(back)(x)
    assert all(torch.equal(g, w) for g, w in zip(got, reference.eval()(x)))


def test_outputs_that_end_repeated_classes_are_their_unit_nodes(tmp_path):
    """Grouping the two Branch uses into a unit takes their last blocks away: the heads
    follow to the unit nodes, so the project still loads and returns both, in order."""
    result, reference = imported(tmp_path, "several_outputs:TwoBranches", [8])
    assert result.ok and result.outputs_identical, result.lines()
    graph = load_project(result.project.path).graph
    assert [(n.id, n.type) for n in graph.nodes if n.type.startswith("unit:")] == [
        ("left", "unit:Branch"), ("right", "unit:Branch")]
    # left is read on by right, so an Identity ends it; right_act went into the unit
    assert result.outputs == ["output_0", "right"]
    assert _wires_into(graph, "output_0") == [("left", None)]
    x = batch([8], n=3)
    got = reloaded_model(result)(x)
    assert all(torch.equal(g, w) for g, w in zip(got, reference.eval()(x)))
    exported = export_project(result.project, "python", tmp_path / "model.py")
    assert exported.checks["outputs_identical"]
