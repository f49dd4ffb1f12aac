"""Project files: versioned JSON that people, scripts and other tools read and write.

The format is a public contract, documented in ``docs/project-format.md``. Reading checks
the *shape* of the file (a broken file is a `ProjectFileError` naming the place); problems
of the *model* (an unknown block, a parameter out of range) load into the graph and are
reported on the node, so an unfinished project still opens. Nothing in a file is executed.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .block_training import NODE_TRAINING, check_node_training, node_training_json
from .errors import NewerVersionError, ProjectFileError
from .safe_read import FileTooBigError, NotAFileError, read_limited
from .fileio import atomic_write_text
from .gcpause import gc_paused
from .graph import Edge, Graph, Node
from .jsontree import check_tree
from .params import (Bool, Choice, Float, Int, JsonObject, Param, ParamValueError, Text,
                     is_number, params_to_json, validate_params)

FORMAT = "torchloom-project"
VERSION = 1
GAN_GRAPHS = ("generator", "discriminator")


@dataclass(frozen=True)
class TaskFormat:
    """What a project file means for one task: the graphs it holds, the losses it may name
    and the training defaults that differ from `TRAINING_FIELDS`. The task's behaviour (its
    loss, metrics, views) is its plug-in, ``engine/tasks/<name>.py``; this is only what
    reading and writing a file needs, so the file format does not depend on the tasks."""

    graphs: tuple[str, ...] = ("graph",)
    losses: tuple[str, ...] = ("cross_entropy",)
    defaults: dict[str, Any] = field(default_factory=dict)


#: The tasks a project may name in its top-level ``"task"`` key; ``"classify"`` when absent.
#: Each has a plug-in of the same name in ``engine/tasks/``.
TASKS: dict[str, TaskFormat] = {
    "classify": TaskFormat(),
    "regress": TaskFormat(losses=("mse", "l1", "huber"), defaults={"loss": "mse"}),
    "multilabel": TaskFormat(losses=("bce",), defaults={"loss": "bce"}),
    "segment": TaskFormat(),
    "autoencode": TaskFormat(losses=("mse", "bce"), defaults={"loss": "mse"}),
    "gan": TaskFormat(graphs=GAN_GRAPHS, losses=(), defaults={"lr": 0.0002}),
    "language_model": TaskFormat(defaults={"lr": 0.001}),
}
DEFAULT_TASK = "classify"


@dataclass(frozen=True)
class FloatPair(Param):
    """Two numbers in [min, max), such as Adam's betas."""

    min: float = 0.0
    max: float = 1.0
    kind: str = field(default="floats", init=False)

    def check(self, value: Any) -> tuple[float, float]:
        if (isinstance(value, (list, tuple)) and len(value) == 2
                and all(is_number(v) and self.min <= v < self.max for v in value)):
            return (float(value[0]), float(value[1]))
        raise self.fail(value)

    def expects(self) -> str:
        return f"a list of two numbers >= {self.min} and < {self.max}"
#: The endings of a weights file: safetensors, or a torch state dict read weights_only.
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
#: Project files are small; anything bigger is refused before it is parsed.
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ID_LENGTH = 200
#: The most nodes one project file may hold, its graphs and its units' graphs together
#: (documented in docs/project-format.md). Load, shape inference and check grow linearly
#: (bench/graph_growth.py), so this bounds them to seconds; a file above it is refused
#: right after parsing, before any node is built, naming the limit.
MAX_NODES = 100_000

