"""Autosave and recovery after a crash."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.fileio import stale_temporaries
from torchloom.engine.graph import Graph
from torchloom.engine.project import Project, dumps_project, load_project, save_project
from torchloom.gui.autosave import Autosaver, leftovers
from torchloom.gui.paths import autosave_dir

from .conftest import settle


def dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def crashed_autosave(doc) -> Autosaver:
    """An autosave as a session that then died would have left it."""
    crashed = Autosaver(lambda: doc)
    crashed.timer.stop()
    crashed.save_now()
    meta = json.loads(crashed.meta_file.read_text())
    meta["pid"] = dead_pid()
    crashed.meta_file.write_text(json.dumps(meta))
    return crashed


def test_autosave_writes_only_when_there_are_unsaved_changes(window, example, tmp_path):
    example(tmp=tmp_path)
    saver = window.autosaver
    assert not saver.save_now() and not saver.project_file.exists()
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    assert saver.save_now()
    meta = json.loads(saver.meta_file.read_text())
    assert meta["original"] == str(tmp_path / "mnist_cnn.json")
    assert '"drop"' not in saver.project_file.read_text()
    window.save()
    assert not saver.project_file.exists()  # a save clears it


def test_a_crashed_session_is_recovered(window, example, tmp_path, qtbot):
    doc = example(tmp=tmp_path)
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    crashed_autosave(doc)
    (found,) = leftovers()
    assert "mnist_cnn.json" in found.describe()
    window.set_document(None)
    asked = []
    window.ask_recover = lambda text: asked.append(text) or True
    window.recover_leftovers()
    settle()
    assert asked and "drop" not in window.document.graph
    assert window.document.path == tmp_path / "mnist_cnn.json"
    assert window.windowTitle().startswith("mnist_cnn.json*")
    assert leftovers() == []  # handed over to this session's own autosave
    assert window.autosaver.project_file.exists()


def test_declined_recovery_discards_the_leftover(window, example, tmp_path):
    doc = example(tmp=tmp_path)
    window.scene.select_nodes(["drop"])
    window.delete_selection()
    crashed = crashed_autosave(doc)
    window.ask_recover = lambda text: False
    window.recover_leftovers()
    assert leftovers() == [] and not crashed.project_file.exists()


# ---- a session killed while autosaving ----------------------------------------------------

KILLS = 20

#: A session that autosaves without a window: per "go", fork a child that creates the real
#: Autosaver and saves two versions of a project in turn until it is killed.
AUTOSAVER = r"""
import os, sys
from torchloom.engine.project import load_project
from torchloom.gui.autosave import Autosaver

class Doc:
    dirty = True
    def __init__(self, project):
        self.project, self.path = project, project.path

