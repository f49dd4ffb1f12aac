"""One fuzz case, checked: the rule (typed errors that name a node, a parameter or a place in
the file) and the consistency of measured shapes with a real forward.

Both the pytest tests and ``bench/fuzz_soak.py`` call these, so CI and the soak check the
same things. A broken rule is an `AssertionError`; an untyped exception is left to escape as
it is, so its traceback shows where it started.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import torch

from torchloom.engine import cli
from torchloom.engine.compile import compile_graph, module_names, beyond_memory
from torchloom.engine.errors import (CompileError, GraphError, MissingNodeError, NoInputError,
                                     ParamError, ProjectFileError)
from torchloom.engine.graph import Graph
from torchloom.engine.project import dumps_project, graph_from_dict, load_project, loads_project
from torchloom.engine.shapes import Analysis, infer

from .damage import EXAMPLES

#: The real batch; deliberately not the measuring batch (2), so a shape that secretly
#: depends on the batch size shows.
BATCH = 3
#: Above these a graph is only checked on meta: compiling builds real weights.
MAX_REAL_PARAMS = 2_000_000
MAX_REAL_ELEMENTS = 2_000_000
#: A message is one line a person reads, not a dump of the input.
MAX_MESSAGE = 2000
#: Each step of reading a damaged file (parse, load, check) ends within this.
#: A step's time limit for soak runs (bench/fuzz_soak.py); None in the test suite, which
#: never fails on a wall clock (a hang still ends there, by pytest's faulthandler_timeout).
STEP_SECONDS: float | None = None


# ---- the rule ------------------------------------------------------------------------------


def check_named(graph: Graph, problems: list[GraphError]) -> None:
    """Every problem is typed and names a node of this graph, a parameter, or is about the
    graph as a whole (no Input, several outputs)."""
    for p in problems:
        assert isinstance(p, GraphError), f"untyped problem {p!r}"
        text = p.describe()
        assert p.message.strip() and len(text) < MAX_MESSAGE, f"bad message {text[:300]!r}"
        if p.node is not None:
            assert p.node in graph, f"{text!r} names a node that is not in the graph"
        else:
            assert p.nodes or p.param or isinstance(p, NoInputError), f"{text!r} names nothing"
        assert all(n in graph for n in p.nodes), f"{text!r} names missing nodes {p.nodes}"
        if isinstance(p, ParamError):
            assert p.param is not None and p.node is not None, f"{text!r} names no parameter"


def check_file_error(exc: ProjectFileError, shown: str | None) -> None:
    """A file error names the file, and says what is wrong in one bounded line."""
    assert exc.path == shown, f"{exc.describe()!r} does not name {shown}"
    assert exc.message.strip() and len(exc.describe()) < MAX_MESSAGE + len(shown or "")


# ---- graphs --------------------------------------------------------------------------------


def run_graph_spec(spec: dict[str, Any]) -> str:
    """Load a drawn graph as the loader would, replay it through the edit API, then check it
    end to end. Returns what happened: "file-error", "errors", "meta-only" or "ran"."""
    replay_edits(spec)
    try:
        graph, _ = graph_from_dict(spec)
    except ProjectFileError as exc:
        check_file_error(exc, None)
        assert exc.where, f"{exc.describe()!r} does not say where"
        return "file-error"
    return check_graph(graph)


def replay_edits(spec: dict[str, Any]) -> Graph:
    """Build the same graph with `add_node`/`set_param`/`connect`, as the GUI does: each
    refusal is a typed error naming the node (and parameter)."""
    g = Graph()
    for raw in spec["nodes"]:
        node_id, type_name, params = raw["id"], raw["type"], raw.get("params", {})
        try:
            g.add_node(type_name, params, node_id)
        except GraphError as exc:
            assert exc.node == node_id or exc.node is None and not node_id, exc.describe()
            if not isinstance(exc, ParamError):
                continue
            g.add_node(type_name, {}, node_id)
            for name, value in params.items():
                try:
                    g.set_param(node_id, name, value)
                except ParamError as bad:
                    assert bad.node == node_id and bad.param == name, bad.describe()
    for raw in spec["edges"]:
        try:
            g.connect(raw["from"], raw["to"], raw.get("to_port"))
        except MissingNodeError as exc:  # the id is in the sentence: there is no node 'x'
            assert exc.message.startswith("there is no node"), exc.describe()
        except GraphError as exc:
            assert exc.node == raw["to"] and exc.message.strip(), exc.describe()
    check_named(g, g.problems())
    check_named(g, infer(g).problems)
    return g


def check_graph(graph: Graph) -> str:
    """Validation, shapes, compile and one real forward; see `run_graph_spec`."""
    check_named(graph, graph.problems())
    analysis = infer(graph)
    check_named(graph, analysis.problems)
    if not analysis.ok:
        try:
            compile_graph(graph, analysis)
        except CompileError as exc:
            assert exc.errors, "CompileError without errors"
            return "errors"
        raise AssertionError("a graph with errors compiled")
    if _too_big(analysis):
        if beyond_memory(graph, analysis) is not None:  # refused, not allocated
            try:
                compile_graph(graph, analysis)
            except CompileError as exc:
                check_named(graph, exc.errors)
            else:
                raise AssertionError("a model beyond the memory compiled")
        return "meta-only"
    gm = compile_graph(graph, analysis, seed=0)
    check_forward(graph, analysis, gm)
    return "ran"


def _too_big(analysis: Analysis) -> bool:
    elements = sum(math.prod(i.spec.shape) for i in analysis.nodes.values() if i.spec)
    return analysis.total_params > MAX_REAL_PARAMS or elements * BATCH > MAX_REAL_ELEMENTS


def sample_inputs(graph: Graph, analysis: Analysis, gm: torch.nn.Module) -> list[torch.Tensor]:
    """A real batch for each placeholder: floats, or token ids below every vocabulary (and
    zeros when an Add could push a sum of ids past it)."""
    names = module_names(n.id for n in graph.nodes)
    by_name = {name: node_id for node_id, name in names.items()}
    vocab = [graph.node(i).resolved_params()["num_embeddings"] for i in analysis.order
             if graph.node(i).type == "Embedding"]
    high = 1 if any(n.type == "Add" for n in graph.nodes) else min(vocab, default=8)
    gen = torch.Generator().manual_seed(0)
    out = []
    for node in gm.graph.nodes:  # type: ignore[union-attr]
        if node.op != "placeholder":
            continue
        spec = analysis.nodes[by_name[node.target]].spec
        assert spec is not None
        shape = (BATCH, *spec.shape)
        if spec.is_int:
            out.append(torch.randint(0, high, shape, generator=gen))
        else:
            out.append(torch.randn(shape, generator=gen))
    return out


def check_forward(graph: Graph, analysis: Analysis, gm: torch.nn.Module) -> None:
    """Where meta shapes succeed, the real forward succeeds and every node's output has the
    shape and dtype shape inference showed (checked with forward hooks)."""
    names = module_names(n.id for n in graph.nodes)
    seen: dict[str, tuple[tuple[int, ...], str]] = {}
    children = dict(gm.named_children())
    hooks = []
    for node_id, name in names.items():
        if name in children:
            def hook(_m: Any, _a: Any, out: torch.Tensor, node_id: str = node_id) -> None:
                seen[node_id] = (tuple(out.shape), str(out.dtype).removeprefix("torch."))
            hooks.append(children[name].register_forward_hook(hook))
    inputs = sample_inputs(graph, analysis, gm)
    gm.eval()
    with torch.no_grad():
        out = gm(*inputs)
    for handle in hooks:
        handle.remove()
    for node_id, (shape, dtype) in seen.items():
        spec = analysis.nodes[node_id].spec
        assert spec is not None
        assert shape == (BATCH, *spec.shape) and dtype == spec.dtype, (
            f"{node_id}: forward gave {list(shape)} {dtype}, shapes said {spec.show()} "
            f"{spec.dtype}")
    ends = analysis.outputs if len(analysis.outputs) > 1 else (analysis.output,)
    outs = out if isinstance(out, tuple) else (out,)  # several heads: one tensor each
    assert len(outs) == len(ends)
    for end, tensor in zip(ends, outs):
        expected = analysis.nodes[end].spec
        assert expected is not None and tuple(tensor.shape) == (BATCH, *expected.shape)
    gm.train()  # what training runs: dropout on, batch statistics, a backward pass
    out = gm(*inputs)
    total = sum(t.float().mean() for t in (out if isinstance(out, tuple) else (out,)))
    if total.requires_grad:
        total.backward()


# ---- project files -------------------------------------------------------------------------


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    """Swap stdout/stderr for strict UTF-8 streams, as a terminal (and pytest's capsys)
    has: text that cannot be written there fails here too."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", newline="", write_through=True)
    saved = sys.stdout, sys.stderr, os.environ.get("TORCHLOOM_DEBUG")
    sys.stdout, sys.stderr = out, err
    os.environ["TORCHLOOM_DEBUG"] = "1"  # an internal error raises instead of exiting 3
    try:
        yield out, err
    finally:
        sys.stdout, sys.stderr = saved[0], saved[1]
        if saved[2] is None:
            del os.environ["TORCHLOOM_DEBUG"]
        else:
            os.environ["TORCHLOOM_DEBUG"] = saved[2]


