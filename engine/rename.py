"""Renaming a block: the edit, what a new id may be, and how runs trained before a rename
still find their weights.

A node's id names its layer in the compiled model (``conv1`` is ``self.conv1``, its weights
``conv1.weight``), so a rename would otherwise orphan every trained tensor of that block.
Each graph therefore keeps a log of its renames (`Graph.renamed`, saved in the project file
as ``"renamed"``), and every run folder's ``project.json`` holds the log as it was when the
run trained. Between a run and the project as it is now, the renames to replay are the ones
after the two logs part ways: the run's own extra renames undone (an undo after the run),
then the project's extra renames done. `follow_renames` gives a run's project copy the
current ids, `rename_weights` its tensors; resume, warm starts, Inspect, Evaluate and export
go through them, so a renamed block keeps its weights everywhere.

Renames inside a unit's graph follow in the unit's ports and promoted parameters, but have
no log: runs trained before such a rename start that unit's nodes fresh (`INNER_NOTE`).
"""

from __future__ import annotations

import keyword
from typing import Any

from .edits import Op
from .errors import GraphError
from .graph import Graph
from .project import MAX_ID_LENGTH, Project

#: What the inspector says of a rename inside a unit, where weights are not followed.
INNER_NOTE = ("Inside a unit, runs trained before a rename start the unit's nodes fresh "
              "(their weights are named by the old id).")
#: What it says of a rename in a model's graph.
KEEPS_NOTE = "Trained weights follow a rename: earlier runs still load, resume and export."


def check_new_id(graph: Graph, old: str, new: str) -> str:
    """The id `new` (stripped) that node `old` may take, or a `GraphError` saying why not.

    An id names the layer in the compiled model and in exported code (``self.<id>``), so it
    must be a Python name the model can use as it is: letters, digits and ``_``, not a
    keyword, not a name torch's Module or Python already means, and not the name another
    block's layer has (which would rename that block's weights instead).
    """
    from .compile import _RESERVED, module_names

    graph.node(old)
    new = new.strip() if isinstance(new, str) else ""
    if not new:
        raise GraphError("a block's id must not be empty", node=old)
    if new == old:
        return new
    if new in graph:
        raise GraphError(f"there is already a block '{new}': ids must be unique", node=old)
    if len(new) > MAX_ID_LENGTH:
        raise GraphError(f"an id is at most {MAX_ID_LENGTH} characters", node=old)
    if not new.isidentifier():
        hint = " (it starts with a digit)" if new[0].isdigit() else ""
        raise GraphError(f"'{new}' is not a Python name{hint}: use letters, digits and _, not "
                         "starting with a digit (the id names the layer: self.<id>)", node=old)
    if keyword.iskeyword(new) or keyword.issoftkeyword(new):
        raise GraphError(f"'{new}' is a Python keyword: choose another name", node=old)
    if new.startswith("__"):
        raise GraphError("an id must not start with two underscores (Python would mangle "
                         "self.__name)", node=old)
    if new in _RESERVED:
        raise GraphError(f"'{new}' already means something to a torch module or to Python "
                         f"(the layer would be called {new}_): choose another name", node=old)
    ids = [n.id for n in graph.nodes]
    after = module_names([new if i == old else i for i in ids])
    if after[new] != new:  # another block's id (not a Python name) compiles to this name
        other = next(i for i, name in module_names(ids).items() if name == new)
        raise GraphError(f"'{new}' is the name block '{other}' has in the compiled model: "
                         "choose another", node=old)
    return new


def plan_rename(graph: Graph, old: str, new: str) -> list[Op]:
    """Rename node `old` to `new` (checked by `check_new_id`) as one edit: the node keeps
    its type, parameters, place and edges; `Graph.renamed` records it. No ops when the id
    is the same."""
    new = check_new_id(graph, old, new)
    return [] if new == old else [Op("rename", node_id=old, name=new)]


# ---- runs trained before a rename ----------------------------------------------------------


def replay(saved_log: list[tuple[str, str]], current_log: list[tuple[str, str]]
           ) -> list[tuple[str, str]]:
    """The renames that take ids from the `saved_log` era to the `current_log` era: after
    the logs' common beginning, the saved log's own renames undone (newest first), then the
    current log's renames."""
    same = 0
    for a, b in zip(saved_log, current_log):
        if a != b:
            break
        same += 1
    undo = [(new, old) for old, new in reversed(saved_log[same:])]
    return undo + list(current_log[same:])


