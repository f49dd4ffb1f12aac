"""How long shape inference takes on a 200-node graph, cold and after one edit.

The canvas re-infers after every edit. Measurements are cached on (block, parameters,
input shapes), so an edit re-measures only the nodes whose inputs changed. Prints each
case's time and its ratio to the cold pass measured in the same run.

    python bench/shape_inference.py [--blocks 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from torchloom.engine.graph import Graph
from torchloom.engine.shapes import infer, measure_cache_clear


def residual_tower(blocks: int) -> Graph:
    """Input, then `blocks` residual units of 5 nodes (conv, bn, relu, conv, add) + a head.

    The inner width differs per unit, so no two units share a cache entry.
    """
    g = Graph()
    g.add_node("Input", {"shape": [16, 32, 32]}, "x")
    prev = "x"
    for i in range(blocks):
        c1 = g.add_node("Conv2d", {"out_channels": 17 + i, "kernel_size": 3, "padding": 1}).id
        bn = g.add_node("BatchNorm2d").id
        relu = g.add_node("ReLU").id
        c2 = g.add_node("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": 1}).id
        add = g.add_node("Add").id
        for a, b in ((prev, c1), (c1, bn), (bn, relu), (relu, c2), (c2, add), (prev, add)):
            g.connect(a, b)
        prev = add
    for type_name, params in (("AdaptiveAvgPool2d", {}), ("Flatten", {}),
                              ("Linear", {"out_features": 10})):
        node = g.add_node(type_name, params).id
        g.connect(prev, node)
        prev = node
    return g


def timed(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    g = residual_tower(args.blocks)
    infer(g)  # import and first-call costs out of the way

    def cold() -> None:
        measure_cache_clear()
        infer(g)

    cold_ms = timed(cold, args.repeat)
    warm_ms = timed(lambda: infer(g), args.repeat)
    fresh = iter(range(1000, 10**9))
    mid = [n.id for n in g.nodes if n.type == "Conv2d"][len(g) // 10]

    def one_param_edit() -> None:  # a never-seen width: this conv and the 3 after it
        g.set_param(mid, "out_channels", next(fresh))
        infer(g)

    edit_ms = timed(one_param_edit, args.repeat)

    def input_edit() -> None:  # a never-seen image size: every node is measured again
        size = next(fresh) % 60 + 8
        g.set_param("x", "shape", [16, size, size])
        infer(g)

    worst_ms = timed(input_edit, args.repeat)
    assert infer(g).ok
    print(f"graph: {len(g)} nodes, {len(g.edges)} edges")
    print(f"cold inference (empty cache): {cold_ms:8.1f} ms   1.00x")
    print(f"no change (all cached):       {warm_ms:8.1f} ms   {warm_ms / cold_ms:.2f}x of cold")
    print(f"one parameter edit:           {edit_ms:8.1f} ms   {edit_ms / cold_ms:.2f}x of cold")
    print(f"Input shape edit (worst):     {worst_ms:8.1f} ms   {worst_ms / cold_ms:.2f}x of cold")


if __name__ == "__main__":
    main()