docs = [Doc(load_project(sys.argv[1])), Doc(load_project(sys.argv[2]))]
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    pid = os.fork()
    if pid == 0:
        from PySide6.QtCore import QCoreApplication
        app = QCoreApplication([])
        current = [docs[0]]
        saver = Autosaver(lambda: current[0])
        while True:
            for doc in docs:
                current[0] = doc
                saver.save_now()
    print(pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print(status, flush=True)
"""


def two_versions(tmp_path: Path) -> list[Path]:
    """Two saved versions of a project big enough that a write takes a few milliseconds."""
    paths = []
    for variant in (0, 1):
        graph = Graph()
        graph.add_node("Input", {"shape": [8]}, "x")
        previous = "x"
        for i in range(400 + variant):
            graph.add_node("Linear", {"out_features": 4 + (i + variant) % 9}, f"fc{i}")
            graph.connect(previous, f"fc{i}")
            previous = f"fc{i}"
        project = Project(graph, name=f"version {variant}", dataset={"name": "digits"},
                          extra={"notes": "ünïcode ✓ " * 20_000})
        paths.append(save_project(project, tmp_path / f"v{variant}.json"))
    return paths


def start_autosaver(versions: list[Path]) -> subprocess.Popen:
    saver = subprocess.Popen([sys.executable, "-c", AUTOSAVER, *map(str, versions)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert saver.stdout is not None and saver.stdout.readline().strip() == "ready"
    return saver


def close(saver: subprocess.Popen) -> None:
    if saver.poll() is None:
        saver.kill()
    saver.communicate()  # reaps it and closes the pipes


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_autosaves_killed_at_random_moments_are_offered_whole(tmp_path):
    """The process is SIGKILLed KILLS times at random moments (half of them inside a
    write); each time, what it leaves is offered and loads as one of the two versions, or
    (killed before its first autosave) nothing is offered; no temporary file survives."""
    versions = two_versions(tmp_path)
    texts = [dumps_project(load_project(path)) for path in versions]
    saver = start_autosaver(versions)
    assert saver.stdin is not None and saver.stdout is not None
    rng = random.Random(9)
    offered = nothing = unnamed = corrupt = 0
    folder = autosave_dir()
    try:
        for _ in range(KILLS):
            saver.stdin.write("go\n")
            saver.stdin.flush()
            pid = int(saver.stdout.readline())
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.0, 0.3))
            else:  # once the project's temporary file appears: inside a write
                end = time.monotonic() + 10
                while time.monotonic() < end and not any(
                        name.startswith(f".{pid}-") and not name.startswith(f".{pid}-1.meta")
                        for name in os.listdir(folder)):
                    time.sleep(0.0005)
                time.sleep(rng.uniform(0.0, 0.004))
            os.kill(pid, signal.SIGKILL)
            assert os.WTERMSIG(int(saver.stdout.readline())) == signal.SIGKILL
            found = leftovers()
            assert not stale_temporaries(folder)
            assert all(left.project_file.name == f"{pid}-1.json" for left in found)
            if not found:
                nothing += 1
                assert not list(folder.glob(f"{pid}-*"))  # nor anything else of it
                continue
            (left,) = found
            offered += 1
            try:
                text = dumps_project(left.load())
            except ProjectFileError:
                text = None
            left.discard()
            if text not in texts:
                corrupt += 1
            elif left.original is None:
                unnamed += 1
            else:  # the meta file names the version the project file holds, at any kill
                assert left.original == str(versions[texts.index(text)])
        saver.stdin.write("quit\n")
        saver.stdin.flush()
        saver.wait(10)
    finally:
        close(saver)
    print(f"autosaver kills {KILLS}: offered and loaded {offered} ({unnamed} without their "
          f"file name), nothing to offer {nothing}, corrupt {corrupt}")
    assert corrupt == 0 and unnamed == 0 and offered >= KILLS // 4
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")
def test_the_window_recovers_what_a_killed_session_autosaved(window, tmp_path):
    versions = two_versions(tmp_path)
    saver = start_autosaver(versions)
    assert saver.stdin is not None and saver.stdout is not None
    try:
        saver.stdin.write("go\n")
        saver.stdin.flush()
        pid = int(saver.stdout.readline())
        written = autosave_dir() / f"{pid}-1.json"
        end = time.monotonic() + 20
        while not written.exists() and time.monotonic() < end:
            time.sleep(0.005)
        time.sleep(random.Random(9).uniform(0.0, 0.05))
        os.kill(pid, signal.SIGKILL)
        saver.stdout.readline()
    finally:
        close(saver)
    window.set_document(None)
    asked = []
    window.ask_recover = lambda text: asked.append(text) or True
    window.recover_leftovers()
    settle()
    assert asked and window.document is not None and window.document.dirty
    version = {"version 0": 0, "version 1": 1}[window.document.project.name]
    assert len(window.document.graph.nodes) == 401 + version
    assert window.document.path == versions[version]
    assert [left.project_file.name for left in leftovers()] == []


def test_killed_between_meta_and_project_the_project_keeps_its_file_name(qtbot, tmp_path,
                                                                          monkeypatch):
    """The meta file is written first, naming the new version and the one on disk: killed
    before the project file follows, the old project is offered under its own file name."""
    import torchloom.gui.autosave as autosave

    class Doc:
        dirty = True

        def __init__(self, path: Path) -> None:
            self.project, self.path = load_project(path), path

    versions = two_versions(tmp_path)
    current = [Doc(versions[0])]
    saver = Autosaver(lambda: current[0])
    saver.timer.stop()
    saver.save_now()
    current[0] = Doc(versions[1])
    monkeypatch.setattr(autosave, "atomic_write_bytes", lambda path, data: None)  # "killed"
    saver.save_now()
    meta = json.loads(saver.meta_file.read_text())
    assert meta["original"] == str(versions[1])  # the meta file announces version 1
    meta["pid"] = dead_pid()
    saver.meta_file.write_text(json.dumps(meta))
    (left,) = leftovers()
    assert left.original == str(versions[0]) and left.name == "version 0"
    assert left.load().name == "version 0" and left.load().path == versions[0]
    meta["previous"] = None  # a meta file that describes neither: offered as never saved
    saver.meta_file.write_text(json.dumps(meta))
    (left,) = leftovers()
    assert left.original is None and "a project that was never saved" in left.describe()
    assert left.load().name == "version 0" and left.load().path is None
