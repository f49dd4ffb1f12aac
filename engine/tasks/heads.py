"""Several outputs, each with a head: the tasks of the heads, composed over one model.

A project with a ``"heads"`` key (`engine.heads`) trains with this task. The model returns
a tuple, one output per head in the heads' order; each head is served by the task it names
(`classify`, `regress`, `multilabel`), whose loss, step statistics, validation metrics and
output checks are used as they are, never copied. What this adds is the composition: the
loss is the weighted sum of the heads' losses, and every number a head's task reports is
reported under its own name with ``/<node id>`` (``val_acc/digit``, ``val_mae/size``),
beside the total ``val_loss``.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import CompileError, DataError, ExportError, TrainingError
from ..lazy import lazy_module
from ..project import Project, TaskFormat
from ..train.callbacks import BatchReport
from ..train.task_api import Stat
from .base import Chart
from .supervised import DataFacts, SupervisedTask

if TYPE_CHECKING:
    from ..data.dataset import Split
    from ..heads import Head
    from ..shapes import Analysis

torch = lazy_module("torch")


class _HeadLoop:
    """The run loop as one head's task sees it: its own targets and its own loss choice."""

    def __init__(self, loop: Any, node: str, head: "Head") -> None:
        self._loop, self._node = loop, node
        self.config = replace(loop.config, loss=head.loss_name())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    @property
    def _y_train(self) -> Any:
        return _part(self._loop._y_train, self._node)

    @property
    def _y_val(self) -> Any:
        return _part(self._loop._y_val, self._node)


def _part(y: Any, node: str) -> Any:
    from .heads_data import Targets

    return y[node] if isinstance(y, Targets) else y


