"""What a sweep varies: ``--param`` specs read against the declarations they name.

A spec is ``name=low:high``, ``name=low:high:log`` or ``name=a,b,c``. `name` is a training
setting (``lr``, declared in `project.TRAINING_FIELDS`) or a block parameter
(``fc1.out_features``, declared by the block). Whether a range is of whole numbers or of
floats, and which values are allowed at all, comes from that declaration, so a sweep can
never try a value the project file would refuse.
"""

from __future__ import annotations

import copy as copy_module
import difflib
from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import SweepError
from ..params import Bool, Choice, Float, Int, Ints, Param, ParamValueError
from ..project import TRAINING_FIELDS, Project, project_from_dict, project_to_dict

__all__ = ["SweepParam", "apply_values", "format_value", "parse_param", "parse_space",
           "sweepable_settings"]


@dataclass(frozen=True)
class SweepParam:
    """One swept name: a range (`low`..`high`, `log` spaced) or a list of `choices`."""

    name: str
    decl: Param
    kind: str  # "float", "int" or "choice"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    #: the node of a block parameter (None for a training setting)
    node: str | None = None

    @property
    def key(self) -> str:
        """The setting's or the block parameter's own name (``out_features``)."""
        return self.name.rsplit(".", 1)[-1] if self.node is not None else self.name

    def suggest(self, trial: Any) -> Any:
        """The trial's value, asked of Optuna (`trial` is an `optuna.Trial`)."""
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, log=self.log)
        if self.kind == "int":
            return trial.suggest_int(self.name, self.low, self.high, log=self.log)
        return trial.suggest_categorical(self.name, list(self.choices))

    def spec(self) -> str:
        """The text form, as ``--param`` takes it (the GUI's rows read back to this)."""
        if self.kind == "choice":
            return f"{self.name}=" + ",".join(format_value(c) for c in self.choices)
        text = f"{self.name}={format_value(self.low)}:{format_value(self.high)}"
        return text + (":log" if self.log else "")


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def sweepable_settings(project: Project) -> list[str]:
    """The training settings this project's task reads that a sweep can vary."""
    from ..tasks import task_for

    task = task_for(project)
    return [name for name in task.settings()
            if _kind_of(task.setting(name)) is not None]


def _kind_of(decl: Param) -> str | None:
    if isinstance(decl, Float):
        return "float"
    if isinstance(decl, (Int, Ints)):
        return "int"
    if isinstance(decl, (Choice, Bool)):
        return "choice"
    return None


def parse_space(specs: Sequence[str], project: Project) -> list[SweepParam]:
    """Every ``--param`` spec, each named at most once."""
    out: list[SweepParam] = []
    for text in specs:
        param = parse_param(text, project)
        if any(p.name == param.name for p in out):
            raise SweepError("is given twice: give each name one --param", param.name)
        out.append(param)
    if not out:
        raise SweepError("nothing to sweep: give at least one, such as --param "
                         "lr=1e-4:1e-1:log", "--param")
    return out


def parse_param(text: str, project: Project) -> SweepParam:
    """One spec; a `SweepError` naming the setting says what is wrong with it."""
    name, eq, values = text.partition("=")
    name, values = name.strip(), values.strip()
    if not eq or not name or not values:
        raise SweepError(f"{text!r} is not a sweep range: write name=low:high, "
                         "name=low:high:log or name=a,b,c", "--param")
    decl, node = _declaration(name, project)
    kind = _kind_of(decl)
    if kind is None:
        raise SweepError(f"cannot be swept (it is {decl.expects()})", name)
    if ":" in values:
        if "," in values:
            raise SweepError("a range (low:high) or a list (a,b,c), not both", name)
        return _parse_range(name, values, decl, kind, node)
    choices = tuple(_value(name, part.strip(), decl) for part in values.split(","))
    if len(set(map(repr, choices))) != len(choices):
        raise SweepError("lists a value twice", name)
    return SweepParam(name, decl, "choice", choices=choices, node=node)


