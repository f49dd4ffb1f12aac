"""The tasks with one graph trained on (input, target) pairs: what they share.

Classification, regression and the rest differ only in how targets are checked, the loss
and the metrics; loading, fitting, splitting, compiling and the summary are the same and
live here, so each task file stays a declaration and three short methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import CompileError, TrainingError
from ..project import Project
from .base import Prepared, Task

if TYPE_CHECKING:
    import torch

    from ..data.dataset import Dataset, Split
    from ..shapes import Analysis


class SupervisedTask(Task):
    """One graph, one Input, one output compared with the data's targets."""

    own_settings = ("optimizer", "momentum", "schedule", "val_split", "amp")
    probes = True
    #: Whether the model should end in one vector per sample (warned about on the output
    #: node otherwise): a classifier's scores, a regression's numbers.
    vector_output = True

    # ---- checks ---------------------------------------------------------------------

    def analyze(self, project: Project) -> "Analysis":
        from ..shapes import infer

        return infer(project.graph, self.vector_output)

    def check_targets(self, data: "Dataset", analysis: "Analysis") -> None:
        """Raise `DataError` when the output cannot be compared with the targets, naming
        the output node, both shapes and the fix."""

    def summary_json(self, project: Project) -> dict[str, Any]:
        from ..summary import summarize

        out = summarize(project.graph, project.name, self.analyze(project)).to_json()
        out["task"] = self.name
        return out

    def summary_lines(self, project: Project, path: str) -> tuple["Analysis", list[str]]:
        from ..summary import format_table, summarize

        summary = summarize(project.graph, project.name, self.analyze(project))
        lines = [f"{project.name}  ({path})  ·  task {self.name}", "", format_table(summary)]
        lines += [f"warning: {problem.describe()}" for problem in summary.analysis.warnings]
        return summary.analysis, lines

    # ---- data -----------------------------------------------------------------------

    def load_split(self, project: Project, config: Any
                   ) -> tuple["Split", list[str], "Analysis"]:
        """The data fitted to the graph and split as training splits it; probes, Evaluate
        and the torchrun export read it again the same way."""
        from ..data import fit_to_graph, load_dataset, split_dataset
        from ..shapes import infer

        analysis = infer(project.graph, self.vector_output)
        if not analysis.ok:
            raise CompileError(analysis.errors)
        base = project.path.parent if project.path is not None else None
        data = load_dataset(project.dataset, base, self.targets)
        data, notes = fit_to_graph(data, project.graph, analysis)
        self.check_targets(data, analysis)
        split = split_dataset(data, config.val_split, config.seed)
        if not self.normalizes:
            split.normalization = None
        return split, notes, analysis

    def prepare(self, project: Project, config: Any) -> Prepared:
        from ..compile import compile_graph, module_names
        from ..probe.batch import choose_probe_batch

        split, notes, analysis = self.load_split(project, config)
        if len(split.train) < 2:
            raise TrainingError(f"only {len(split.train)} training sample(s): lower val_split "
                                "or add data", kind="config")
        model = compile_graph(project.graph, analysis, seed=config.seed)
        names = module_names(n.id for n in project.graph.nodes)
        node_ids = {name: node_id for node_id, name in names.items()}
        probe = choose_probe_batch(split.val if len(split.val) else split.train,
                                   seed=config.seed)
        return Prepared(model, split, node_ids, notes, probe=probe)

    def data_arrays_targets(self, y: "torch.Tensor") -> "torch.Tensor":
        """Targets as the run loop feeds them, for files written outside it (torchrun)."""
        return self.targets_to_device(y)
