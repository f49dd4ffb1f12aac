"""How the engine's cost grows with the graph: load, infer, check and summary per shape.

Generates project files of 500, 2,000 and 10,000 nodes in four shapes (a chain, a residual
ladder, a unit repeated in a chain of unit nodes, and unwired nodes), then times loading the
file, shape inference, `check` (the task's analysis) and `summary`. Prints the time per node
and, per shape and operation, the exponent k of time ~ nodes^k fitted by least squares on
log-log: 1.0 is linear, the goal is <= 1.1. Times are this process's CPU time (other load
on a shared machine then matters less), the best of `--repeat` runs, caches cleared before
each; absolute times still depend on the machine, so compare exponents and per-node ratios
measured in the same run.

    python bench/graph_growth.py [--sizes 500 2000 10000] [--shapes chain ladder units
        unwired] [--repeat 2] [--profile SHAPE:N]

``--profile chain:2000`` runs cProfile over load+check+summary of that one graph and prints
the 25 most expensive calls (cumulative), for finding a superlinear step.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import pstats
import time
from typing import Any, Callable

from torchloom.engine.project import loads_project
from torchloom.engine.shapes import infer, measure_cache_clear
from torchloom.engine.summary import summarize
from torchloom.engine.tasks import task_for

FORMAT = {"format": "torchloom-project", "version": 1}


def _node(node_id: str, type_name: str, **params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": node_id, "type": type_name}
    if params:
        out["params"] = params
    return out


def chain(n: int) -> dict[str, Any]:
    """Input, then Linear/ReLU pairs, ending in one Linear: `n` nodes, `n - 1` wires."""
    nodes = [_node("x", "Input", shape=[16])]
    for i in range(1, n):
        nodes.append(_node(f"fc{i}", "Linear", out_features=16) if i % 2 else
                     _node(f"act{i}", "ReLU"))
    edges = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {**FORMAT, "name": f"chain {n}", "graph": {"nodes": nodes, "edges": edges}}


def ladder(n: int) -> dict[str, Any]:
    """Residual rungs of four nodes (Linear, ReLU, Linear, Add with a skip wire)."""
    nodes = [_node("x", "Input", shape=[16])]
    edges = []
    prev = "x"
    for i in range((n - 1) // 4):
        ids = [f"a{i}", f"r{i}", f"b{i}", f"add{i}"]
        nodes += [_node(ids[0], "Linear", out_features=16), _node(ids[1], "ReLU"),
                  _node(ids[2], "Linear", out_features=16), _node(ids[3], "Add")]
        edges += [{"from": prev, "to": ids[0]}, {"from": ids[0], "to": ids[1]},
                  {"from": ids[1], "to": ids[2]}, {"from": ids[2], "to": ids[3]},
                  {"from": prev, "to": ids[3]}]
        prev = ids[3]
    return {**FORMAT, "name": f"ladder {n}", "graph": {"nodes": nodes, "edges": edges}}


UNIT = {
    "nodes": [_node("in", "Input", shape=[16]), _node("fc1", "Linear", out_features=16),
              _node("relu", "ReLU"), _node("fc2", "Linear", out_features=16),
              _node("add", "Add")],
    "edges": [{"from": "in", "to": "fc1"}, {"from": "fc1", "to": "relu"},
              {"from": "relu", "to": "fc2"}, {"from": "fc2", "to": "add"},
              {"from": "in", "to": "add"}],
    "inputs": [{"name": "in", "node": "in"}], "outputs": [{"name": "out", "node": "add"}],
}


def units(n: int) -> dict[str, Any]:
    """A chain of unit nodes, each repeated 10 times: `n` blocks once expanded (a unit
    copy is 4 blocks past its Input), like a deep ResNet built from repeated stages."""
    per_node = 10 * 4
    count = max(1, n // per_node)
    nodes = [_node("x", "Input", shape=[16])]
    nodes += [_node(f"stage{i}", "unit:Res", repeat=10) for i in range(count)]
    edges = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {**FORMAT, "name": f"units {n}", "graph": {"nodes": nodes, "edges": edges},
            "units": {"Res": UNIT}}


def unwired(n: int) -> dict[str, Any]:
    """`n` blocks placed and never wired (a canvas someone is still filling)."""
    nodes = [_node("x", "Input", shape=[16])]
    nodes += [_node(f"fc{i}", "Linear", out_features=16) for i in range(1, n)]
    return {**FORMAT, "name": f"unwired {n}", "graph": {"nodes": nodes, "edges": []}}


SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {
    "chain": chain, "ladder": ladder, "units": units, "unwired": unwired}


clock = time.process_time


def clear_caches() -> None:
    measure_cache_clear()
    try:  # the FLOP cache is newer than this benchmark's first run
        from torchloom.engine.summary import flops_cache_clear
    except ImportError:
        return
    flops_cache_clear()


def run_ops(text: str) -> dict[str, float]:
    """Seconds for each operation on one project file's text, caches cleared first."""
    times: dict[str, float] = {}
    clear_caches()
    gc.collect()
    start = clock()
    project = loads_project(text)
    times["load"] = clock() - start
    start = clock()
    infer(project.graph)
    times["infer"] = clock() - start
    clear_caches()
    task = task_for(project)
    start = clock()
    analysis = task.analyze(project)
    times["check"] = clock() - start
    start = clock()
    summarize(project.graph, project.name, analysis)
    times["summary"] = clock() - start
    return times


def best_of(text: str, repeat: int) -> dict[str, float]:
    runs = [run_ops(text) for _ in range(max(1, repeat))]
    return {op: min(run[op] for run in runs) for op in runs[0]}


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """The slope of log(time) against log(size), least squares."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-6)) for t in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def profile(spec: str) -> None:
    shape, _, size = spec.partition(":")
    text = json.dumps(SHAPES[shape](int(size or 2000)))
    run_ops(json.dumps(SHAPES[shape](50)))  # imports and first calls out of the way
    prof = cProfile.Profile()
    prof.enable()
    run_ops(text)
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=2, help="runs per size; the best counts")
    parser.add_argument("--profile", metavar="SHAPE:N")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
        return
    run_ops(json.dumps(chain(50)))  # imports and torch's first-call costs out of the way
    ops = ("load", "infer", "check", "summary")
    print(f"{'shape':8} {'nodes':>6} " + " ".join(f"{op + ' us/node':>16}" for op in ops))
    for shape in args.shapes:
        per_op: dict[str, list[float]] = {op: [] for op in ops}
        for n in args.sizes:
            times = best_of(json.dumps(SHAPES[shape](n)), args.repeat)
            for op in ops:
                per_op[op].append(times[op])
            print(f"{shape:8} {n:>6} " + " ".join(f"{times[op] / n * 1e6:>16.1f}"
                                                   for op in ops), flush=True)
        print(f"{shape:8} {'k':>6} " + " ".join(f"{exponent(args.sizes, per_op[op]):>16.2f}"
                                                for op in ops), flush=True)


if __name__ == "__main__":
    main()
