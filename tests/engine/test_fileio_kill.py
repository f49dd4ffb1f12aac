"""Kill test: SIGKILL a process while it saves a large project, at random moments, 100 times.

After every kill the file on disk must be one of the two complete projects the process was
alternating between, byte for byte, never a mix or a truncation. A kill inside a write may
leave one ``.<name>.<pid>-<random>.tmp`` beside it (see `engine.fileio`); loading ignores it
and the next save removes it first thing, so there is never more than one.

To keep 100 kills cheap, one helper process imports the engine and reads the two projects
once (no torch: `engine.project` does not import it), then forks a fresh saver per kill.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torchloom.engine.fileio import atomic_write_text, stale_temporaries
from torchloom.engine.project import (Project, dumps_project, load_project, project_from_dict,
                                      save_project)

#: Half of them land inside a write (100 took 11 s of the suite; 50 still catch a torn one).
KILLS = 50
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")]

#: The helper: read two projects, then per "go" fork a child that saves them alternately to
#: the target until it is killed; print its pid, reap it, print how it ended.
SAVER = r"""
import os, sys
from torchloom.engine.project import load_project, save_project
a, b = load_project(sys.argv[1]), load_project(sys.argv[2])
target = sys.argv[3]
print("torch imported" if "torch" in sys.modules else "ready", flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    pid = os.fork()
    if pid == 0:
        while True:
            save_project(a, target)
            save_project(b, target)
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""


def big_project(variant: int, nodes: int) -> dict:
    """Thousands of Linear nodes in a chain, each carrying a note of about a kilobyte
    (with non-ASCII text, so a torn write could also split a character)."""
    note = f"variant {variant} · ümlaut ✓ " + "lorem ipsum dolor sit amet " * 40
    graph = {"nodes": [{"id": f"n{i}", "type": "Linear",
                        "params": {"out_features": 8 + (i + variant) % 50},
                        "pos": [float(i % 80) * 10, float(i // 80) * 10], "note": f"{i} {note}"}
                       for i in range(nodes)],
             "edges": [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(nodes - 1)]}
    return {"format": "torchloom-project", "version": 1, "name": f"big {variant}",
            "graph": graph, "training": {"epochs": 1 + variant}}


def timings(project: Project, target: Path) -> tuple[float, float]:
    """Seconds to make the JSON text and to write it (medians of three saves)."""
    dumps, writes = [], []
    for _ in range(3):
        started = time.perf_counter()
        text = dumps_project(project)
        made = time.perf_counter()
        atomic_write_text(target, text)
        dumps.append(made - started)
        writes.append(time.perf_counter() - made)
    return sorted(dumps)[1], sorted(writes)[1]


def wait_for_temporary(folder: Path, prefix: str, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(name.startswith(prefix) for name in os.listdir(folder)):
            return True
        time.sleep(0.0005)
    return False


def test_a_killed_save_leaves_the_old_or_the_new_project_never_a_mix(tmp_path):
    refs = []
    for variant, nodes in ((0, 3000), (1, 2990)):
        project = project_from_dict(big_project(variant, nodes))
        ref = save_project(project, tmp_path / f"ref{variant}.json")
        data = ref.read_bytes()
        assert dumps_project(load_project(ref)).encode() == data  # a reload saves the same bytes
        refs.append(data)
    old, new = refs
    assert len(old) > 3_000_000 and old != new
    target = tmp_path / "big.json"
    project = load_project(tmp_path / "ref0.json")
    dumps_s, write_s = timings(project, target)

    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(tmp_path / "ref0.json"),
                              str(tmp_path / "ref1.json"), str(target)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert saver.stdin is not None and saver.stdout is not None
    rng = random.Random(9)
    corrupt, in_write, most_left = 0, 0, 0
    try:
        assert saver.stdout.readline().strip() == "ready"
        for _ in range(KILLS):
            saver.stdin.write("go\n")
            saver.stdin.flush()
            pid = int(saver.stdout.readline())
            # Half the kills at any moment of two saves; half inside a write, the short end
            # of a save (most of it is making the JSON text): once the saver's temporary
            # file appears, a random part of a write's duration later.
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0, 2 * (dumps_s + write_s)))
            else:
                assert wait_for_temporary(tmp_path, f".{target.name}.{pid}-")
                time.sleep(rng.uniform(0, write_s))
            os.kill(pid, signal.SIGKILL)
            status = int(saver.stdout.readline())
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            data = target.read_bytes()
            corrupt += data not in (old, new)
            left = stale_temporaries(tmp_path, target.name)
            in_write += bool(any(p.name.split(".")[-2].startswith(f"{pid}-") for p in left))
            most_left = max(most_left, len(left))
        saver.stdin.write("quit\n")
        saver.stdin.flush()
        saver.wait(10)
    finally:
        if saver.poll() is None:
            saver.kill()
        saver.communicate()  # reaps it and closes the pipes
    print(f"kills {KILLS}, corrupt files {corrupt}, kills inside a write {in_write}, "
          f"most leftovers at once {most_left}; a save is {dumps_s * 1000:.0f} ms of making text "
          f"and {write_s * 1000:.0f} ms of writing")
    assert corrupt == 0
    assert most_left <= 1  # each save first removes what killed writers left
    assert in_write > 0, "no kill landed inside a write: the test did not test anything"
    assert load_project(target).graph.nodes  # and it parses as a project
    save_project(project, target)  # the next save removes what the killed writers left
    assert not stale_temporaries(tmp_path) and not list(tmp_path.glob(".big.json.*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.json", "ref0.json", "ref1.json"]


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    target = tmp_path / "p.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = tmp_path / f".p.json.{int(dead.stdout)}-abcdefgh.tmp"
    live = tmp_path / f".p.json.{os.getppid()}-abcdefgh.tmp"  # pytest's parent: running
    other = tmp_path / f".q.json.{int(dead.stdout)}-abcdefgh.tmp"  # another file's
    for path in (stale, live, other):
        path.write_text("{")
    project = project_from_dict(big_project(0, 3))
    save_project(project, target)
    assert not stale.exists() and live.exists() and other.exists()
    assert load_project(target).name == "big 0"
    assert stale_temporaries(tmp_path) == [Path(other)]
