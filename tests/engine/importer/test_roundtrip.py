"""Project -> export -> import -> the same project: same blocks, parameters, wires and
parameter counts: every example through the python export, and through the .pt2 Torchloom
writes the examples that together hold every block type, dtype and units (the .pt2 files
the export tests check, made once a run: tests/engine/example_exports.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchloom.engine.importer import import_module
from torchloom.engine.project import load_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer
from torchloom.engine.text.vocab import learn_vocab

from ..example_exports import COVERING_EXAMPLES, ONE_MODEL_EXAMPLES

#: One-model examples: an import makes one graph, a GAN's export holds two networks.
EXAMPLES = ONE_MODEL_EXAMPLES



def _graph_facts(graph, vocab=None):
    """Nodes and wires; a text model's "vocab" sizes read as the number `vocab` (the file
    says "vocab", its import holds the number the data gives)."""
    nodes = {n.id: (n.type, {k: vocab if v == "vocab" else v
                             for k, v in n.resolved_params().items()}) for n in graph.nodes}
    edges = sorted((e.src, e.dst, graph.port_of(e)) for e in graph.edges)
    return nodes, edges


def _flat(project):
    """The graph with every unit ungrouped (ids like module paths, ``layer1_0_conv1``):
    a units example comes back with units from python (repeated classes) but flat from
    .pt2, and its promoted parameter names are the person's, so blocks are compared."""
    from torchloom.engine.units import flatten_units

    project = load_project(project.path) if project.path else project
    flatten_units(project)
    return project.graph


def _with_vocab(project):
    learn_vocab(project)


def _check_same(original, result):
    vocab = original.graph.vocab_size
    assert _graph_facts(_flat(result.project)) == _graph_facts(_flat(original), vocab)
    assert result.params_imported == infer(original.graph).total_params
    assert result.params_original == result.params_imported
    assert not result.code_nodes and not result.fresh
    assert result.reproduces, result.lines()


def test_every_example_is_covered():
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize("name", EXAMPLES)
def test_python_export_imports_back(tmp_path: Path, name: str):
    from torchloom.engine.export.python_code import export_python

    original = load_project(examples_dir() / f"{name}.json")
    _with_vocab(original)
    exported = tmp_path / f"{name}.py"
    export_python(original, exported)
    inputs = [original.graph.node(i).params for i in original.graph.input_ids()]
    result = import_module(f"{exported}:Model", tmp_path / "back.json",
                           input_shapes=[p["shape"] for p in inputs],
                           input_dtypes=[p["dtype"] for p in inputs])
    _check_same(original, result)
    assert result.outputs_identical
    # an import cannot tell what else a model was for, which text it was fitted to, nor
    # what each of several outputs is trained on (it gives them placeholder heads)
    if original.task == "classify" and "tokenizer" not in original.dataset \
            and not original.heads:
        assert result.project.dataset == original.dataset  # every example uses a built-in
    assert sorted(result.project.units) == sorted(original.units)  # repeated classes
    assert list(result.project.heads) == list(original.heads)  # the outputs, in order


@pytest.mark.parametrize("name", COVERING_EXAMPLES)
def test_pt2_export_imports_back(tmp_path: Path, name: str, example_exports):
    """The .pt2 the export tests check (made once a run), for examples that together hold
    every block type, dtype and units any example has (tests/engine/example_exports.py)."""
    original = load_project(examples_dir() / f"{name}.json")
    _with_vocab(original)
    _, exported = example_exports.get(name, "pt2")
    result = import_module(exported, tmp_path / "back.json")
    _check_same(original, result)
