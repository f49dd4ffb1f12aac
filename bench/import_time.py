"""How long `torchloom import` takes on a DenseNet-121-sized model (about 420 blocks).

    python bench/import_time.py [--repeat 3]

Imports the DenseNet-like test model (tests/engine/importer/models/densenet.py) into a
temporary folder and prints the time per import against a baseline measured in the same
run: one `torch.fx.symbolic_trace` of the same model, the least any import must do. Target
from issue 18: about 4 s on an idle machine of this kind, whatever the mapping grows to.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import fx

from torchloom.engine.importer import import_module
from torchloom.engine.importer.source import load_model

SOURCE = str(Path(__file__).resolve().parents[1] / "tests" / "engine" / "importer" / "models"
             / "densenet.py") + ":DenseNet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_model(SOURCE).module
    fx.symbolic_trace(model)  # torch's one-time costs out of the way
    traces, imports = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        fx.symbolic_trace(model)
        traces.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = import_module(SOURCE, Path(tmp) / "densenet.json",
                                   input_shapes=[[3, 32, 32]], input_dtypes=["float32"])
            imports.append(time.perf_counter() - start)
    blocks = sum(1 for n in result.project.graph.nodes if n.type not in ("Input", "Code"))
    trace, took = statistics.median(traces), statistics.median(imports)
    print(f"DenseNet-like: {blocks} blocks, {len(result.code_nodes)} Code nodes")
    print(f"fx trace (baseline): {trace:6.2f} s  1.00x")
    print(f"torchloom import:    {took:6.2f} s  {took / trace:.1f}x (target about 4 s idle)")


if __name__ == "__main__":
    main()