#: Training settings known to this version. Unknown keys are kept as they are.
TRAINING_FIELDS: dict[str, Param] = {
    "epochs": Int(3, "Passes over the training split.", min=1, max=100_000),
    "batch_size": Int(64, "Samples per optimisation step.", min=1, max=1 << 20),
    "optimizer": Choice("adam", "Optimisation algorithm.", choices=("adam", "adamw", "sgd")),
    "lr": Float(0.001, "Learning rate.", min=0.0, min_open=True, max=10.0),
    "weight_decay": Float(0.0, "L2 penalty (decoupled for adamw).", min=0.0, max=1.0),
    "momentum": Float(0.9, "Momentum, for sgd only.", min=0.0, max=1.0, max_open=True),
    "schedule": Choice("constant", "Learning-rate schedule: constant; cosine (to zero over the "
                       "run); step (times gamma every step_size epochs); warmup_cosine "
                       "(warmup_steps up, then cosine); onecycle (up to max_lr and down); "
                       "plateau (times gamma when the validation loss stalls for "
                       "plateau_patience epochs).",
                       choices=("constant", "cosine", "step", "warmup_cosine", "onecycle",
                                "plateau")),
    "step_size": Int(10, "Epochs between two cuts of the step schedule.", min=1, max=10**6),
    "gamma": Float(0.1, "Factor of each cut (step and plateau schedules).", min=0.0,
                   min_open=True, max=1.0),
    "warmup_steps": Int(100, "Steps of linear warm-up (warmup_cosine schedule).", min=1,
                        max=10**9),
    "max_lr": Float(0.01, "Peak learning rate (onecycle schedule).", min=0.0, min_open=True,
                    max=10.0),
    "plateau_patience": Int(2, "Epochs without a better validation loss before the plateau "
                            "schedule cuts the rate.", min=0, max=1000),
    "loss": Choice("cross_entropy", "Loss function; each task takes its own (classify and "
                   "segment: cross_entropy; regress: mse, l1 or huber; multilabel: bce; "
                   "autoencode: mse or bce).",
                   choices=("cross_entropy", "mse", "l1", "huber", "bce")),
    "val_split": Float(0.2, "Fraction of the data held out for validation.", min=0.0, max=1.0,
                       max_open=True),
    "seed": Int(0, "Seeds weights, the split and shuffling.", min=0, max=2**63 - 1),
    "amp": Choice("off", "Mixed precision: bf16 (CPU or GPU) or fp16 (GPU only).",
                  choices=("off", "bf16", "fp16")),
    "clip_grad_norm": Float(0.0, "Clip the gradients' total norm to this before each step "
                            "(0: no clipping).", min=0.0, max=1e6),
    "early_stopping": JsonObject({}, "Stop when a metric stops improving, e.g. {\"metric\": "
                                 "\"val_loss\", \"mode\": \"min\", \"patience\": 3, "
                                 "\"min_delta\": 0.0}; {} for no early stopping."),
    "keep": Choice("last", "Which weights a run keeps: last (those of its last epoch), or best "
                   "(also those of the epoch best by keep_metric, in best/ inside the run "
                   "folder; export, probe, Evaluate and generate then use those).",
                   choices=("last", "best")),
    "keep_metric": Text("val_loss", "The metric that picks the best epoch when keep is best: "
                        "lowest for losses, highest for accuracies, R², F1 and mIoU.",
                        max_length=100),
    "accumulate": Int(1, "Batches per optimisation step: their gradients add up (each loss "
                      "divided by this) before one step, as one batch this many times "
                      "bigger; schedules count these steps (not used by the GAN task).",
                      min=1, max=10_000),
    "stats_every": Int(50, "Record per-layer weight and gradient statistics (stats.jsonl in "
                       "the run folder) every this many steps and at each epoch's end "
                       "(0: off).", min=0, max=10**9),
    "tensorboard": Bool(False, "Also write TensorBoard event files (scalars, weight and "
                        "gradient histograms, the graph) into the run folder's tensorboard/ "
                        "folder; needs pip install torchloom[tensorboard]."),
    # GAN only (the other tasks ignore them):
    "betas": FloatPair((0.5, 0.999), "Adam's betas for both GAN optimizers."),
    "d_steps": Int(1, "Discriminator updates per generator update (GAN).", min=1, max=100),
    "label_smoothing": Float(0.0, "One-sided label smoothing: real targets are 1 - this (GAN).",
                             min=0.0, max=0.5),
}
#: `device` is free text ("auto", "cpu", "cuda:1"), checked when training starts.
DEFAULT_DEVICE = "auto"
#: The name of a project nobody named yet; its first save names it after the file.
UNTITLED = "Untitled"

