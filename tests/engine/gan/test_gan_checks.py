"""A GAN's two graphs checked against each other and the data, on the command line too."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.cli import main
from torchloom.engine.gan.checks import analyze_gan

from .helpers import GAN_EXAMPLE, example_copy, load, set_param


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_generator_output_that_is_not_a_sample_names_both_shapes(tmp_path, capsys):
    path = example_copy(tmp_path, lambda d: set_param(d, "generator", "image",
                                                      unflattened_size=[784]))
    checked = analyze_gan(load(path))
    assert not checked.ok
    error = checked.errors[0]
    assert (error.graph, error.node) == ("generator", "image")
    assert "[N, 784]" in error.message and "[N, 1, 28, 28]" in error.message
    assert "mnist5k" in error.message
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    assert out.startswith(f"{path}: generator: node image (Unflatten): the generator outputs "
                          "[N, 784]")


def test_a_discriminator_with_more_than_one_output_per_sample_is_an_error(tmp_path, capsys):
    path = example_copy(tmp_path, lambda d: set_param(d, "discriminator", "logit",
                                                      out_features=10))
    checked = analyze_gan(load(path))
    [error] = checked.errors
    assert (error.graph, error.node) == ("discriminator", "logit")
    assert "one logit per sample" in error.message and "[N, 10]" in error.message
    assert "out_features to 1" in error.message
    code, out, _ = run(capsys, "check", "--json", str(path))
    assert code == 1
    [entry] = json.loads(out)["files"]
    assert entry["errors"][0]["graph"] == "discriminator"
    assert entry["errors"][0]["node"] == "logit"


def test_a_discriminator_input_that_does_not_take_a_sample_is_an_error(tmp_path):
    path = example_copy(tmp_path, lambda d: set_param(d, "discriminator", "x", shape=[784]))
    errors = analyze_gan(load(path)).errors
    shown = [e.describe() for e in errors]
    assert any(e.graph == "discriminator" and e.node == "x" and "[N, 784]" in e.message
               and "[N, 1, 28, 28]" in e.message for e in errors), shown


def test_errors_inside_a_graph_are_attributed_to_the_graph_and_node(tmp_path, capsys):
    path = example_copy(tmp_path, lambda d: set_param(d, "generator", "fc3", out_features=0))
    code, out, _ = run(capsys, "summary", str(path))
    assert code == 1
    assert "generator: node fc3 (Linear):" in out


def test_no_classifier_output_warning_for_a_generator():
    checked = analyze_gan(load(GAN_EXAMPLE))
    assert checked.ok and checked.warnings == []


def test_summary_reports_both_graphs_in_text_and_json(capsys):
    code, out, _ = run(capsys, "summary", str(GAN_EXAMPLE))
    assert code == 0
    assert "\ngenerator\n" in out and "\ndiscriminator\n" in out
    assert "total params 481,425 (generator 247,440, discriminator 233,985)" in out
    code, out, _ = run(capsys, "summary", "--json", str(GAN_EXAMPLE))
    data = json.loads(out)
    assert data["recipe"] == "gan" and list(data["graphs"]) == ["generator", "discriminator"]
    assert data["total_params"] == 481_425
    assert data["latent_shape"] == ["N", 100] and data["sample_shape"] == ["N", 1, 28, 28]
    assert data["graphs"]["generator"]["output_shape"] == ["N", 1, 28, 28]
    assert data["graphs"]["discriminator"]["output_shape"] == ["N", 1]
    assert [n["id"] for n in data["graphs"]["generator"]["nodes"]][-1] == "image"


def test_the_classifier_summary_json_has_no_gan_keys(capsys):
    from torchloom.engine.resources import examples_dir

    code, out, _ = run(capsys, "summary", "--json", str(examples_dir() / "mlp_digits.json"))
    data = json.loads(out)
    assert code == 0 and "recipe" not in data and "graphs" not in data
    assert all("graph" not in e for e in data["errors"] + data["warnings"])


@pytest.mark.parametrize("graph", ["generator", "discriminator"])
def test_an_empty_graph_is_reported_with_its_name(tmp_path, graph):
    def empty(d):
        d[graph] = {"nodes": [], "edges": []}

    errors = analyze_gan(load(example_copy(tmp_path, empty))).errors
    assert errors and all(e.graph == graph for e in errors)
    assert errors[0].describe().startswith(f"{graph}: ")
