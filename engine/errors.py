"""Typed errors: every mistake a person can make gets one, carrying where it happened.

The command line turns them into one line each and the GUI shows them on the node or in the
problems panel. An exception that is *not* a `TorchloomError` reaching the user is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Fix:
    """A machine-readable repair the GUI can offer as a one-click action.

    `action` is ``"insert"`` (put a `block` between `node`'s input `port` and whatever
    feeds it), ``"append"`` (put a `block` after `node`, taking over its outgoing wires),
    ``"remove"`` (delete `node`, wiring its input to its consumers), ``"set_param"`` (set
    `param` of `node` to `value`), ``"rewire"`` (the wire from `source`'s output
    `from_port` into `node`'s input `port` carries `source`'s output `value` instead; no
    `value` is the one output of most blocks): a wire whose output went away when its
    source's settings changed (a Split with fewer pieces), or ``"add_heads"`` (give each
    output node listed in `value` a head, `engine.heads`: a change of the project, not of
    the graph).
    """

    action: str
    node: str
    block: str | None = None
    port: str | None = None
    param: str | None = None
    value: Any = None
    source: str | None = None
    from_port: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class TorchloomError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def describe(self) -> str:
        """One line for a person; subclasses add where it happened (node, file, row)."""
        return self.message


# ---- graph errors: attached to a node --------------------------------------------------


class GraphError(TorchloomError):
    """A problem with one node of the graph (or with the graph as a whole when `node` is None).

    `severity` is ``"error"`` (the graph cannot compile) or ``"warning"`` (it can, but the
    person probably did not mean it, e.g. a block that is not wired to anything).
    """

    severity = "error"

    def __init__(
        self,
        message: str,
        node: str | None = None,
        block_type: str | None = None,
        fix: Fix | None = None,
        nodes: tuple[str, ...] = (),
        param: str | None = None,
        port: str | None = None,
    ) -> None:
        super().__init__(message)
        self.node = node
        self.block_type = block_type
        self.fix = fix
        self.nodes = nodes or ((node,) if node is not None else ())
        self.param = param
        self.port = port
        #: Which graph of a project with several (a GAN's "generator" or "discriminator");
        #: None for a classifier's one graph.
        self.graph: str | None = None

    def describe(self) -> str:
        """One line as the command line prints it: ``node <id> (<type>): <message>``, after
        ``<graph>: `` when the project has several graphs."""
        if self.node is None:
            return f"{self.graph or 'graph'}: {self.message}"
        where = f"{self.graph}: " if self.graph else ""
        return f"{where}node {self.node} ({self.block_type}): {self.message}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": self.node, "message": self.message}
        if self.graph is not None:
            out["graph"] = self.graph
        if self.block_type is not None:
            out["type"] = self.block_type
        if self.param is not None:
            out["param"] = self.param
        if self.fix is not None:
            out["fix"] = self.fix.to_dict()
        if self.severity != "error":
            out["severity"] = self.severity
        return out


class UnknownBlockError(GraphError):
    """The node's type is not in the catalogue."""


class ParamError(GraphError):
    """A parameter has the wrong type or is out of its declared range."""


class PortError(GraphError):
    """An edge names a port the block does not have, or an input is wired twice."""


class InputAlreadyConnected(PortError):
    """A single input port already has an edge; disconnect it first."""


class DanglingInputError(GraphError):
    """A required input port has nothing wired to it."""


class CycleError(GraphError):
    """The wiring loops back on itself; a feed-forward model cannot run."""


class MultipleOutputsError(GraphError):
    """More than one node has no outgoing edge, so the model output is ambiguous."""


class NoInputError(GraphError):
    """The graph has no Input block, or no output reachable from one."""


class DuplicateNodeError(GraphError):
    """Two nodes share an id."""


class MissingNodeError(GraphError):
    """An edit or an edge names a node id that is not in the graph."""


class ShapeError(GraphError):
    """The tensor arriving at a node does not fit it; measured on meta tensors."""


class CodeError(ShapeError):
    """A Code block's own Python failed (a syntax error, an exception when its file runs or
    in `forward`). `path` and `line` point into the person's file; the node carries it."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.path = path
        self.line = line

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update({"file": self.path, "line": self.line})
        return out


class OutputShapeWarning(GraphError):
    """The model's output is not one vector per sample, which a classifier needs."""

    severity = "warning"


class DisconnectedWarning(GraphError):
    """A block is on the canvas but wired to nothing; the model ignores it."""

    severity = "warning"


class CompileError(TorchloomError):
    """The graph has errors, so it cannot become a module. Carries them all."""

    def __init__(self, errors: list[GraphError]) -> None:
        lines = "; ".join(e.describe() for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"the graph has {len(errors)} error(s): {lines}{more}")
        self.errors = errors