#: Migrations from version k to k + 1, applied in order to the parsed JSON.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class Project:
    """A model, its data choice and its training settings, as one file holds them."""

    graph: Graph = field(default_factory=Graph)
    name: str = UNTITLED
    dataset: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    graph_extra: dict[str, Any] = field(default_factory=dict)
    #: Initial weights: a safetensors file or a torch state dict (`WEIGHT_SUFFIXES`) next to
    #: the project (relative path) or anywhere (absolute), keyed like a run folder's
    #: ``model.safetensors``. An import carries a module's weights this way, and "Start from
    #: pretrained weights" names a file here (`train.pretrained`).
    weights: str | None = None
    #: The task's name, a key of `TASKS` (``"classify"``, the default, is never written).
    task: str = DEFAULT_TASK
    #: A GAN's two graphs (None for other tasks); `graph` then stays empty and unsaved.
    generator: Graph | None = None
    discriminator: Graph | None = None
    #: Unknown keys of each GAN graph object, written back on save.
    gan_graph_extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Unit definitions (`engine.units.Units`): sub-graphs that ``unit:<Name>`` nodes use.
    units: Any = None
    #: A model with several outputs: output node id -> its `heads.Head`, in output order
    #: (``"heads"``); {} for one output.
    heads: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.link_units()
        if "generator" in TASKS[self.task].graphs:
            self.generator = self.generator if self.generator is not None else Graph()
            self.discriminator = (self.discriminator if self.discriminator is not None
                                  else Graph())

    def link_units(self) -> None:
        """Let every graph's ``unit:<Name>`` nodes find `units`; call after replacing a graph."""
        from .units.model import Units

        if self.units is None:
            self.units = Units()
        for graph in (self.graph, self.generator, self.discriminator):
            if graph is not None:
                graph.units = self.units
        self.graph.heads = tuple(self.heads)

    def set_heads(self, heads: dict[str, Any]) -> None:
        """Give the outputs heads (`engine.heads`; {} for one output), telling the graph."""
        self.heads = dict(heads)
        self.graph.heads = tuple(self.heads)

    def graphs(self) -> dict[str, Graph]:
        """Every graph of the project by its file key, in the task's order: ``{"graph": g}``
        for most tasks, ``{"generator": g, "discriminator": d}`` for a GAN."""
        held = {"graph": self.graph, "generator": self.generator,
                "discriminator": self.discriminator}
        out = {key: held[key] for key in TASKS[self.task].graphs}
        assert all(g is not None for g in out.values())
        return out  # type: ignore[return-value]

    def weights_path(self) -> Path | None:
        """Where the initial weights are, resolved against the project's folder."""
        if not self.weights:
            return None
        path = Path(self.weights)
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return path

    def training_config(self) -> dict[str, Any]:
        """The training settings with defaults filled in (the task's own defaults first)."""
        out: dict[str, Any] = {name: decl.default for name, decl in TRAINING_FIELDS.items()}
        out.update(TASKS[self.task].defaults)
        out["device"] = DEFAULT_DEVICE
        out.update(self.training)
        return out


