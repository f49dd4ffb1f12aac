"""No code from files: a project file is data, weights are safetensors or weights-only
state, NPZ arrays never unpickle.

Every malicious file here would create a marker file if anything ran it; each test first
shows that an unsafe reader does run it (so the file really is malicious), then that
Torchloom refuses it with a typed error and the marker never appears.
"""

from __future__ import annotations

import ast
import io
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save

from torchloom.engine.cli import main as cli_main
from torchloom.engine.compile import compile_graph
from torchloom.engine.data import load_dataset
from torchloom.engine.errors import DataError, ProbeError, TorchloomError
from torchloom.engine.export.python_code import export_python
from torchloom.engine.graph import Graph
from torchloom.engine.probe.loaded import load_trained
from torchloom.engine.project import Project, load_project, save_project
from torchloom.engine.shapes import infer
from torchloom.engine.train import checkpoint as ckpt
from torchloom.engine.tasks.prepare import prepare_training

from .train.helpers import mlp_project

ENGINE = Path(__file__).resolve().parents[2] / "engine"


class Evil:
    """Unpickling this runs `code` (pickle calls exec with it)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def touch(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def payloads(marker: Path) -> list[str]:
    """Strings that create `marker` if anything evaluates, executes or shells them."""
    code = touch(marker)
    return [code, f"__import__('os').system('touch {marker}')", f"'); {code}; ('",
            f'"""\n{code}\n"""', f"x\n{code}  #", f"{{{{{code}}}}}", f"$(touch {marker})",
            f"`touch {marker}`", f"!!python/object/apply:os.system ['touch {marker}']"]


def unsafe(load) -> None:
    """Read a file the unsafe way, which runs what it holds (and may then fail to parse)."""
    try:
        load()
    except Exception:  # noqa: BLE001, S110 - only the marker matters here
        pass


def test_the_payloads_do_run_when_executed(tmp_path):
    marker = tmp_path / "ran"
    exec(payloads(marker)[0])  # noqa: S102 - proves the marker works
    assert marker.exists()


def test_nothing_in_a_project_file_is_executed(tmp_path, capsys):
    marker = tmp_path / "ran"
    bad = payloads(marker)
    nodes = [{"id": "in", "type": "Input", "params": {"shape": [4]}}]
    nodes += [{"id": f"t{i}", "type": text} for i, text in enumerate(bad)]  # unknown types
    nodes += [{"id": f"p{i}", "type": "Linear", "params": {"out_features": text,
                                                            "bias": text}}
              for i, text in enumerate(bad)]
    nodes += [{"id": "code", "type": "Code", "params": {"file": "evil.py", "class_name": bad[0],
                                                        "kwargs": {"x": bad[1]}}}]
    edges = [{"from": "in", "to": n["id"]} for n in nodes[1:]]
    data = {"format": "torchloom-project", "version": 1, "name": bad[3],
            "graph": {"nodes": nodes, "edges": edges, "__reduce__": bad[0]},
            "dataset": {"path": bad[6], "x_key": bad[0]},
            "training": {"device": bad[1]}, "weights": f"{bad[2]}.safetensors",
            "!!python/object/apply:os.system": [bad[1]]}
    (tmp_path / "evil.py").write_text(f"{touch(marker)}\n")  # a Code block's file, untrusted
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(data))
    project = load_project(path)
    analysis = infer(project.graph)
    assert not analysis.ok and all(isinstance(e, TorchloomError) for e in analysis.errors)
    assert any("not trusted" in e.describe() for e in analysis.errors)
    assert cli_main(["check", str(path)]) != 0
    with pytest.raises(TorchloomError):
        prepare_training(project, save=False)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(project.dataset, tmp_path)
    save_project(project, tmp_path / "again.json")  # kept as data, written back as data
    assert json.loads((tmp_path / "again.json").read_text())["graph"]["nodes"][1]["type"] == bad[0]
    capsys.readouterr()
    assert not marker.exists()


def test_node_ids_and_names_never_become_code(tmp_path):
    """Ids become module names in generated code (torch.fx, the Python export, which runs
    the exported file to check it): text in them stays text."""
    marker = tmp_path / "ran"
    bad = payloads(marker)
    graph = Graph()
    graph.add_node("Input", {"shape": [4]}, "in")
    previous = "in"
    for text in bad:
        graph.add_node("Linear", {"out_features": 3}, text)
        graph.connect(previous, text)
        previous = text
    analysis = infer(graph)
    assert analysis.ok
    model = compile_graph(graph, analysis)
    assert model(torch.zeros(2, 4)).shape == (2, 3)
    graph = Graph()  # the export with ids that do not start with "__" (see below)
    graph.add_node("Input", {"shape": [4]}, "in")
    previous = "in"
    for text in bad:
        graph.add_node("Linear", {"out_features": 3}, f"n{text}")
        graph.connect(previous, f"n{text}")
        previous = f"n{text}"
    export_python(Project(graph, name=bad[4], dataset={"name": "digits"}), tmp_path / "model.py")
    assert (tmp_path / "model.py").exists() and not marker.exists()


def test_an_id_starting_with_two_underscores_exports(tmp_path):
    # `self.__hidden` in the exported class body would be name-mangled to _Model__hidden.
    graph = Graph()
    graph.add_node("Input", {"shape": [4]}, "in")
    graph.add_node("Linear", {"out_features": 3}, "__hidden")
    graph.connect("in", "__hidden")
    export_python(Project(graph, dataset={"name": "digits"}), tmp_path / "model.py")
    assert "self.n__hidden" in (tmp_path / "model.py").read_text()


def legacy_run(tmp_path: Path) -> tuple[Project, Path]:
    """A trained run folder without checkpoint.json, as older Torchloom wrote them."""
    project = mlp_project(tmp_path, epochs=1)
    prepare_training(project, out_dir=tmp_path / "run").run()
    run = tmp_path / "run"
    (run / ckpt.CHECKPOINT_FILE).unlink()
    with safe_open(run / ckpt.MODEL_FILE, "pt") as handle:
        meta = {k: v for k, v in handle.metadata().items() if k != "step"}
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    (run / ckpt.MODEL_FILE).write_bytes(save(tensors, metadata=meta))
    return project, run


def evil_torch_save(marker: Path) -> bytes:
    """A state.pt in torch's own zip format: a trainer state with a payload inside."""
    buffer = io.BytesIO()
    torch.save({"format": "torchloom-state", "epoch": 0, "step": 0, "step_in_epoch": 0,
                "rng": Evil(touch(marker))}, buffer)
    return buffer.getvalue()


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps(Evil(touch(marker)), protocol=2)