def _apply_steps(ids: list[str], steps: list[tuple[str, str]]) -> dict[str, str]:
    """Old id -> id after `steps`, for `ids`. A step whose old id is missing or whose new id
    is taken (a damaged log) is skipped."""
    now = {i: i for i in ids}  # original -> current
    current = {i: i for i in ids}  # current -> original
    for old, new in steps:
        if old in current and new not in current:
            original = current.pop(old)
            current[new] = original
            now[original] = new
    return now


def id_map(saved_graph: Graph | None, current_graph: Graph) -> dict[str, str]:
    """Each id of `saved_graph` (a run's copy) -> the id the node has in `current_graph`.

    With `saved_graph` None (weights with no graph beside them: the project's initial
    ``weights`` file, written before any rename), the ids the current graph had before its
    whole log."""
    current_log = list(current_graph.renamed)
    if saved_graph is None:
        back = _apply_steps([n.id for n in current_graph.nodes],
                            [(new, old) for old, new in reversed(current_log)])
        ids = list(back.values())
        return _apply_steps(ids, current_log)
    steps = replay(list(saved_graph.renamed), current_log)
    return _apply_steps([n.id for n in saved_graph.nodes], steps)


def follow_renames(saved: Project, current: Project) -> Project:
    """A copy of `saved` (a run's project copy) whose graphs name their nodes as `current`
    does, and hold `current`'s logs: compare it with `current` to ask "is this the graph
    that run trained?". `saved` itself is not changed; without renames it is returned."""
    maps = {}
    for key, graph in saved.graphs().items():
        other = current.graphs().get(key)
        if other is None:
            continue
        mapping = {a: b for a, b in id_map(graph, other).items() if a != b}
        if mapping:
            maps[key] = mapping
    if not maps:
        return saved
    from .project import dumps_project, loads_project

    out = loads_project(dumps_project(saved), path=str(saved.path or "<run>"))
    out.path = saved.path
    for key, mapping in maps.items():
        graph = out.graphs()[key]
        graph.base_dir = saved.graphs()[key].base_dir
        _rename_all(graph, mapping)
        graph.renamed = list(current.graphs()[key].renamed)
    return out


def _rename_all(graph: Graph, mapping: dict[str, str]) -> None:
    """Rename several nodes at once (a swap a -> b, b -> a included), through free ids."""
    temporary = {}
    for old in mapping:
        spare, n = f"{old}\0", 0
        while spare in graph or spare in mapping.values():
            n += 1
            spare = f"{old}\0{n}"
        graph.rename_node(old, spare)
        temporary[spare] = mapping[old]
    for spare, new in temporary.items():
        graph.rename_node(spare, new)


def rename_weights(weights: dict[str, Any], saved: Project | None, current: Project
                   ) -> dict[str, Any]:
    """`weights` (a state dict saved with `saved`'s graphs, or with no project: the initial
    weights file) keyed as `current` compiles its nodes. Keys of a GAN's pair start with
    the graph's key (``generator.fc1.weight``). Tensors are not copied."""
    from .compile import module_names

    renames: dict[str, str] = {}  # old key prefix -> new key prefix
    several = len(current.graphs()) > 1
    for key, graph in current.graphs().items():
        saved_graph = saved.graphs().get(key) if saved is not None else None
        if saved is not None and saved_graph is None:
            continue
        mapping = id_map(saved_graph, graph)
        if all(a == b for a, b in mapping.items()):
            continue
        old_names = module_names(mapping)  # as the saved model named its layers
        new_names = module_names(n.id for n in graph.nodes)  # as the current one does
        lead = f"{key}." if several else ""
        for old_id, new_id in mapping.items():
            if new_id in new_names and old_names[old_id] != new_names[new_id]:
                renames[lead + old_names[old_id]] = lead + new_names[new_id]
    if not renames:
        return weights
    out = {}
    for name, tensor in weights.items():
        out[_renamed_key(name, renames)] = tensor
    return out


def _renamed_key(name: str, renames: dict[str, str]) -> str:
    parts = name.split(".")
    for cut in (2, 1):  # "generator.fc1" before "fc1"
        prefix = ".".join(parts[:cut])
        if len(parts) > cut and prefix in renames:
            return ".".join([renames[prefix], *parts[cut:]])
    return name
