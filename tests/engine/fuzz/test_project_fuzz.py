"""Damaged project files: the loader and `torchloom check` answer with a `ProjectFileError`
naming the file and the place, or load the project and report its graph problems; never a
traceback, and each step in bounded time and memory.

The regression tests below pin what the fuzzer found; each failed before its fix.
"""

from __future__ import annotations

import json
import os
import tracemalloc
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from torchloom.engine import cli
from torchloom.engine.errors import ProjectFileError
from torchloom.engine.jsontree import MAX_DEPTH
from torchloom.engine.project import dumps_project, loads_project

from .cases import run_check, run_project_bytes, warm_up
from .damage import EXAMPLES, Damaged, big_cases, damaged_projects

#: CI runs this many files (2-5 s); bench/fuzz_soak.py runs many more, big ones too.
PROJECT_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                            suppress_health_check=[HealthCheck.too_slow,
                                                   HealthCheck.data_too_large])
#: Peak Python memory while one 10 MB (or very deep) file is read, loaded and checked.
MAX_PEAK_BYTES = 200 * 2**20


def _project(**graph) -> str:
    return json.dumps({"format": "torchloom-project", "version": 1, "graph": graph})


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory):
    warm_up(tmp_path_factory.mktemp("warm"))


def test_damaged_files_give_a_file_error_or_load_with_graph_errors(tmp_path):
    outcomes: Counter[str] = Counter()

    @PROJECT_SETTINGS
    @given(damaged_projects())
    def case(damaged: Damaged):
        outcomes[run_project_bytes(damaged.data, tmp_path)] += 1

    case()
    assert outcomes["file-error"] and outcomes["errors"] and outcomes["ran"], outcomes


BIG = big_cases()


@pytest.mark.parametrize("damaged", BIG, ids=lambda d: d.how)
def test_big_and_deep_files_are_read_whole_or_refused(tmp_path, damaged):
    # how long they take is bench/fuzz_soak.py's to report, never a pass/fail here
    assert run_project_bytes(damaged.data, tmp_path) in ("file-error", "errors", "ran")


@pytest.mark.parametrize("damaged", [d for d in BIG if "list" not in d.how and "big" in d.how],
                         ids=lambda d: d.how)
def test_big_files_are_read_in_bounded_memory(tmp_path, damaged):
    # tracemalloc slows every allocation (a list of 5 million numbers takes seconds), so
    # memory is measured on the 10 MB strings.
    tracemalloc.start()
    try:
        run_project_bytes(damaged.data, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_PEAK_BYTES, f"peak {peak / 2**20:.0f} MiB"


def test_numbers_beyond_float_range_are_refused_where_they_are():
    # 10**400 as an int overflowed in math.isfinite (pos) and 1e400 became inf, which loaded
    # but saved as -Infinity, a file that could not be opened again.
    node = {"id": "x", "type": "Input", "pos": [0, int("1" + "0" * 400)]}
    with pytest.raises(ProjectFileError) as err:
        loads_project(_project(nodes=[node]))
    assert err.value.where == "graph.nodes[0].pos"
    text = _project(nodes=[{"id": "act", "type": "LeakyReLU",
                            "params": {"negative_slope": "HUGE"}}]).replace('"HUGE"', "-1e400")
    with pytest.raises(ProjectFileError, match="-1e400 is too large for a number"):
        loads_project(text)
    project = loads_project(text.replace("-1e400", "1" + "0" * 400))
    (problem,) = [p for p in project.graph.problems() if p.param]
    assert problem.param == "negative_slope" and "an integer of 401 digits" in problem.message
    assert dumps_project(loads_project(dumps_project(project))) == dumps_project(project)


def test_an_unpaired_surrogate_is_refused_and_a_paired_one_is_an_emoji():
    # A lone \ud800 loaded, then `torchloom check` crashed printing it (UnicodeEncodeError),
    # and saving the project would have failed the same way.
    text = _project(nodes=[{"id": "a", "type": "ReLU"}, {"id": "ID", "type": "ReLU"}])
    with pytest.raises(ProjectFileError, match="not valid Unicode") as err:
        loads_project(text.replace("ID", "b\\ud800"))
    assert err.value.where == "graph.nodes[1].id"
    pair = loads_project(text.replace("ID", "\\ud83e\\udde0"))
    assert pair.graph.nodes[1].id == "\U0001f9e0"


def test_nesting_deeper_than_a_project_needs_is_refused():
    # Deep values loaded, and then saving or undoing (deepcopy) hit the recursion limit.
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    text = _project(nodes=[{"id": "x", "type": "Input", "params": {"shape": "DEEP"}}])
    with pytest.raises(ProjectFileError, match=f"nested more than {MAX_DEPTH} levels") as err:
        loads_project(text.replace('"DEEP"', deep))
    assert err.value.where.startswith("graph.nodes[0].params.shape[0][0]")
    shallow = "[" * 20 + "]" * 20
    assert len(loads_project(text.replace('"DEEP"', shallow)).graph) == 1


def test_check_prints_one_line_for_odd_names_and_ids(tmp_path):
    # A file name that is not UTF-8 reaches Python as lone surrogates; printing it raised
    # UnicodeEncodeError (exit 3). An id with a line break split the line in two.
    data = EXAMPLES["mlp_digits.json"].decode().replace('"fc2"', '"fc\\n2"')
    path = tmp_path / os.fsdecode(b"caf\xe9.json")
    path.write_text(data)
    code, out, err = run_check(path, as_json=False)
    assert code == cli.EXIT_OK and out.count("\n") == 1 and "caf\\udce9.json: ok" in out
    bad = tmp_path / "bad.json"
    bad.write_text(data.replace('"type": "Linear"', '"type": "Line\\nar"', 1))
    code, out, err = run_check(bad, as_json=False)
    assert code == cli.EXIT_GRAPH and out.count("\n") == 1 and "Line\\u000aar" in out
    code, out, err = run_check(path, as_json=True)
    assert json.loads(out)["files"][0]["file"] == str(path)
