"""The tasks with one graph trained on (input, target) pairs: what they share.

Classification, regression and the rest differ only in how targets are checked, the loss
and the metrics; loading, fitting, splitting, compiling and the summary are the same and
live here, so each task file stays a declaration and three short methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import CompileError, DataError, TrainingError
from ..project import Project
from .base import Prepared, Task

if TYPE_CHECKING:

    from ..data.dataset import Dataset, Split
    from ..shapes import Analysis, Infer


@dataclass(frozen=True)
class DataFacts:
    """What the output is checked against: known from loaded data, or, for a built-in
    dataset, from its declaration before anything is loaded (so the canvas can mark the
    output node while the person builds)."""

    input_shape: tuple[int, ...]
    #: one sample's target beyond a class index: () classes, [K] numbers or tags, [H, W]
    target_shape: tuple[int, ...]
    num_classes: int
    #: what the targets are (`data.sources.TARGETS`)
    kind: str

    @classmethod
    def of(cls, data: "Dataset") -> "DataFacts":
        kind = ("classification" if data.is_classification else
                "segmentation" if data.y.dim() == 3 else
                "multilabel" if data.classes else
                "none" if data.y.dim() == 2 and data.y.shape[1] == 0 else "regression")
        shape = () if data.several else tuple(data.input_shape)  # tasks that read it refuse several
        return cls(shape, data.target_shape, data.num_classes, kind)

    @classmethod
    def declared(cls, dataset: Any) -> "DataFacts | None":
        from ..data.catalog import BUILTINS

        name = dataset.get("name") if isinstance(dataset, dict) else None
        entry = BUILTINS.get(name) if isinstance(name, str) else None  # {"name": {...}} too
        if entry is None or set(dataset) - {"name", "n", "seed", "augment"}:
            return None
        return cls(tuple(entry.input_shape), tuple(entry.target_shape), entry.classes,
                   entry.targets)


class SupervisedTask(Task):
    """One graph, one Input, one output compared with the data's targets."""

    own_settings = ("optimizer", "momentum", "schedule", "step_size", "gamma", "warmup_steps",
                    "max_lr", "plateau_patience", "val_split", "amp", "accumulate")
    probes = True
    #: Whether the model should end in one vector per sample (warned about on the output
    #: node otherwise): a classifier's scores, a regression's numbers.
    vector_output = True
    #: Why the task cannot train a model with several Input nodes ("" : it can).
    single_input_only = ""

    # ---- checks ---------------------------------------------------------------------

    def analyze(self, project: Project, infer: "Infer | None" = None) -> "Analysis":
        """The graph's problems, and, where the dataset is a built-in whose declaration says
        what its targets are, the output checked against them: an error on the output node
        before any data is loaded."""
        from ..errors import ShapeError
        from ..shapes import infer as whole_pass

        from ..project_checks import project_problems
        from ..text.vocab import learn_vocab

        learn_vocab(project, self.targets)
        analysis = (infer or whole_pass)(project.graph, self.vector_output)
        facts = DataFacts.declared(project.dataset)
        node = analysis.output
        if facts is not None and self.targets in (facts.kind, "none") and node is not None \
                and analysis.output_spec is not None and analysis.ok:
            problem = self.output_problem(analysis, facts)
            if problem is not None:
                error = ShapeError(problem, node=node, block_type=project.graph.node(node).type)
                analysis.problems.append(error)
                analysis.nodes[node].errors.append(error)
        analysis.problems.extend(project_problems(project, self.validates,
                                                  self.metric_columns))
        return analysis

    def check_targets(self, data: "Dataset", analysis: "Analysis") -> None:
        """Raise `DataError` when the output cannot be compared with the targets, naming
        the output node, both shapes and the fix."""
        if analysis.output_spec is None or analysis.output is None:
            return
        problem = self.output_problem(analysis, DataFacts.of(data))
        if problem is not None:
            raise DataError(problem)

    def output_problem(self, analysis: "Analysis", facts: DataFacts) -> str | None:
        """Why the output (`analysis.output_spec`, at node `analysis.output`) cannot be
        compared with targets like `facts`: one sentence with the fix; None if it can."""
        return None

    def summary_json(self, project: Project) -> dict[str, Any]:
        from ..summary import summarize

        out = summarize(project.graph, project.name, self.analyze(project)).to_json()
        out["task"] = self.name
        return out

    def summary_lines(self, project: Project, path: str) -> tuple["Analysis", list[str]]:
        from ..summary import summarize, table_lines

        summary = summarize(project.graph, project.name, self.analyze(project))
        lines = [f"{project.name}  ({path})  ·  task {self.name}", "", *table_lines(summary)]
        lines += [f"warning: {problem.describe()}" for problem in summary.analysis.warnings]
        return summary.analysis, lines

    # ---- data -----------------------------------------------------------------------

    def load_split(self, project: Project, config: Any, tokenizer: Any = None
                   ) -> tuple["Split", list[str], "Analysis"]:
        """The data fitted to the graph and split as training splits it; probes, Evaluate
        and the torchrun export read it again the same way. Text data is encoded with
        `tokenizer` (a run's saved one) where given, else with one fitted on the training
        split; a graph with a ``"vocab"`` size learns it from that tokenizer."""
        from ..compile import input_order
        from ..data import fit_to_graph, load_dataset, split_dataset
        from ..shapes import infer
        from ..text.fitting import TextFit
        from ..text.vocab import set_vocab, uses_vocab

        def load(order: tuple[str, ...] | list[str] = ()) -> "Dataset":
            base = project.path.parent if project.path is not None else None
            fit = TextFit(config.val_split, config.seed, tokenizer)
            return load_dataset(project.dataset, base, self.targets, fit, order)

        data = load() if uses_vocab(project.graph) else None  # the size comes from the data
        if data is not None:
            set_vocab(project.graph, data.tokenizer)
        analysis = infer(project.graph, self.vector_output)
        if not analysis.ok:
            raise CompileError(analysis.errors)
        order = input_order(project.graph, analysis)
        if len(order) >= 2 and self.single_input_only:
            raise DataError(f"the {self.name} task {self.single_input_only}: this model has "
                            f"{len(order)} Input nodes ({', '.join(order)}); keep one")
        if data is None:
            data = load(order if len(order) >= 2 else ())
        data, notes = fit_to_graph(data, project.graph, analysis)
        self.check_targets(data, analysis)
        split = split_dataset(data, config.val_split, config.seed)
        if not self.normalizes:
            split.normalization = None
        return split, notes, analysis

    def prepare(self, project: Project, config: Any, tokenizer: Any = None) -> Prepared:
        from ..compile import compile_graph, module_names
        from ..probe.batch import choose_probe_batch

        split, notes, analysis = self.load_split(project, config, tokenizer)
        if len(split.train) < 2:
            raise TrainingError(f"only {len(split.train)} training sample(s): lower val_split "
                                "or add data", kind="config")
        model = compile_graph(project.graph, analysis, seed=config.seed)
        names = module_names(n.id for n in project.graph.nodes)
        node_ids = {name: node_id for node_id, name in names.items()}
        probe = choose_probe_batch(split.val if len(split.val) else split.train,
                                   seed=config.seed)
        return Prepared(model, split, node_ids, notes, probe=probe)