def _declaration(name: str, project: Project) -> tuple[Param, str | None]:
    from ..tasks import task_for

    if "." not in name:
        task = task_for(project)
        if name in TRAINING_FIELDS:
            if not task.uses(name):
                raise SweepError(f"the {project.task} task does not use this setting", name)
            return task.setting(name), None
        hint = _did_you_mean(name, sweepable_settings(project))
        raise SweepError(f"is not a training setting{hint}; a block parameter is written "
                         "<block id>.<param>, such as fc1.out_features", name)
    node_id, param = name.rsplit(".", 1)
    nodes = {n.id: n for graph in project.graphs().values() for n in graph.nodes}
    if node_id not in nodes:
        hint = _did_you_mean(node_id, list(nodes))
        raise SweepError(f"the graph has no block '{node_id}'{hint}", name)
    block = nodes[node_id].block
    if block is None:
        raise SweepError(f"block '{node_id}' has the unknown type '{nodes[node_id].type}'",
                         name)
    if param not in block.params:
        names = list(block.params)
        hint = _did_you_mean(param, names)
        has = f" (it has {', '.join(names)})" if names else " (it has no parameters)"
        raise SweepError(f"a {nodes[node_id].type} block has no parameter '{param}'{hint}{has}",
                         name)
    return block.params[param], node_id


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _parse_range(name: str, values: str, decl: Param, kind: str,
                 node: str | None) -> SweepParam:
    parts = [p.strip() for p in values.split(":")]
    log = len(parts) == 3 and parts[2] == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise SweepError(f"{values!r} is not a range: write low:high or low:high:log", name)
    if kind == "choice":
        raise SweepError(f"takes a list of values, not a range ({decl.expects()})", name)
    low, high = (_number(name, parts[0], kind), _number(name, parts[1], kind))
    if low > high:
        raise SweepError(f"the range is empty: low {format_value(low)} is above high "
                         f"{format_value(high)}", name)
    if log and low <= 0:
        raise SweepError(f"a log range needs low above 0 (got {format_value(low)}): "
                         f"use a plain range {parts[0]}:{parts[1]}", name)
    for bound in (low, high):
        _check(name, bound, decl)
    return SweepParam(name, decl, kind, low=low, high=high, log=log, node=node)


def _number(name: str, text: str, kind: str) -> float | int:
    try:
        if kind == "int":
            return int(text)
        return float(text)
    except ValueError:
        word = "a whole number" if kind == "int" else "a number"
        raise SweepError(f"{text!r} is not {word}", name) from None


def _value(name: str, text: str, decl: Param) -> Any:
    if isinstance(decl, Bool):
        if text.lower() not in ("true", "false"):
            raise SweepError(f"{text!r} is not true or false", name)
        value: Any = text.lower() == "true"
    elif isinstance(decl, Choice):
        value = text
    else:
        value = _number(name, text, _kind_of(decl) or "float")
    return _check(name, value, decl)


def _check(name: str, value: Any, decl: Param) -> Any:
    try:
        decl.validate(value)
    except ParamValueError as exc:
        raise SweepError(str(exc), name) from None
    return value


def apply_values(project: Project, space: Sequence[SweepParam],
                 values: dict[str, Any]) -> Project:
    """A copy of `project` with a trial's values in it; the project itself is untouched.
    The copy keeps the file's path, so its data and its runs folder are the project's."""
    copy = project_from_dict(copy_module.deepcopy(project_to_dict(project)))
    copy.path = project.path
    for graph in copy.graphs().values():
        graph.base_dir = project.graph.base_dir if project.path is None else \
            project.path.parent.resolve()
    graphs = list(copy.graphs().values())
    for param in space:
        value = values[param.name]
        if param.node is None:
            copy.training[param.name] = value
            continue
        for graph in graphs:
            if param.node in graph:
                graph.node(param.node).params[param.key] = value
    return copy