# ---- reading ---------------------------------------------------------------------------


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read a project file. Raises `ProjectFileError` with the file (and line) in it."""
    shown = str(path)
    p = Path(path)
    try:
        raw = read_limited(p, MAX_FILE_BYTES)
    except NotAFileError as exc:
        raise ProjectFileError(f"is {exc.kind}, not a project file", path=shown) from None
    except FileTooBigError as exc:
        raise ProjectFileError(f"is {exc.size / 2**20:.0f} MiB or more; a project file is at "
                               f"most {MAX_FILE_BYTES // 2**20} MiB", path=shown) from None
    except FileNotFoundError:
        raise ProjectFileError("no such file", path=shown) from None
    except PermissionError:
        raise ProjectFileError("permission denied", path=shown) from None
    except OSError as exc:
        raise ProjectFileError(f"cannot be read: {exc.strerror or exc}", path=shown) from None
    project = loads_project(raw, path=shown)
    project.path = p
    for graph in (project.graph, *project.graphs().values()):
        graph.base_dir = p.parent.resolve()
    return project


def loads_project(data: str | bytes, path: str | None = None) -> Project:
    """Parse project JSON from text or bytes (`path` is only used in messages)."""
    with gc_paused():  # a big file is many objects and no garbage (engine/gcpause.py)
        return _loads_project(data, path)


def _loads_project(data: str | bytes, path: str | None) -> Project:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProjectFileError("is not a text file (a project file is UTF-8 JSON)",
                                   path=path) from None
    else:
        text = data
    if not text.strip():
        raise ProjectFileError("is empty", path=path)
    try:
        parsed = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        body = text.rstrip()
        ended = exc.pos >= len(body) or not body.endswith(("}", "]"))
        reason = f"the file ends too early (truncated?): {exc.msg}" if ended else exc.msg
        raise ProjectFileError(f"not valid JSON: {reason}", path=path, line=exc.lineno,
                               column=exc.colno) from None
    except RecursionError:
        raise ProjectFileError("not a project: its JSON is nested too deeply", path=path) from None
    except ValueError as exc:  # NaN/Infinity, or integers too long to convert
        raise ProjectFileError(f"not valid JSON: {exc}", path=path) from None
    check_node_count(parsed, path)
    check_tree(parsed, text, path)
    return project_from_dict(parsed, path=path)


def check_node_count(data: Any, path: str | None = None) -> None:
    """Refuse a file holding more than `MAX_NODES` nodes, before anything is built from it.

    Counts the ``nodes`` lists of every graph the file may hold (``graph``, a GAN's two,
    each unit's) without looking inside them; malformed parts count zero and are reported
    by the reader as usual.
    """
    if not isinstance(data, dict):
        return
    graphs = [data.get(key) for key in ("graph", *GAN_GRAPHS)]
    units = data.get("units")
    if isinstance(units, dict):
        graphs += list(units.values())
    counts = [(len(g["nodes"]), key) for g, key in zip(graphs, _graph_keys(data, units))
              if isinstance(g, dict) and isinstance(g.get("nodes"), list)]
    total = sum(n for n, _key in counts)
    if total > MAX_NODES:
        largest = max(counts)[1]
        raise ProjectFileError(
            f"holds {total:,} nodes; a project holds at most {MAX_NODES:,} (all graphs and "
            "units together): split the model into several projects, or group repeated "
            "blocks into a unit with repeat", path=path, where=f"{largest}.nodes")


def _graph_keys(data: dict[str, Any], units: Any) -> list[str]:
    keys = ["graph", *GAN_GRAPHS]
    return keys + ([f"units.{name}" for name in units] if isinstance(units, dict) else [])


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    """A JSON number; one beyond float range (1e400) would become infinity, which the file
    could then not be saved as, so it is refused like ``Infinity`` itself."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


class _Reader:
    """Checks the shape of parsed JSON and raises errors that say where."""

    def __init__(self, path: str | None) -> None:
        self.path = path

    def fail(self, message: str, where: str) -> ProjectFileError:
        return ProjectFileError(message, path=self.path, where=where)

    def obj(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"expected an object {{...}}, got {_kind(value)}", where)
        return value

    def lst(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(f"expected a list [...], got {_kind(value)}", where)
        return value

    def string(self, value: Any, where: str, limit: int = 10_000) -> str:
        if not isinstance(value, str):
            raise self.fail(f"expected a string, got {_kind(value)}", where)
        if len(value) > limit:
            raise self.fail(f"is {len(value)} characters long; at most {limit} are allowed",
                            where)
        return value


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true/false",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def project_from_dict(data: Any, path: str | None = None) -> Project:
    """Build a project from parsed JSON, migrating older versions."""
    r = _Reader(path)
    data = r.obj(data, "the top level")
    check_node_count(data, path)
    if data.get("format") != FORMAT:
        raise r.fail(f'not a Torchloom project: "format" must be "{FORMAT}"', "format")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise r.fail("\"version\" must be a whole number >= 1", "version")
    if version > VERSION:
        raise NewerVersionError(
            f"made by a newer Torchloom (file format version {version}; this Torchloom reads "
            f"up to version {VERSION}): update Torchloom to open it", path=path)
    for v in range(version, VERSION):
        data = MIGRATIONS[v](data)
    known = {"format", "version", "name", "graph", "dataset", "training", "weights", "task",
             "recipe", "units", "heads"}
    name = r.string(data.get("name", _default_name(path)), "name", limit=500)
    task = _read_task(data, r)
    gan: dict[str, Graph] = {}
    gan_extra: dict[str, dict[str, Any]] = {}
    graph, graph_extra = Graph(), {}
    holds = TASKS[task].graphs
    if holds != ("graph",):
        if "graph" in data:
            raise r.fail(f"a {task} project has " + " and ".join(f'"{k}"' for k in holds)
                         + ' graphs, not "graph"', "graph")
        known |= set(holds)
        for key in holds:
            gan[key], gan_extra[key] = graph_from_dict(data.get(key, {}), r, key)
    else:
        graph, graph_extra = graph_from_dict(data.get("graph", {}), r, "graph")
    units = None
    if "units" in data:
        from .units.fileformat import units_from_dict

        units = units_from_dict(data["units"], r)
    dataset = data.get("dataset")
    if dataset is not None:
        dataset = r.obj(dataset, "dataset")
    training = r.obj(data.get("training", {}), "training")
    _check_training(training, r, task)
    weights = data.get("weights")
    if weights is not None:
        weights = r.string(weights, "weights", limit=1000)
        if not weights.lower().endswith(WEIGHT_SUFFIXES):
            raise r.fail("weights must name a weights file (" + ", ".join(WEIGHT_SUFFIXES)
                         + ") next to the project", "weights")
    heads: dict[str, Any] = {}
    if "heads" in data:  # a model with several outputs (`engine.heads`)
        from .heads import project_heads

        heads = project_heads(data, graph, TASKS[task].graphs != ("graph",), path)
    extra = {k: v for k, v in data.items() if k not in known}
    return Project(graph=graph, name=name, dataset=dataset, training=training, extra=extra,
                   heads=heads, graph_extra=graph_extra, weights=weights, task=task,
                   generator=gan.get("generator"), discriminator=gan.get("discriminator"),
                   gan_graph_extra=gan_extra, units=units)


def _default_name(path: str | None) -> str:
    return Path(path).stem if path else UNTITLED


def task_of(data: Any) -> str:
    """The task a parsed project file names, by the same rules as reading it, for a quick
    look at a file without loading it (the start page's example cards); an unknown or
    malformed task is the default here, and an error only when the file is opened."""
    try:
        return _read_task(data, _Reader(None)) if isinstance(data, dict) else DEFAULT_TASK
    except ProjectFileError:
        return DEFAULT_TASK


def _read_task(data: dict[str, Any], r: _Reader) -> str:
    """The top-level ``"task"``. Files from before it: ``"recipe": "gan"`` is the GAN task,
    and a classifier-shaped file training with ``"loss": "mse"`` is a regression."""
    if "task" in data:
        task = r.string(data["task"], "task", limit=100)
        if task not in TASKS:
            raise r.fail(f"unknown task '{task[:40]}': use one of " + ", ".join(
                f'"{k}"' for k in TASKS), "task")
        return task
    if "recipe" in data:
        recipe = r.string(data["recipe"], "recipe", limit=100)
        if recipe not in ("classifier", "gan"):
            raise r.fail(f'unknown recipe \'{recipe[:40]}\': use "gan", or name the task with '
                         '"task": one of ' + ", ".join(f'"{k}"' for k in TASKS), "recipe")
        if recipe == "gan":
            return "gan"
    training = data.get("training")
    if isinstance(training, dict) and training.get("loss") == "mse":
        return "regress"
    return DEFAULT_TASK


def _check_training(training: dict[str, Any], r: _Reader, task: str) -> None:
    for key, decl in TRAINING_FIELDS.items():
        if key in training:
            try:
                decl.validate(training[key])
            except ParamValueError as exc:
                raise r.fail(f"{key} {exc}", f"training.{key}") from None
    losses = TASKS[task].losses
    if "loss" in training and losses and training["loss"] not in losses:
        owner = next((name for name, fmt in TASKS.items() if training["loss"] in fmt.losses),
                     None)
        fix = f'; {training["loss"]} is a {owner} loss: set "task": "{owner}"' if owner else ""
        raise r.fail(f"loss {training['loss']} is not one the {task} task takes (use "
                     + " or ".join(losses) + f"){fix}", "training.loss")
    if "device" in training and not isinstance(training["device"], str):
        raise r.fail("device must be a string such as \"auto\", \"cpu\" or \"cuda:0\"",
                     "training.device")


def graph_from_dict(data: Any, r: _Reader | None = None,
                    where: str = "graph") -> tuple[Graph, dict[str, Any]]:
    """Read the ``{"nodes": [...], "edges": [...]}`` shape into a graph.

    Returns the graph and the unknown keys of the graph object, to be written back on save.
    """
    r = r or _Reader(None)
    data = r.obj(data, where)
    graph = Graph()
    for i, raw in enumerate(r.lst(data.get("nodes", []), f"{where}.nodes")):
        at = f"{where}.nodes[{i}]"
        raw = r.obj(raw, at)
        node_id = r.string(raw.get("id"), f"{at}.id", limit=MAX_ID_LENGTH)
        if not node_id.strip():
            raise r.fail("a node id must not be empty", f"{at}.id")
        if node_id in graph:
            raise r.fail(f"two nodes have the id '{node_id}': ids must be unique", f"{at}.id")
        type_name = r.string(raw.get("type"), f"{at}.type", limit=200)
        params = r.obj(raw.get("params", {}), f"{at}.params")
        pos = raw.get("pos")
        if pos is not None:
            if not (isinstance(pos, list) and len(pos) == 2
                    and all(is_number(v) and abs(v) < 1e9 for v in pos)):
                raise r.fail("pos must be [x, y], two numbers", f"{at}.pos")
            pos = (float(pos[0]), float(pos[1]))
        extra = {k: v for k, v in raw.items() if k not in NODE_KEYS}
        training = _node_training(raw, r, at)
        graph.insert_node(Node(node_id, type_name, dict(params), pos, extra, **training))
    for i, raw in enumerate(r.lst(data.get("edges", []), f"{where}.edges")):
        at = f"{where}.edges[{i}]"
        raw = r.obj(raw, at)
        src = r.string(raw.get("from"), f"{at}.from", limit=MAX_ID_LENGTH)
        dst = r.string(raw.get("to"), f"{at}.to", limit=MAX_ID_LENGTH)
        for key, end in (("from", src), ("to", dst)):
            if end not in graph:
                raise r.fail(f"names node '{end}', which is not in the graph", f"{at}.{key}")
        port = raw.get("to_port")
        if port is not None:
            port = r.string(port, f"{at}.to_port", limit=200)
        from_port = raw.get("from_port")  # which output of a block with several (Split)
        if from_port is not None:
            from_port = r.string(from_port, f"{at}.from_port", limit=200)
        extra = {k: v for k, v in raw.items() if k not in EDGE_KEYS}
        graph.insert_edge(Edge(src, dst, port, extra, from_port))
    graph.renamed = _renames(data.get("renamed", []), r, f"{where}.renamed")
    return graph, {k: v for k, v in data.items() if k not in ("nodes", "edges", "renamed")}


#: The keys of a node in a file; any other key is kept as it is (`Node.extra`).
NODE_KEYS = ("id", "type", "params", "pos", *NODE_TRAINING)


def _node_training(raw: dict[str, Any], r: _Reader, where: str) -> dict[str, Any]:
    """A node's ``trainable`` and ``lr_scale`` (`engine.block_training`), checked; files
    from before them have neither, and their nodes train as they always did."""
    out = {}
    for key in NODE_TRAINING:
        if key in raw:
            try:
                out[key] = check_node_training(key, raw[key])
            except ParamValueError as exc:
                raise r.fail(f"{key} {exc}", f"{where}.{key}") from None
    return out


def _renames(data: Any, r: _Reader, where: str) -> list[tuple[str, str]]:
    """The graph's rename log: ``[{"from": old id, "to": new id}, ...]``, oldest first."""
    out = []
    for i, raw in enumerate(r.lst(data, where)):
        raw = r.obj(raw, f"{where}[{i}]")
        out.append((r.string(raw.get("from"), f"{where}[{i}].from", limit=MAX_ID_LENGTH),
                    r.string(raw.get("to"), f"{where}[{i}].to", limit=MAX_ID_LENGTH)))
    return out


# ---- writing ---------------------------------------------------------------------------


def node_to_dict(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node.id, "type": node.type}
    block = node.block
    params = node.params
    if block is not None:
        resolved, problems = validate_params(block.params, node.params)
        if not problems:  # a valid node is written in full; a broken one exactly as it was
            params = params_to_json(block.params, resolved)
    if params:
        out["params"] = params
    out.update(node_training_json(node))  # only what differs from the default
    if node.pos is not None:
        out["pos"] = [round(node.pos[0], 1), round(node.pos[1], 1)]
    out.update(node.extra)
    return out


#: The keys of an edge in a file; any other key is kept as it is (`Edge.extra`).
EDGE_KEYS = ("from", "from_port", "to", "to_port")


def edge_to_dict(edge: Edge) -> dict[str, Any]:
    """An edge as a file writes it. ``from_port`` and ``to_port`` only when they are set,
    so a graph without multi-output blocks is written as before, byte for byte."""
    out: dict[str, Any] = {"from": edge.src}
    if edge.from_port is not None:
        out["from_port"] = edge.from_port
    out["to"] = edge.dst
    if edge.port is not None:
        out["to_port"] = edge.port
    out.update(edge.extra)
    return out


def graph_to_dict(graph: Graph, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"nodes": [node_to_dict(n) for n in graph.nodes],
                           "edges": [edge_to_dict(e) for e in graph.edges]}
    out.update(extra or {})
    return out


def project_to_dict(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": project.name}
    if project.task != DEFAULT_TASK:
        out["task"] = project.task
    for key, graph in project.graphs().items():
        extra = project.graph_extra if key == "graph" else project.gan_graph_extra.get(key)
        out[key] = graph_to_dict(graph, extra)
        if graph.renamed:  # not part of what the graph is (graph_to_dict compares graphs)
            out[key]["renamed"] = [{"from": a, "to": b} for a, b in graph.renamed]
    if project.units:
        from .units.fileformat import units_to_dict

        out["units"] = units_to_dict(project.units)
    if project.dataset is not None:
        out["dataset"] = project.dataset
    if project.training:
        out["training"] = project.training
    if project.weights:
        out["weights"] = project.weights
    if project.heads:
        from .heads import heads_to_dict

        out["heads"] = heads_to_dict(project.heads)
    out.update(project.extra)
    return out


def dumps_project(project: Project) -> str:
    """JSON text with one node or edge per line, so version control diffs stay readable."""
    return dumps_json(project_to_dict(project))


def dumps_json(data: dict[str, Any]) -> str:
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key == "units" and isinstance(value, dict) and value:
            lines.append(f"  {one(key)}: {{")
            for j, (uname, unit) in enumerate(value.items()):
                ucomma = "," if j < len(value) - 1 else ""
                body = _graph_lines(unit, "      ") if isinstance(unit, dict) else [one(unit)]
                lines.append(f"    {one(uname)}: {{")
                lines.extend(body)
                lines.append(f"    }}{ucomma}")
            lines.append(f"  }}{comma}")
        elif _is_graph(value):
            inner = list(value.items())
            lines.append(f"  {one(key)}: {{")
            for j, (gkey, gvalue) in enumerate(inner):
                gcomma = "," if j < len(inner) - 1 else ""
                if gkey in ("nodes", "edges") and isinstance(gvalue, list) and gvalue:
                    body = ",\n".join(f"      {one(item)}" for item in gvalue)
                    lines.append(f"    {one(gkey)}: [\n{body}\n    ]{gcomma}")
                else:
                    lines.append(f"    {one(gkey)}: {one(gvalue)}{gcomma}")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {one(key)}: {one(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _graph_lines(value: dict[str, Any], indent: str) -> list[str]:
    """A graph-shaped object's keys, one per line, with nodes and edges one per line."""
    out = []
    items = list(value.items())
    for j, (key, item) in enumerate(items):
        comma = "," if j < len(items) - 1 else ""
        text = json.dumps(key, ensure_ascii=False)
        if key in ("nodes", "edges") and isinstance(item, list) and item:
            body = ",\n".join(f"{indent}  {json.dumps(v, ensure_ascii=False)}" for v in item)
            out.append(f"{indent}{text}: [\n{body}\n{indent}]{comma}")
        else:
            out.append(f"{indent}{text}: {json.dumps(item, ensure_ascii=False)}{comma}")
    return out


def _is_graph(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("nodes"), list)


def save_project(project: Project, path: str | os.PathLike[str] | None = None) -> Path:
    """Write the project atomically (temporary file, then rename) and remember the path."""
    target = Path(path) if path is not None else project.path
    if target is None:
        raise ProjectFileError("the project has no file yet: choose where to save it")
    text = dumps_project(project)
    try:
        atomic_write_text(target, text)
    except OSError as exc:
        raise ProjectFileError(f"cannot be saved: {exc.strerror or exc}",
                               path=str(target)) from None
    project.path = target
    for graph in (project.graph, *project.graphs().values()):
        graph.base_dir = target.parent.resolve()
    return target
