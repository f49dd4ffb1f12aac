"""One verified export per example and format, shared by the tests that read the file.

An ONNX or pt2 export of an example costs seconds (the exporter runs, then the written file
is reloaded and checked on two batch sizes). The export tests and the round-trip import
test each made their own; here each (example, format) is exported once per test run, even
across pytest-xdist workers (the workers share one folder and take turns through a lock,
the pattern pytest-xdist documents for session fixtures).

ONNX and pt2 exports run for `COVERING_EXAMPLES` only: a set of examples computed (not
picked) so that together they hold every block type any example holds, plus each input
dtype and a unit-built model. Every block type's own ONNX and pt2 form is checked by
tests/engine/blocks/test_block_exports.py; the python export runs for every example.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

from filelock import FileLock

from torchloom.engine.export import ExportResult, export_project
from torchloom.engine.project import Project, load_project
from torchloom.engine.resources import examples_dir

#: The one-model examples: every format exports them. A GAN project has two networks and
#: only the python export writes it (tests/engine/gan/test_gan_export.py).
ONE_MODEL_EXAMPLES = sorted(p.stem for p in examples_dir().glob("*.json")
                            if '"task": "gan"' not in p.read_text(encoding="utf-8"))
#: Examples whose model returns several outputs, one per head (`"heads"`).
HEADS_EXAMPLES = sorted(p.stem for p in examples_dir().glob("*.json")
                        if load_project(p).heads)


def example_features(project: Project) -> tuple[frozenset[str], int]:
    """What an export of `project` has to get right: its block types (units opened up, so
    the blocks inside a unit count), each input's dtype, and whether units nest modules;
    and the number of blocks, which stands for what exporting it costs."""
    from torchloom.engine.units import flatten_units

    features = {"unit-built"} if len(project.units) else set()
    flatten_units(project)
    graph = project.graph
    features |= {f"block:{node.type}" for node in graph.nodes}
    features |= {f"dtype:{graph.node(i).params.get('dtype', 'float32')}"
                 for i in graph.input_ids()}
    return frozenset(features), len(graph.nodes)


def covering_set(examples: dict[str, tuple[frozenset[str], int]]) -> list[str]:
    """The fewest examples that together hold every feature any example holds; among
    covers that small, the one with the fewest blocks (then the first by name). Exact, by
    trying sets of growing size: with a few dozen examples that is instant."""
    names = sorted(examples)
    wanted = frozenset().union(*(examples[name][0] for name in names))
    for size in range(1, len(names) + 1):
        covers = [combo for combo in combinations(names, size)
                  if frozenset().union(*(examples[name][0] for name in combo)) == wanted]
        if covers:
            return list(min(covers, key=lambda c: sum(examples[name][1] for name in c)))
    return names


#: example: (its features, its number of blocks)
FEATURES = {name: example_features(load_project(examples_dir() / f"{name}.json"))
            for name in ONE_MODEL_EXAMPLES}
COVERING_EXAMPLES = covering_set(FEATURES)


class ExampleExports:
    """`get(name, fmt)`: the result and file of exporting an example, made on first use.

    The file lies alone in a folder of its own (tests check that an export leaves nothing
    beside it); the result is kept as JSON beside that folder for the other workers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def get(self, name: str, fmt: str) -> tuple[ExportResult, Path]:
        folder = self.root / f"{name}-{fmt}"
        record = self.root / f"{name}-{fmt}.json"
        out = folder / f"{name}.{fmt}"
        with FileLock(str(self.root / f"{name}-{fmt}.lock")):
            if not record.is_file():
                folder.mkdir(exist_ok=True)
                result = export_project(load_project(examples_dir() / f"{name}.json"), fmt,
                                        out)
                record.write_text(json.dumps(result.to_json()), encoding="utf-8")
            data = json.loads(record.read_text(encoding="utf-8"))
        return ExportResult(data["format"], [Path(f) for f in data["files"]], data["checks"],
                            data["notes"]), out