@pytest.mark.parametrize("maker", [evil_torch_save, evil_pickle])
def test_a_malicious_state_pt_is_refused_and_never_run(tmp_path, maker):
    project, run = legacy_run(tmp_path)
    marker = tmp_path / "ran"
    (tmp_path / "unsafe.pt").write_bytes(maker(marker))
    unsafe(lambda: torch.load(tmp_path / "unsafe.pt", weights_only=False))
    assert marker.exists()  # the unsafe way ran it
    marker.unlink()
    (run / ckpt.STATE_FILE).write_bytes(maker(marker))
    refused = r"state.pt: the trainer state cannot be read \(it would call exec, .* could run code"
    with pytest.raises(ckpt.CheckpointError, match=refused):
        prepare_training(project, resume=run, overrides={"epochs": 2})
    # A checkpoint.json that vouches for the file (its true sha256) changes nothing.
    records = {name: ckpt.file_record((run / name).read_bytes())
               for name in (ckpt.MODEL_FILE, ckpt.STATE_FILE)}
    (run / ckpt.CHECKPOINT_FILE).write_text(json.dumps(
        {"format": "torchloom-checkpoint", "version": 1, "step": 0, "epoch": 0,
         "files": records}))
    with pytest.raises(ckpt.CheckpointError, match=refused):
        prepare_training(project, resume=run, overrides={"epochs": 2})
    assert not marker.exists()


def header_claims_a_terabyte(marker: Path) -> bytes:
    return struct.pack("<Q", 2**40) + b"{}"


def header_nested_deeply(marker: Path) -> bytes:
    header = b"[" * 100_000 + b"]" * 100_000
    return struct.pack("<Q", len(header)) + header


@pytest.mark.parametrize("maker", [evil_torch_save, evil_pickle, header_claims_a_terabyte,
                                   header_nested_deeply])
def test_weights_that_are_not_safetensors_are_refused(tmp_path, maker):
    project, run = legacy_run(tmp_path)
    marker = tmp_path / "ran"
    for target in (run / ckpt.MODEL_FILE, tmp_path / "start.safetensors"):
        target.write_bytes(maker(marker))
    with pytest.raises(ckpt.CheckpointError, match="not a readable safetensors file"):
        prepare_training(project, init_from=run, out_dir=tmp_path / "warm")
    with pytest.raises(ProbeError, match="not a readable safetensors file"):
        load_trained(run)
    project.weights = "start.safetensors"
    with pytest.raises(ckpt.CheckpointError, match="start.safetensors: not a readable"):
        prepare_training(project, save=False)
    assert not marker.exists()


