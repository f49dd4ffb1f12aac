"""The Python API: the engine without the window, for notebooks and scripts.

    from torchloom.engine import api

    project = api.load("resources/examples/mlp_digits.json")
    print(api.summary(project))
    run = api.train(project, epochs=2, device="cpu")
    run.metrics                       # one dict per epoch, as --metrics-json writes them
    api.export(project, "onnx", "mlp.onnx", weights=run)
    api.probe(run, "fc1").data        # what node fc1 produced on the run's probe batch

Each function does what the command of the same name does (docs/cli.md), through the same
engine code, and raises the engine's typed errors (`engine.errors`) where the command would
print one line and exit. The API is a public contract like the command line, documented in
docs/api.md: it is only ever extended.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Union

from ..errors import (CompileError, ExportError, ExportPathError, ProbeError, TorchloomError,
                      TrainingFailedError)
from ..project import Project, load_project
from ..cli.output import say
from ..train.callbacks import Callback, EpochReport
from .project_summary import ProjectSummary, summarize_project
from .runs import Run

if TYPE_CHECKING:
    from torch import nn

    from ..export import ExportResult
    from ..probe.node_capture import NodeCapture

__all__ = ["NodeCapture", "ProjectSummary", "Run", "compile", "export", "load", "probe",
           "summary", "train"]

#: A project, or the path of its file.
ProjectLike = Union[Project, str, os.PathLike]
#: Where weights come from: a `Run`, a run folder or a ``.safetensors`` file.
WeightsLike = Union[Run, str, os.PathLike, None]


def load(path: str | os.PathLike[str]) -> Project:
    """Read a project file (raises `ProjectFileError` naming the file, line and key)."""
    return load_project(path)


def summary(project: ProjectLike) -> ProjectSummary:
    """Every node's output shape, parameters and FLOPs, the totals and every problem: what
    `torchloom summary` prints (``str()``) and its ``--json`` numbers (the fields)."""
    return summarize_project(_project(project))


def compile(project: ProjectLike, weights: WeightsLike = None) -> "nn.Module":  # noqa: A001
    """The project's model as a `torch.fx.GraphModule`, in eval mode on the CPU.

    The weights are `weights` (a `Run`, a run folder or a .safetensors file), else the
    project's initial weights, else the seeded initialisation training starts from. A
    project of two graphs (a GAN) gives one module holding ``.generator`` and
    ``.discriminator``, as its run folder's weights are keyed.

    Raises:
        CompileError: the graph has errors (all of them in `errors`).
        ExportError: the weights cannot be read or do not fit the graph.
    """
    project = _project(project)
    _refuse_graph_errors(project, settings_too=False)
    file = _weights_path(weights)
    if len(project.graphs()) > 1:
        from ..gan.export import gan_models
        from ..gan.pair import GanPair

        models, _ = gan_models(project, file, fmt=None)  # type: ignore[arg-type]
        return GanPair(models["generator"].module, models["discriminator"].module).eval()
    from ..export.model import prepare_model

    return prepare_model(project, file).module


def train(project: ProjectLike, *, callbacks: Iterable[Callback] = (),
          run_dir: str | os.PathLike[str] | None = None, resume: WeightsLike = None,
          init_from: str | os.PathLike[str] | None = None, verbose: bool = True,
          **overrides: Any) -> Run:
    """Train as `torchloom train` does and return the `Run`.

    Args:
        overrides: training settings replacing the project's (``epochs=1``, ``lr=3e-4``,
            ``device="cpu"``...): any name of `project.TRAINING_FIELDS`, and ``device``.
        callbacks: `engine.train.Callback` objects, called on the training thread.
        run_dir: the run folder; default ``runs/<timestamp>`` next to the project file
            (in the working folder for a project never saved).
        resume: a `Run` or run folder to continue (a warm start if the graph changed).
        init_from: pretrained weights to start a new run from, as ``torchloom train
            --init-from``: a ``.safetensors`` file or a torch state dict, matched to the
            blocks by name (its report is among the printed notes).
        verbose: print the start line and one line per epoch, as the command line does.

    Interrupting (Ctrl+C, a notebook's stop button) stops after the batch: the `Run` comes
    back ``"stopped"`` with a checkpoint that `resume` continues.

    Raises:
        TrainingError: an unknown setting (with a did-you-mean), a value out of range (the
            command line's words), a missing device, a run folder that cannot be written.
        CompileError, DataError, ProjectFileError: the graph, the data or the file.
        TrainingFailedError: the run started and failed (a NaN loss, out of memory); its
            `run` holds the metrics so far.
    """
    from ..tasks.prepare import prepare_training
    from ..train.config import check_setting_names
    from ..train.interrupt import stop_on_interrupt

    project = _project(project)
    check_setting_names(overrides)
    hooks = list(callbacks)
    for hook in hooks:
        if not isinstance(hook, Callback):
            raise TypeError(f"callbacks takes engine.train.Callback objects, not "
                            f"{type(hook).__name__}")
    printer = _EpochPrinter() if verbose else None
    resume_dir = _weights_path(resume)
    job = prepare_training(project, overrides=overrides,
                           out_dir=Path(run_dir) if run_dir is not None else None,
                           resume=resume_dir,
                           init_from=Path(init_from) if init_from is not None else None,
                           callbacks=[*hooks, *([printer] if printer else [])])
    task = job.trainer.task
    if printer is not None:
        printer.task = task
        say(task.describe_start(project, job.data(), job.trainer.device))  # type: ignore
        for note in job.notes:  # names files: escaped, as the command line prints them
            say(f"note: {note}")
        if job.run_dir is not None:
            say(f"run folder: {job.run_dir}")
    with stop_on_interrupt(job.trainer.stop, lambda text: say(text, sys.stderr)):
        result = job.run()
    run = Run(result, project.task, project)
    if result.status == "failed" and result.error is not None:
        raise TrainingFailedError(result.error, run)
    if printer is not None and result.early_stop is not None:
        from ..train.early_stop import describe

        say(describe(result.early_stop))
    return run


def export(project: ProjectLike, fmt: str, path: str | os.PathLike[str], *,
           weights: WeightsLike = None) -> "ExportResult":
    """Write the model as `fmt` (``python``, ``onnx``, ``pt2``, ``safetensors``,
    ``torchrun``) to `path` and verify it, as `torchloom export` does; the result lists
    the files, the checks' numbers and notes (such as the inputs' normalisation).

    Raises:
        CompileError: the graph has errors.
        ExportPathError: `path` cannot be used (a folder where the file goes...).
        ExportError: an unknown format, weights that do not fit, a block the format cannot
            express, or an export that does not reproduce the model (nothing is left).
    """
    from ..export import export_project
    from ..export.notes import add_run_notes

    project = _project(project)
    _refuse_graph_errors(project, settings_too=True)
    file = _weights_path(weights)
    if file is not None and not file.exists():
        raise ExportError("no such run folder or weights file", path=str(file))
    out = Path(path)
    if fmt in ("onnx", "pt2", "safetensors") and out.is_dir():
        raise ExportPathError("is a folder; give the file to write", path=str(out))
    result = export_project(project, fmt, out, weights=file)
    add_run_notes(result, file)
    return result


def probe(run: Run | str | os.PathLike[str], node: str, *, x: Any = None,
          samples: int | None = None, project: ProjectLike | None = None) -> "NodeCapture":
    """What `node` produced on the run's probe batch (or on `x`, raw samples ``[K, ...]``
    in the Input's shape, a tensor or a numpy array), as `torchloom probe` captures it.

    Returns a `NodeCapture`: `data` is the activation tensor ``[K, ...]`` (for an attention
    node its weights ``[K, heads, L, S]``), `kind` ``feature_maps``, ``attention`` or
    ``activations``, `x` the samples. `project` is the graph the run trained (default: the
    `Run`'s project, or the run folder's own ``project.json``).

    Raises:
        ProbeError: a node that does not exist or has no layer (the valid ones are listed),
            samples that do not fit the Input, a run whose weights do not fit, a GAN run.
        CompileError: the project's graph has errors.
    """
    import torch

    from ..probe.loaded import load_trained
    from ..probe.node_capture import capture_node
    from ..shapes import infer
    from ..tasks import task_class
    from ..train import checkpoint as ckpt

    run_dir = _weights_path(run)
    if run_dir is None or not run_dir.is_dir():
        raise ProbeError("no such run folder", path=str(run_dir))
    if project is not None:
        chosen = _project(project)
    elif isinstance(run, Run) and run.project is not None:
        chosen = run.project
    else:
        chosen = ckpt.read_project_copy(run_dir)
    if not task_class(chosen.task).probes:
        raise ProbeError(f"is a {chosen.task} run; probe looks inside one-network models "
                         "(draw a GAN's samples with `torchloom sample`)", path=str(run_dir))
    errors = infer(chosen.graph).errors
    if errors:
        raise CompileError(errors)
    trained = load_trained(run_dir, chosen)
    samples_x = None if x is None else torch.as_tensor(x)
    return capture_node(trained, node, x=samples_x, samples=samples, source="x")


class _EpochPrinter(Callback):
    """One line per epoch, worded by the task, as `torchloom train` prints it."""

    task: Any = None

    def on_epoch_end(self, report: EpochReport) -> None:
        say(self.task.epoch_line(report))
        if report.extra.get("warning"):
            say(f"warning: {report.extra['warning']}")


def _project(project: ProjectLike) -> Project:
    if isinstance(project, Project):
        return project
    if isinstance(project, (str, os.PathLike)):
        return load_project(project)
    raise TypeError(f"expected a Project or the path of a project file, not "
                    f"{type(project).__name__}")


def _weights_path(weights: WeightsLike) -> Path | None:
    if weights is None:
        return None
    if isinstance(weights, Run):
        if weights.run_dir is None:
            raise TorchloomError("that run was not saved to a folder")
        return Path(weights.run_dir)
    return Path(weights)


def _refuse_graph_errors(project: Project, settings_too: bool) -> None:
    """Raise `CompileError` with the graph's errors as the task checks them. Problems of
    the file outside the graph (a dataset name) stop an export, as in `torchloom export`,
    but not `compile`, which needs no data."""
    from ..project_checks import SettingProblem
    from ..tasks import task_for

    errors = [e for e in task_for(project).analyze(project).errors
              if settings_too or not isinstance(e, SettingProblem)]
    if errors:
        raise CompileError(errors)


def __getattr__(name: str) -> Any:
    if name == "NodeCapture":  # torch loads only when a capture is asked for
        from ..probe.node_capture import NodeCapture

        return NodeCapture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