# ---- file errors: attached to a file, and a place in it --------------------------------


class ProjectFileError(TorchloomError):
    """A project file cannot be read or does not have the project shape.

    `where` is a JSON path such as ``graph.nodes[3].id``; `line`/`column` are set for
    syntax errors.
    """

    def __init__(
        self,
        message: str,
        path: str | None = None,
        where: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.path = path
        self.where = where
        self.line = line
        self.column = column

    def describe(self) -> str:
        place = self.path or "<project>"
        if self.line is not None:
            place += f":{self.line}:{self.column}"
        where = f" at {self.where}" if self.where else ""
        return f"{place}: {self.message}{where}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.path, "message": self.message}
        for key in ("where", "line", "column"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class NewerVersionError(ProjectFileError):
    """The file was written by a newer Torchloom than this one."""


# ---- data and training -----------------------------------------------------------------


class DataError(TorchloomError):
    """A dataset cannot be used: a missing file, a bad cell, labels that are not classes.

    `path` names the file and `where` the place in it (``row 17``, ``key 'y'``,
    ``cats/003.png``).
    """

    def __init__(self, message: str, path: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.where = where

    def describe(self) -> str:
        place = f"{self.path}: " if self.path else ""
        where = f"{self.where}: " if self.where else ""
        return f"{place}{where}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.path:
            out["file"] = self.path
        if self.where:
            out["where"] = self.where
        return out


class TrainingError(TorchloomError):
    """Training stopped on its own: a loss that became NaN, out of memory, a device problem.

    `kind` is ``"nan"``, ``"oom"``, ``"device"``, ``"config"``, ``"io"`` (a checkpoint could
    not be written), ``"path"`` (the run folder cannot be written at all), ``"data"`` (a
    sample could not be read mid-run) or ``"runtime"``; `step`
    is the global step it happened at, when known.
    """

    def __init__(self, message: str, kind: str = "runtime", step: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.step = step


class TrainingFailedError(TrainingError):
    """A run that started and then failed (a NaN loss, out of memory), raised by the Python
    API's `train`: the loop's own error (`kind`, `step`, message) with the `run` attached,
    so its metrics so far and its last checkpoint are still at hand."""

    def __init__(self, error: TrainingError, run: Any) -> None:
        super().__init__(error.message, kind=error.kind, step=error.step)
        self.run = run


class ProbeError(TorchloomError):
    """Looking inside a model failed: a node that does not exist or has nothing to show, a
    run folder whose weights do not fit the graph, samples of the wrong shape."""

    def __init__(self, message: str, node: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.path = path

    def describe(self) -> str:
        place = f"{self.path}: " if self.path else ""
        node = f"node {self.node}: " if self.node else ""
        return f"{place}{node}{self.message}"


# ---- export and import -----------------------------------------------------------------


class ExportError(TorchloomError):
    """A model cannot be exported, or its export does not reproduce the model.

    `fmt` is the export format, `node` the block a format cannot express, `path` the file
    being written.
    """

    def __init__(self, message: str, fmt: str | None = None, node: str | None = None,
                 path: str | None = None) -> None:
        super().__init__(message)
        self.fmt = fmt
        self.node = node
        self.path = path

    def describe(self) -> str:
        fmt = f"{self.fmt} export: " if self.fmt else ""
        node = f"node {self.node}: " if self.node else ""
        place = f"{self.path}: " if self.path else ""
        return f"{place}{fmt}{node}{self.message}"


class ExportPathError(ExportError):
    """The output path itself is wrong: a folder where a file is expected (or the reverse),
    a folder that cannot be created or written, a name the export cannot use. Nothing about
    the model is wrong, so the command line calls it a bad argument (exit 2), not a failed
    export (exit 1)."""


class ModelImportError(TorchloomError):
    """A PyTorch module cannot be imported: the file does not run, the class is missing,
    the constructor arguments do not fit. `line` is set when the source has a syntax error."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line

    def describe(self) -> str:
        place = self.path or ""
        if place and self.line is not None:
            place += f":{self.line}"
        return f"{place}: {self.message}" if place else self.message


class CodeTrustError(TorchloomError):
    """A project's Code block refers to a Python file the person has not trusted (or that
    changed since they did). Code from a project runs only after an explicit trust step."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def describe(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SweepError(TorchloomError):
    """A sweep that cannot start: a `--param` range that is empty or out of its setting's
    range, a block or parameter that does not exist, an unknown metric. `setting` names what
    the person typed it for (``lr``, ``fc1.out_features``, ``--metric``, ``--trials``)."""

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting

    def describe(self) -> str:
        return f"{self.setting}: {self.message}" if self.setting else self.message