def evil_npz_object_array(path: Path, marker: Path) -> None:
    np.savez(path, x=np.array([Evil(touch(marker))] * 4, dtype=object), y=np.arange(4))


def evil_npz_object_labels(path: Path, marker: Path) -> None:
    np.savez(path, x=np.zeros((4, 2)), y=np.array([Evil(touch(marker))] * 4, dtype=object))


def evil_npz_is_a_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(evil_pickle(marker))


@pytest.mark.parametrize("maker", [evil_npz_object_array, evil_npz_object_labels,
                                   evil_npz_is_a_pickle])
def test_a_malicious_npz_is_refused_and_never_run(tmp_path, maker):
    marker = tmp_path / "ran"
    maker(tmp_path / "unsafe.npz", marker)
    unsafe(lambda: [np.load(tmp_path / "unsafe.npz", allow_pickle=True)[k] for k in "xy"])
    assert marker.exists()  # the unsafe way ran it
    marker.unlink()
    maker(tmp_path / "data.npz", marker)
    with pytest.raises(DataError) as caught:
        load_dataset({"path": "data.npz"}, tmp_path)
    assert "data.npz" in caught.value.describe()
    assert not marker.exists()


def test_a_malicious_probe_batch_in_a_run_folder_is_refused(tmp_path):
    _, run = legacy_run(tmp_path)
    marker = tmp_path / "ran"
    np.savez(run / "probe.npz", x=np.array([Evil(touch(marker))], dtype=object),
             y=np.zeros(1), index=np.zeros(1))
    with pytest.raises(ProbeError, match="the probe batch cannot be read") as caught:
        load_trained(run)
    assert "probe.npz" in caught.value.describe() and not marker.exists()


#: (module, function) -> the keyword that makes it safe; None: never allowed.
SAFE_LOADS = {("torch", "load"): ("weights_only", True), ("np", "load"): ("allow_pickle", False),
              ("numpy", "load"): ("allow_pickle", False), ("pickle", "load"): None,
              ("pickle", "loads"): None, ("marshal", "loads"): None, ("yaml", "load"): None,
              ("yaml", "unsafe_load"): None, ("dill", "load"): None,
              ("cloudpickle", "load"): None}


def test_every_loader_in_the_engine_is_a_safe_one():
    """A reader added later must use the safe form too: torch.load(weights_only=True),
    np.load(allow_pickle=False), never pickle. exec only runs a trusted Code file."""
    unsafe = []
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            where = f"{path.relative_to(ENGINE.parent)}:{node.lineno}"
            if isinstance(func, ast.Name) and func.id in ("eval", "exec"):
                if path.name != "codefiles.py":
                    unsafe.append(f"{where} {func.id}")
                continue
            if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
                continue
            key = (func.value.id, func.attr)
            if key not in SAFE_LOADS:
                continue
            rule = SAFE_LOADS[key]
            ok = rule is not None and any(
                kw.arg == rule[0] and isinstance(kw.value, ast.Constant)
                and kw.value.value is rule[1] for kw in node.keywords)
            if not ok:
                unsafe.append(f"{where} {key[0]}.{key[1]}")
    assert unsafe == []


def test_dataset_paths_are_relative_to_the_project_file(tmp_path, monkeypatch):
    """Not to the working folder: a project folder moved elsewhere still finds its data. An
    absolute path outside works too (the data panel shows it before reading it)."""
    rng = np.random.default_rng(0)
    (tmp_path / "a" / "data").mkdir(parents=True)
    np.savez(tmp_path / "a" / "data" / "points.npz",
             x=rng.normal(size=(40, 4)).astype(np.float32), y=np.arange(40) % 2)
    graph = Graph()
    graph.add_node("Input", {"shape": [4]}, "x")
    graph.add_node("Linear", {"out_features": 2}, "fc")
    graph.connect("x", "fc")
    save_project(Project(graph, dataset={"path": "data/points.npz"}), tmp_path / "a" / "p.json")
    (tmp_path / "a").rename(tmp_path / "moved")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    job = prepare_training(load_project(tmp_path / "moved" / "p.json"), save=False)
    assert len(job.split.train) + len(job.split.val) == 40
    outside = tmp_path / "elsewhere.npz"
    (tmp_path / "moved" / "data" / "points.npz").rename(outside)
    project = load_project(tmp_path / "moved" / "p.json")
    with pytest.raises(DataError) as caught:
        prepare_training(project, save=False)
    assert caught.value.describe().startswith(str(tmp_path / "moved" / "data" / "points.npz"))
    project.dataset = {"path": str(outside)}
    assert prepare_training(project, save=False).split is not None
