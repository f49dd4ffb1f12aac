"""What one edit costs on a big graph: the incremental shape pass against a whole pass.

    QT_QPA_PLATFORM=offscreen python bench/edit_cost.py [--nodes 10000] [--repeat 3]
        [--no-gui]

Builds the chain of bench/graph_growth.py (Input, then Linear/ReLU pairs) and makes each
edit below, then undoes it, `--repeat` times; the best CPU time counts (this process's, so
other load on a shared machine matters less). Engine: `ShapeTracker.analysis` after the edit
against `shapes.infer` of the same graph, measured in the same run (the ratio is what an
edit costs as a share of a whole pass). GUI: the window's whole reaction (the document's
analysis, the canvas items, the panels) with the tracker against the same with the tracker
reset before each edit, which is what every edit cost before the tracker.

Edits: a parameter at the head whose change stops after the next Linear (fc1's
out_features), one at the head that reaches every node downstream (the Input's shape gains
a dimension, and every block passes it on), a parameter at the tail, an added block wired to
nothing, and a block added after the tail (wired to it); in the window also Tab after the
tail, which first finds the new block a free spot among the 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TORCHLOOM_DATA_DIR", tempfile.mkdtemp())
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graph_growth import chain  # noqa: E402
from torchloom.engine.edits import Op, apply_all, plan_add, plan_set_param  # noqa: E402
from torchloom.engine.graph import Edge, Graph  # noqa: E402
from torchloom.engine.project import loads_project  # noqa: E402
from torchloom.engine.shapes import infer  # noqa: E402
from torchloom.engine.shapes_incremental import ShapeTracker  # noqa: E402

clock = time.process_time


def edits(graph: Graph) -> dict[str, Callable[[], list[Op]]]:
    """Each edit as the window plans it, by name."""
    ids = graph.node_ids()
    tail = ids[-1]
    x, y = graph.node(tail).pos or (0.0, 0.0)
    beside = (x + 200.0, y)  # where Tab puts the next block: no wire crosses the canvas
    below = (x, y + 300.0)
    return {
        "head param (stops after 2 nodes)": lambda: plan_set_param(graph, "fc1",
                                                                   "out_features", 17),
        "head param (reaches all)": lambda: plan_set_param(graph, "x", "shape", [4, 16]),
        "tail param": lambda: plan_set_param(graph, tail, "out_features", 5),
        "add a block, unwired": lambda: plan_add(graph, "ReLU", below, node_id="new"),
        "block added after the tail": lambda: plan_add(graph, "ReLU", beside, node_id="end2")
        + [Op("connect", edge=Edge(tail, "end2"))],
    }


def engine_rows(graph: Graph, repeat: int) -> list[tuple[str, float, float, int]]:
    """(edit, incremental s, whole pass s, nodes measured again) per edit."""
    tracker = ShapeTracker(graph)
    tracker.analysis()
    rows = []
    for name, plan in edits(graph).items():
        incremental, whole, touched = [], [], 0
        for _ in range(repeat):
            undo = apply_all(graph, plan())
            start = clock()
            got = tracker.analysis()
            incremental.append(clock() - start)
            touched = len(got.changed or ())
            start = clock()
            infer(graph)
            whole.append(clock() - start)
            apply_all(graph, undo)
            tracker.analysis()
        rows.append((name, min(incremental), min(whole), touched))
    return rows


def gui_rows(text: str, repeat: int) -> list[tuple[str, float, float]]:
    """(edit, window's reaction with the tracker, with a whole pass) per edit."""
    from torchloom.gui.app import make_app
    from torchloom.gui.document import Document
    from torchloom.gui.engine_loader import engine_loader
    from torchloom.gui.main_window import MainWindow

    app = make_app()
    engine_loader().start()
    window = MainWindow()
    window.ask_unsaved = lambda name: "discard"  # type: ignore[method-assign]
    window.resize(1600, 1000)
    window.show()
    window.set_document(Document(loads_project(text), engine_loader()))
    app.processEvents()
    doc = window.document
    assert doc is not None
    rows = []

    def react(edit: Callable[[], object], whole: bool) -> float:
        start = clock()
        edit()
        if whole:
            doc._shapes.reset()  # what every edit did before the tracker
        doc.refresh()
        app.processEvents()
        return clock() - start

    from PySide6.QtCore import QPointF

    tail = doc.graph.node_ids()[-1]
    actions: dict[str, Callable[[], object]] = {
        name: (lambda plan=plan: doc.edit(plan(), "bench"))
        for name, plan in edits(doc.graph).items()}
    # Tab with the tail selected: the window finds the block a free spot, then adds it
    actions["Tab after the tail (placing too)"] = lambda: window.add_block(
        "ReLU", QPointF(0.0, 0.0), after=tail)
    for name, action in actions.items():
        times: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(repeat):
            for whole in (False, True):
                times[whole].append(react(action, whole))
                doc.undo_stack.undo()
                doc.refresh()
                app.processEvents()
        rows.append((name, min(times[False]), min(times[True])))
    window.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-gui", action="store_true", help="the engine's figures only")
    args = parser.parse_args()
    text = json.dumps(chain(args.nodes))
    infer(loads_project(json.dumps(chain(50))).graph)  # torch's first-call costs
    project = loads_project(text)
    print(f"chain of {args.nodes} nodes, CPU seconds, best of {args.repeat}")
    print(f"{'engine: edit':36} {'incremental':>12} {'whole pass':>11} {'ratio':>7} "
          f"{'measured':>9}")
    for name, inc, whole, touched in engine_rows(project.graph, args.repeat):
        print(f"{name:36} {inc:12.4f} {whole:11.4f} {inc / whole:7.3f} {touched:9}",
              flush=True)
    if args.no_gui:
        return
    print(f"{'window: edit':36} {'incremental':>12} {'whole pass':>11} {'ratio':>7}")
    for name, inc, whole in gui_rows(text, args.repeat):
        print(f"{name:36} {inc:12.4f} {whole:11.4f} {inc / whole:7.3f}", flush=True)


if __name__ == "__main__":
    main()