class Heads(SupervisedTask):
    name = "heads"
    title = "Several outputs"
    summary = "Several output nodes, each with its own task and targets; a weighted loss."
    vector_output = False
    targets = "none"  # each head's targets are read by their own key (`heads_data`)
    views = ()  # the first head's (see `declared` and `evaluate`)
    #: The torchrun script trains one task's loss on ``y``; several heads' are not there yet.
    export_formats = ("python", "onnx", "pt2", "safetensors")

    #: The heads this class is declared for (`declared`), in output order.
    declared_heads: ClassVar[tuple[tuple[str, "Head"], ...]] = ()

    def __init__(self) -> None:
        from . import get_task

        self.heads = dict(self.declared_heads)
        self.parts = {node: get_task(head.task) for node, head in self.heads.items()}
        self.layout: dict[str, Any] = {}
        self._views: dict[int, dict[str, _HeadLoop]] = {}

    @staticmethod
    @functools.lru_cache(maxsize=32)
    def declared(heads: tuple[tuple[str, "Head"], ...]) -> "type[Heads]":
        """The task class of these heads: its declaration (stats, metric names, charts,
        headline) is the heads' tasks' own, each name with ``/<node id>``. One class per
        set of heads (cached), so a view that compares task classes sees a change only when
        the heads change."""
        from . import task_class

        stats, columns, charts, headline = [Stat("loss")], [], [], []
        for node, head in heads:
            part = task_class(head.task)
            stats += [replace(s, name=f"{s.name}/{node}", label=f"head {node}'s {s.label[4:]}"
                              if s.label.startswith("the ") else s.label) for s in part.stats]
            columns += [f"val_loss/{node}"] + [f"{c}/{node}" for c in part.metric_columns
                                               if c.startswith("val_") and c != "val_loss"]
            for chart in part.charts:
                epoch = tuple(f"{m}/{node}" for m in chart.epoch)
                batch = tuple(f"{b}/{node}" for b in chart.batch)  # `batch_report`'s
                charts.append(Chart(f"{node}: {chart.title}", batch, epoch,
                                    percent=chart.percent))
            headline += [(f"{m}/{node}", f"{node} {words}") for m, words in part.headline]
        return type("Heads", (Heads,), {
            "declared_heads": heads, "stats": tuple(stats),
            # Evaluate shows the first head's views (`evaluate`)
            "views": task_class(heads[0][1].task).views if heads else (),
            "metric_columns": ("epoch", "train_loss", "val_loss", *columns, "seconds",
                               "samples_per_s"),
            "charts": (Chart("Loss (all heads)", ("loss",), ("val_loss",)), *charts),
            "headline": tuple(headline)})

    @classmethod
    def file_format(cls) -> TaskFormat:
        return TaskFormat()

    def _view(self, loop: Any) -> dict[str, _HeadLoop]:
        views = self._views.get(id(loop))
        if views is None or next(iter(views.values()))._loop is not loop:
            views = {node: _HeadLoop(loop, node, head) for node, head in self.heads.items()}
            self._views = {id(loop): views}
        return views

    # ---- checks ---------------------------------------------------------------------

    def summary_json(self, project: Project) -> dict[str, Any]:
        out = super().summary_json(project)
        out["heads"] = self.describe_heads(project)
        return out

    def describe_heads(self, project: Project) -> list[dict[str, Any]]:
        """The heads in output order, with each output's shape where it is known."""
        from ..shapes import infer

        analysis = infer(project.graph, False)
        out = []
        for node, head in self.heads.items():
            spec = analysis.nodes[node].spec if node in analysis.nodes else None
            out.append({"node": node, **head.to_dict(),
                        "output_shape": ["N", *spec.shape] if spec is not None else None})
        return out

    def summary_lines(self, project: Project, path: str) -> tuple["Analysis", list[str]]:
        analysis, lines = super().summary_lines(project, path)
        lines += ["", "heads (the model's outputs, in order):"]
        for entry in self.describe_heads(project):
            lines.append(f"  {entry['node']}: {entry['task']} on '{entry['target']}', weight "
                         f"{entry['weight']:g}, output {entry['output_shape']}")
        return analysis, lines

    # ---- data -----------------------------------------------------------------------

    def load_split(self, project: Project, config: Any, tokenizer: Any = None
                   ) -> tuple["Split", list[str], "Analysis"]:
        """The inputs as every supervised task loads them, and each head's targets from
        its own key, checked against its output node."""
        from dataclasses import replace as with_

        from ..compile import input_order
        from ..data import fit_to_graph, load_dataset, split_dataset
        from ..shapes import infer
        from ..text.fitting import TextFit
        from .heads_data import pack_targets, read_named

        analysis = infer(project.graph, False)
        if not analysis.ok:
            raise CompileError(analysis.errors)
        order = input_order(project.graph, analysis)
        base = project.path.parent if project.path is not None else None
        data = load_dataset(project.dataset, base, "none",
                            TextFit(config.val_split, config.seed, tokenizer),
                            order if len(order) >= 2 else ())
        raw = read_named(data, project.dataset, base, self.heads)
        kinds = {node: part.targets for node, part in self.parts.items()}
        shown = str((project.dataset or {}).get("path") or (project.dataset or {}).get("name"))
        y, self.layout = pack_targets(raw, kinds, len(data), shown, self.heads)
        # the first head's classes are the data's (Evaluate shows the first head)
        first = next(iter(self.layout.values()))
        data = with_(data, y=y, classes=list(first.classes), named=None,
                     info={**data.info, "heads": {node: col.to_json()
                                                  for node, col in self.layout.items()}})
        data, notes = fit_to_graph(data, project.graph, analysis)
        for node, part in self.parts.items():
            col = self.layout[node]
            facts = DataFacts((), col.shape, len(col.classes), col.kind)
            problem = part.output_problem(with_(analysis, output=node), facts)
            if problem is not None:
                raise DataError(f"head {node}: {problem}", where=f"heads.{node}")
        split = split_dataset(data, config.val_split, config.seed)
        return split, notes, analysis

    # ---- in the run loop --------------------------------------------------------------

    def targets_to_device(self, y: "torch.Tensor") -> Any:
        from .heads_data import Targets, unpack

        if isinstance(y, Targets):
            return y
        parts = unpack(y, self.layout)  # then each head's task's own conversion
        return Targets({node: part.targets_to_device(parts[node])
                        for node, part in self.parts.items()})

    def _outputs(self, out: Any) -> dict[str, Any]:
        if not isinstance(out, (tuple, list)) or len(out) != len(self.heads):
            raise TrainingError(f"the model returned {type(out).__name__}, not one output per "
                                f"head ({', '.join(self.heads)})", kind="config")
        return dict(zip(self.heads, out))

    def train_step(self, loop: Any, idx: "torch.Tensor", row: "torch.Tensor") -> None:
        from ..train.inputs import call

        xb, yb = loop.batch("train", idx)
        with loop.autocast():
            outs = self._outputs(call(loop.model, xb))
        views, total, at = self._view(loop), None, 1
        for node, part in self.parts.items():
            loss = part.loss(views[node], outs[node], yb[node])
            weighted = loss * self.heads[node].weight
            total = weighted if total is None else total + weighted
            slot = row[at:at + len(part.stats)]
            slot[0] = loss.detach()
            part.record(slot, outs[node].detach(), yb[node])
            at += len(part.stats)
        loop.update(total, loop.optimizers[""])
        row[0] = total.detach()

    def loss(self, loop: Any, out: Any, y: Any) -> "torch.Tensor":
        views, outs = self._view(loop), self._outputs(out)
        return sum(part.loss(views[node], outs[node], y[node]) * self.heads[node].weight
                   for node, part in self.parts.items())  # type: ignore[return-value]

    def val_begin(self, loop: Any) -> dict[str, Any]:
        views = self._view(loop)
        return {node: {"loss": torch.zeros((), device=loop.device, dtype=torch.float64),
                       **part.val_begin(views[node])} for node, part in self.parts.items()}

    def val_batch(self, loop: Any, sums: dict[str, Any], out: Any, y: Any) -> None:
        views, outs = self._view(loop), self._outputs(out)
        for node, part in self.parts.items():
            n = len(y[node])
            sums[node]["loss"] += part.loss(views[node], outs[node], y[node]).double() * n
            part.val_batch(views[node], sums[node], outs[node], y[node])

    def val_metrics(self, loop: Any, sums: dict[str, Any], n: int) -> dict[str, Any]:
        views, out = self._view(loop), {}
        for node, part in self.parts.items():
            out[f"val_loss/{node}"] = float(sums[node]["loss"]) / n
            for key, value in part.val_metrics(views[node], sums[node], n).items():
                out[f"{key}/{node}"] = value
        return out

    def batch_report(self, loop: Any, window: dict[str, float], running: dict[str, float],
                     rate: float) -> BatchReport:
        extra = {}
        for node, part in self.parts.items():
            for stat in part.stats:
                shown = "accuracy" if stat.name == "correct" else stat.name
                extra[f"{shown}/{node}"] = window[f"{stat.name}/{node}"]
        return BatchReport(loop.epoch + 1, loop.config.epochs, loop.step, loop.step_in_epoch,
                           len(loop.starts), loop.total_steps, window["loss"],
                           running["loss"], None, rate, loop.lr(), extra)

    def target_max(self, loop: Any) -> float | None:
        views = self._view(loop)
        found = [m for node, part in self.parts.items()
                 if (m := part.target_max(views[node])) is not None]
        return max(found) if found else None

    def begin_info(self, loop: Any) -> dict[str, Any]:
        return {"heads": {node: head.to_dict() for node, head in self.heads.items()}}

    def evaluate(self, trained: Any, data: Any) -> Any:
        """The first head's evaluation (its task's views, `views`), on its own targets; the
        model's first output is the one `probe.evaluations` reads of a tuple."""
        from dataclasses import replace as with_

        from .heads_data import Column, unpack

        node = next(iter(self.heads))
        col = Column.from_json(data.info["heads"][node])
        part = self.parts[node]
        y = part.targets_to_device(unpack(data.y, {node: col})[node])
        return part.evaluate(trained, with_(data, y=y, classes=list(col.classes)))

    def export(self, project: Project, fmt: str, out: Path, weights: Path | None) -> Any:
        if fmt not in self.export_formats:  # the torchrun script trains one loss on one y
            raise ExportError(f"a model with several heads does not export as {fmt} yet (its "
                              "training script trains one loss on one target): export "
                              + ", ".join(self.export_formats) + " instead", fmt=fmt)
        return super().export(project, fmt, out, weights)

    def export_note(self, project: Project) -> str:
        heads = "; ".join(f"output {i} = {node}: {head.task} on '{head.target}' (weight "
                          f"{head.weight:g})" for i, (node, head) in enumerate(self.heads.items()))
        return (f"Task: several outputs, returned as a tuple in this order: {heads}. The loss "
                f"is the weighted sum of the heads' losses; validation metrics "
                f"{', '.join(c for c in self.metric_columns if c.startswith('val_'))}.")


TASK = Heads
