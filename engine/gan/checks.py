"""A GAN project's two graphs, checked on their own and against each other and the data.

Each graph is analysed like a classifier's (`shapes.infer`), minus the classifier's "one
vector per sample" warning, which a generator's image output would always trip. Then the
recipe's own rules: the generator's output is a data sample, the discriminator takes one and
gives one logit per sample. Every problem carries the graph it belongs to (`GraphError.graph`),
so it reads "generator: node fc3 (Linear): ..." on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import GraphError, ShapeError
from ..graph import Graph
from ..project import GAN_GRAPHS, Project
from ..shapes import Analysis, Infer, infer


@dataclass
class GanAnalysis:
    """Both graphs' analyses and every problem, each tagged with its graph."""

    analyses: dict[str, Analysis]
    problems: list[GraphError] = field(default_factory=list)
    #: The latent vector's shape (the generator's Input), when it has exactly one.
    latent_shape: tuple[int, ...] | None = None
    #: The shape samples must have: the dataset's when known, else the discriminator's Input.
    sample_shape: tuple[int, ...] | None = None
    #: Where `sample_shape` came from: "dataset <name>", "the discriminator's Input" or None.
    sample_source: str | None = None

    @property
    def errors(self) -> list[GraphError]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[GraphError]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def flow(self) -> list[tuple[str, tuple[int, ...]]] | None:
        """What goes in and what comes out, for a status line: noise, then the sample."""
        if self.latent_shape is None or self.sample_shape is None:
            return None
        return [("noise", self.latent_shape), ("sample", self.sample_shape)]

    @property
    def generator(self) -> Analysis:
        return self.analyses["generator"]

    @property
    def discriminator(self) -> Analysis:
        return self.analyses["discriminator"]


def show(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(["N", *map(str, shape)]) + "]"


def dataset_sample_shape(dataset: dict[str, Any] | None) -> tuple[tuple[int, ...] | None, str]:
    """The sample shape of a built-in dataset from its declaration (nothing is loaded), and
    the dataset's name; (None, name) for a person's files, which are only read to train."""
    from ..data.catalog import BUILTINS

    if not isinstance(dataset, dict):
        return None, ""
    name = dataset.get("name")
    if isinstance(name, str) and name in BUILTINS:
        return tuple(BUILTINS[name].input_shape), name
    return None, str(dataset.get("path", ""))


def analyze_gan(project: Project, sample_shape: tuple[int, ...] | None = None,
                data_name: str | None = None, infer: Infer | None = None) -> GanAnalysis:
    """Check a GAN project. `sample_shape` is the loaded data's (training knows it); without
    it a built-in dataset's declared shape is used, else the discriminator's Input."""
    if sample_shape is None:
        sample_shape, name = dataset_sample_shape(project.dataset)
        data_name = data_name or name
    graphs = project.graphs()
    analyses = {key: _infer(graphs[key], infer) for key in GAN_GRAPHS}
    result = GanAnalysis(analyses)
    gen, disc = analyses["generator"], analyses["discriminator"]
    g_graph, d_graph = graphs["generator"], graphs["discriminator"]
    cross: list[tuple[str, GraphError]] = []
    latent = _single_input(g_graph, gen)
    if latent is not None:
        spec = gen.nodes[latent].spec
        assert spec is not None
        if spec.is_int:
            cross.append(("generator", ShapeError(
                "the generator's Input is the latent vector of random numbers: set its dtype "
                "to float32", node=latent, block_type="Input")))
        else:
            result.latent_shape = spec.shape
    d_input = _single_input(d_graph, disc)
    d_in_spec = disc.nodes[d_input].spec if d_input is not None else None
    if sample_shape is not None:
        result.sample_shape = tuple(sample_shape)
        result.sample_source = f"the dataset {data_name}" if data_name else "the dataset"
    elif d_in_spec is not None:
        result.sample_shape, result.sample_source = d_in_spec.shape, "the discriminator's Input"
    want = result.sample_shape
    g_out = gen.output_spec if gen.ok else None
    if g_out is not None and want is not None and g_out.shape != want:
        out_id = gen.output
        assert out_id is not None
        cross.append(("generator", ShapeError(
            f"the generator outputs {show(g_out.shape)} but samples of {result.sample_source} "
            f"are {show(want)}: make the generator end in {show(want)} (e.g. with an "
            f"Unflatten)", node=out_id, block_type=g_graph.node(out_id).type)))
    if d_in_spec is not None and d_input is not None:
        if d_in_spec.is_int:
            cross.append(("discriminator", ShapeError(
                "the discriminator judges samples, not token ids: set its Input's dtype to "
                "float32", node=d_input, block_type="Input")))
        elif sample_shape is not None and d_in_spec.shape != tuple(sample_shape):
            shape = list(sample_shape)
            cross.append(("discriminator", ShapeError(
                f"the discriminator's Input takes {show(d_in_spec.shape)} but samples of "
                f"{result.sample_source} are {show(tuple(sample_shape))}: set {d_input}'s "
                f"shape to {shape}", node=d_input, block_type="Input")))
    d_out = disc.output_spec if disc.ok else None
    if d_out is not None and d_out.shape not in ((1,), ()):
        out_id = disc.output
        assert out_id is not None
        node = d_graph.node(out_id)
        fix = (f"set {out_id}'s out_features to 1" if node.type == "Linear"
               else "end it with a Linear with out_features 1")
        cross.append(("discriminator", ShapeError(
            f"the discriminator outputs {show(d_out.shape)}; it must give one logit per sample "
            f"{show((1,))}: {fix}", node=out_id, block_type=node.type)))
    for key, problem in cross:
        analysis = analyses[key]
        analysis.problems.append(problem)
        if problem.node in analysis.nodes:
            analysis.nodes[problem.node].errors.append(problem)
    for key in GAN_GRAPHS:
        for problem in analyses[key].problems:
            problem.graph = key
            result.problems.append(problem)
    return result


def _infer(graph: Graph, shape_pass: Infer | None = None) -> Analysis:
    """`infer`, without the classifier's output warning (a GAN has no classes)."""
    return (shape_pass or infer)(graph, False)


def _single_input(graph: Graph, analysis: Analysis) -> str | None:
    """The one wired Input with a shape, or None (the graph's own errors say why)."""
    inputs = [i for i in analysis.inputs if analysis.nodes[i].spec is not None
              and graph.out_edges(i)]
    return inputs[0] if len(inputs) == 1 else None
