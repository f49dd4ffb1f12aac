"""Canvas speed on a 300-node graph, offscreen.

    QT_QPA_PLATFORM=offscreen python bench/canvas.py [--blocks 60] [--repeat 10]

Prints the time to put the graph on the canvas (document, scene and view, shapes
included), the time for one parameter edit including shape re-inference and a full
repaint, and the mean paint time of the whole graph fitted in a 1600x1000 view. Targets:
edit + redraw < 50 ms, paint < 16 ms. Ratios are against the cold shape pass of the same
graph, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TORCHLOOM_DATA_DIR", tempfile.mkdtemp())
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtGui import QImage, QPainter  # noqa: E402

from shape_inference import residual_tower  # noqa: E402
from torchloom.engine.layout import auto_layout  # noqa: E402
from torchloom.engine.project import Project  # noqa: E402
from torchloom.engine.shapes import infer, measure_cache_clear  # noqa: E402
from torchloom.gui.app import make_app  # noqa: E402
from torchloom.gui.engine_loader import engine_loader  # noqa: E402
from torchloom.gui.main_window import MainWindow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=60, help="residual units of 5 nodes")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    app = make_app()
    engine_loader().start()
    graph = residual_tower(args.blocks)
    for node_id, pos in auto_layout(graph).items():
        graph.move(node_id, pos)
    infer(residual_tower(2))  # torch's one-time costs out of the way
    measure_cache_clear()
    start = time.perf_counter()
    infer(graph)
    cold_ms = (time.perf_counter() - start) * 1000
    measure_cache_clear()
    window = MainWindow()
    window.ask_unsaved = lambda name: "discard"
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    from torchloom.gui.document import Document

    start = time.perf_counter()
    window.set_document(Document(Project(graph, name="tower"), engine_loader()))
    app.processEvents()
    load_ms = (time.perf_counter() - start) * 1000
    view = window.view
    view.fit()
    app.processEvents()

    convs = [n.id for n in graph.nodes if n.type == "Conv2d"]
    edit_times = []
    for i in range(args.repeat):
        node = convs[len(convs) // 2]
        start = time.perf_counter()
        window.inspector_commit(node, "out_channels", 200 + i)  # a width never seen before
        window.document.refresh()
        app.processEvents()
        view.viewport().repaint()
        edit_times.append((time.perf_counter() - start) * 1000)

    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    paints = []
    for _ in range(args.repeat):
        painter = QPainter(image)
        start = time.perf_counter()
        view.render(painter)
        painter.end()
        paints.append((time.perf_counter() - start) * 1000)
    view.set_zoom(1.0)
    view.center_on_node(convs[len(convs) // 2])
    app.processEvents()
    close = []
    for _ in range(args.repeat):
        painter = QPainter(image)
        start = time.perf_counter()
        view.render(painter)
        painter.end()
        close.append((time.perf_counter() - start) * 1000)
    edit = statistics.median(edit_times)
    paint = statistics.mean(paints)
    print(f"graph: {len(graph)} nodes, {len(graph.edges)} edges, view 1600x1000 window")
    print(f"cold shape pass (baseline):      {cold_ms:7.1f} ms  1.00x")
    print(f"load onto the canvas:            {load_ms:7.1f} ms  {load_ms / cold_ms:.2f}x")
    print(f"param edit + infer + redraw:     {edit:7.1f} ms  {edit / cold_ms:.2f}x "
          "(target < 50 ms)")
    print(f"paint, whole graph fitted:       {paint:7.1f} ms  (target < 16 ms)")
    print(f"paint, zoom 1.0:                 {statistics.mean(close):7.1f} ms")
    window.close()


if __name__ == "__main__":
    main()