def _text(stream: io.TextIOWrapper) -> str:
    return stream.buffer.getvalue().decode("utf-8")  # type: ignore[attr-defined]


def run_check(path: Path, as_json: bool) -> tuple[int, str, str]:
    """`torchloom check PATH [--json]`: exit code, stdout, stderr."""
    with captured() as (out, err):
        code = cli.main(["check", str(path), *(["--json"] if as_json else [])])
    return code, _text(out), _text(err)


def run_project_bytes(data: bytes, folder: Path, *, step_seconds: float | None = STEP_SECONDS
                      ) -> str:
    """Feed a (damaged) project file to `loads_project`, `load_project` and `torchloom
    check` (JSON and text). Each gives a `ProjectFileError` naming the file, or a project
    whose graph problems follow the rule and which saves and reads back the same; `check`
    exits 0 or 1 with one result for the file. With `step_seconds`, each step must end
    within it (soak runs only).
    Returns "file-error" or what `check_graph` returned."""
    path = folder / "fuzz.json"
    path.write_bytes(data)
    timer = _Timer(step_seconds)
    with timer("loads_project"):
        from_text = _load_or_error(lambda: loads_project(data, path="fuzz.json"), "fuzz.json")
    with timer("load_project"):
        project = _load_or_error(lambda: load_project(path), str(path))
    assert (from_text is None) == (project is None), "load_project and loads_project disagree"
    with timer("check --json"):
        code, out, err = run_check(path, as_json=True)
    assert code in (cli.EXIT_OK, cli.EXIT_GRAPH), f"check exited {code}: {err[-500:]}"
    report = json.loads(out)
    assert [f["file"] for f in report["files"]] == [str(path)]
    entry = report["files"][0]
    assert entry["ok"] == (code == cli.EXIT_OK) and all(e["message"] for e in entry["errors"])
    with timer("check"):
        code_text, out_text, _ = run_check(path, as_json=False)
    assert code_text == code and out_text.count("\n") == 1, out_text[:500]
    if project is None:
        assert not entry["ok"] and entry["errors"][0].get("file") == str(path)
        return "file-error"
    with timer("save"):  # what opened can be saved, and reads back the same
        saved = dumps_project(project).encode("utf-8")
    with timer("reopen"):
        reopened = loads_project(saved)
    with timer("save again"):
        assert dumps_project(reopened).encode("utf-8") == saved
    return check_graph(project.graph)


def warm_up(folder: Path) -> None:
    """Check every example once: the first real LSTM or attention run in a process pays for
    torch's one-time set-up (over a second), which is not the time a damaged file costs."""
    for name, data in EXAMPLES.items():
        path = folder / name
        path.write_bytes(data)
        assert run_check(path, as_json=True)[0] == cli.EXIT_OK, name


def _load_or_error(load: Any, shown: str) -> Any:
    try:
        return load()
    except ProjectFileError as exc:
        check_file_error(exc, shown)
        return None


class _Timer:
    """``with timer("step"):`` fails the case when one step takes longer than the limit
    (when there is one)."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        took = time.perf_counter() - start
        assert self.limit is None or took < self.limit, \
            f"{step} took {took:.2f} s (limit {self.limit} s)"


