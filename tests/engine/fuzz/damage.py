"""Hypothesis strategies for damaged project files, made from the example projects.

Byte damage (truncation, flipped bits) and structural damage (a value of the wrong type, a
missing or unknown key, huge numbers, deep nesting, 10 MB strings, duplicate and odd Unicode
ids) are applied to a real project, so the loader sees files that are almost right, the
kind a crash, a bad merge or a hand edit leaves behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from torchloom.engine.resources import examples_dir

from .strategies import WEIRD_IDS

EXAMPLES: dict[str, bytes] = {p.name: p.read_bytes()
                              for p in sorted(examples_dir().glob("*.json"))}

#: Number texts JSON allows (or almost): beyond float range, beyond the 4300-digit int limit,
#: NaN and Infinity (which Python's json accepts and a project must not).
HUGE_NUMBERS = ["1" + "0" * 400, "-" + "9" * 5000, "1e400", "-1e400", "1e308", "-1e308",
                "1e-400", "NaN", "Infinity", "-Infinity", "9223372036854775808", "-0", "1E+2",
                "0.30000000000000004"]
#: Depths of nesting, from harmless to far past Python's recursion limit.
DEPTHS = [50, 500, 900, 990, 5000, 100_000]
#: Values of the wrong type, put where anything else belongs.
WRONG_VALUES: list[Any] = ["", "x", 0, -1, 1.5, True, False, None, [], {}, [1, 2], {"a": 1},
                           [[[]]], "\ud800", [None], {"id": "x"}, "NaN", -(2**63)]


@dataclass(frozen=True)
class Damaged:
    """A damaged file and how it was made (shown when a case fails). `big` is set when it
    holds a 10 MB string or deep nesting: the tests measure memory for those."""

    data: bytes
    how: str
    big: bool = False

    def __repr__(self) -> str:
        head = self.data[:120]
        return f"Damaged(how={self.how!r}, size={len(self.data)}, head={head!r})"


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in parsed JSON, as a tuple of keys and indexes."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.extend(_paths(item, (*prefix, i)))
    return out


def _set(root: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return root


def _delete(root: Any, path: tuple) -> None:
    parent = root
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]


def _deep(depth: int, form: str) -> str:
    if form == "list":
        return "[" * depth + "]" * depth
    if form == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return "[" * depth  # never closed


def _big(form: str) -> str:
    """About 10 MB of JSON text."""
    if form == "ascii":
        return '"' + "x" * 10_000_000 + '"'
    if form == "accented":
        return '"' + "\u00e9" * 5_000_000 + '"'
    if form == "escapes":
        return '"' + "\\n" * 5_000_000 + '"'
    return "[" + "0," * 5_000_000 + "0]"


MARK = "@@fuzz-raw@@"


KINDS = ["truncate", "bitflip", "retype", "retype", "delete", "unknown_key", "huge_number",
         "duplicate_id", "unicode_id", "unicode_id"]
#: Damage that makes a file large or deep: slow enough (about a second a case) that CI
#: runs a fixed set of them (`big_cases`) and the soak draws them.
BIG_KINDS = ["deep", "big_string"]


@st.composite
def damaged_projects(draw: st.DrawFn, big: bool = False) -> Damaged:
    """One example project with one kind of damage; `big` adds 10 MB strings and deep
    nesting to the kinds drawn."""
    name = draw(st.sampled_from(sorted(EXAMPLES)))
    data = EXAMPLES[name]
    kind = draw(st.sampled_from(KINDS + (BIG_KINDS if big else [])))
    if kind == "truncate":
        cut = draw(st.integers(0, len(data) - 1))
        return Damaged(data[:cut], f"{name}: cut at byte {cut}")
    if kind == "bitflip":
        flips = draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(0, 7)),
                              min_size=1, max_size=8))
        out = bytearray(data)
        for pos, bit in flips:
            out[pos] ^= 1 << bit
        return Damaged(bytes(out), f"{name}: bits flipped at {flips}")
    doc = json.loads(data)
    places = _paths(doc)
    place = draw(st.sampled_from(places))
    raw: str | None = None
    big = False
    if kind == "retype":
        doc = _set(doc, place, draw(st.sampled_from(WRONG_VALUES)))
    elif kind == "delete" and place:
        _delete(doc, place)
    elif kind == "unknown_key":
        target = place if isinstance(_get(doc, place), dict) else ()
        key = draw(st.sampled_from(["extra", "", "\u202e", "x" * 1000, "__proto__"]))
        _get(doc, target)[key] = draw(st.sampled_from(WRONG_VALUES))
    elif kind == "huge_number":
        raw = draw(st.sampled_from(HUGE_NUMBERS))
    elif kind == "deep":
        raw = _deep(draw(st.sampled_from(DEPTHS)),
                    draw(st.sampled_from(["list", "object", "open"])))
        big = True
    elif kind == "big_string":
        raw = _big(draw(st.sampled_from(["ascii", "accented", "escapes", "list"])))
        big = True
        place = draw(st.sampled_from(_string_places(doc) + [place]))
    elif kind == "duplicate_id":
        nodes = doc[_graph_key(doc)]["nodes"]
        i, j = draw(st.integers(0, len(nodes) - 1)), draw(st.integers(0, len(nodes) - 1))
        nodes[j]["id"] = nodes[i]["id"]
    elif kind == "unicode_id":
        _rename(doc, draw(st.integers(0, len(doc[_graph_key(doc)]["nodes"]) - 1)),
                draw(st.sampled_from(WEIRD_IDS)))
    if raw is not None:
        doc = _set(doc, place, MARK)
    ascii_only = draw(st.booleans())
    text = json.dumps(doc, ensure_ascii=ascii_only)
    if raw is not None:
        text = text.replace(json.dumps(MARK), raw, 1)
    how = f"{name}: {kind} at {'.'.join(map(str, place)) or 'top'}"
    return Damaged(text.encode("utf-8", "surrogatepass"), how, big)


def _get(root: Any, path: tuple) -> Any:
    for key in path:
        root = root[key]
    return root


def _graph_key(doc: dict[str, Any]) -> str:
    """The graph to damage: a classifier's "graph", a GAN's "generator"."""
    return "graph" if "graph" in doc else "generator"


def _string_places(doc: Any) -> list[tuple]:
    """Places where a long string hurts most: ids, types, names, ports, parameter values."""
    g = _graph_key(doc)
    nodes = doc[g]["nodes"]
    out: list[tuple] = [("name",)]
    for i, node in enumerate(nodes):
        out += [(g, "nodes", i, "id"), (g, "nodes", i, "type")]
        out += [(g, "nodes", i, "params", key) for key in node.get("params", {})]
    if doc[g].get("edges"):
        out.append((g, "edges", 0, "to_port"))
    out += [("dataset",)] + ([("training", "device")] if "training" in doc else [])
    return out


def _rename(doc: dict[str, Any], index: int, new_id: str) -> None:
    """Give one node a new id and follow it in every edge, so the graph stays whole."""
    nodes = doc[_graph_key(doc)]["nodes"]
    old = nodes[index]["id"]
    if any(n["id"] == new_id for n in nodes):
        return
    nodes[index]["id"] = new_id
    for edge in doc[_graph_key(doc)]["edges"]:
        for key in ("from", "to"):
            if edge.get(key) == old:
                edge[key] = new_id


def big_cases() -> list[Damaged]:
    """10 MB strings and deep nesting where they hurt most, one file each, for CI."""
    base = json.loads(EXAMPLES["mnist_cnn.json"])
    places = {"id": ("graph", "nodes", 1, "id"), "type": ("graph", "nodes", 1, "type"),
              "param": ("graph", "nodes", 1, "params", "kernel_size"), "name": ("name",),
              "dataset": ("dataset",), "port": ("graph", "edges", 0, "to_port"),
              "pos": ("graph", "nodes", 0, "pos")}
    plan = [(where, "big", form) for where, form in (
        ("id", "ascii"), ("type", "accented"), ("param", "ascii"), ("param", "list"),
        ("name", "escapes"), ("dataset", "ascii"), ("port", "ascii"))]
    plan += [(where, "deep", (depth, form)) for where, depth, form in (
        ("param", 100_000, "list"), ("param", 990, "list"), ("dataset", 500, "object"),
        ("pos", 100, "list"), ("param", 5000, "open"), ("dataset", 60, "list"))]
    out = []
    for where, kind, form in plan:
        doc = _set(json.loads(json.dumps(base)), places[where], MARK)
        raw = _big(form) if kind == "big" else _deep(*form)  # type: ignore[misc]
        text = json.dumps(doc).replace(json.dumps(MARK), raw, 1)
        out.append(Damaged(text.encode("utf-8"), f"{kind} {form} at {where}", big=True))
    return out
