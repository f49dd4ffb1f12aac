"""The personal block library: units saved to the user-data folder, one JSON file each
(``<data>/blocks/<Name>.json``), listed in the palette under "My blocks" and imported into
any project.

A library file is small and versioned on its own::

    {"format": "torchloom-unit", "version": 1, "name": "ResBlock",
     "unit": {...the unit, as in a project's "units"...},
     "units": {...units it uses inside, if any...}}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ProjectFileError
from ..fileio import atomic_write_text
from ..safe_read import FileTooBigError, read_limited
from ..userdata import data_dir
from .errors import UnitError
from .fileformat import unit_dependencies, unit_to_dict, units_from_dict
from .model import NAME_RE, UnitDef, Units, unit_name, unit_type

if TYPE_CHECKING:
    from ..project import Project

FORMAT = "torchloom-unit"
VERSION = 1
MAX_BYTES = 16 * 2**20


def library_dir() -> Path:
    path = data_dir() / "blocks"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class LibraryEntry:
    """One saved unit, as the palette lists it."""

    name: str
    path: Path
    doc: str
    inputs: list[str]
    params: list[str]


def _closure(units: Units, name: str) -> list[str]:
    """`name` first, then every unit it uses (directly or inside another), each listed
    after every unit that uses it; `reversed` of it is dependencies-first."""
    deps = unit_dependencies(units)
    seen: set[str] = set()
    post: list[str] = []

    def visit(n: str) -> None:
        if n in seen or n not in deps:
            return
        seen.add(n)  # mark before descending: a loop cannot recurse forever
        for d in deps[n]:
            visit(d)
        post.append(n)

    visit(name)
    return post[::-1]


def save_to_library(project: "Project", name: str, overwrite: bool = True) -> Path:
    """Write the unit `name` (with the units it uses) to ``<data>/blocks/<name>.json``."""
    defn = project.units.get(name)
    if defn is None:
        raise UnitError(f"this project has no unit {name}")
    path = library_dir() / f"{name}.json"
    if path.exists() and not overwrite:
        raise UnitError(f"My blocks already holds a {name}: choose another name or replace it")
    names = _closure(project.units, name)
    data: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": name,
                            "unit": unit_to_dict(defn)}
    inner = {n: unit_to_dict(project.units.defs[n]) for n in names[1:]}
    if inner:
        data["units"] = inner
    try:
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    except OSError as exc:
        raise ProjectFileError(f"cannot be saved: {exc.strerror or exc}", path=str(path)) from None
    return path


def _read(path: Path) -> Units:
    """The units of a library file (the saved one under its own name, and its inner ones)."""
    from ..project import _Reader

    shown = str(path)
    try:
        data = json.loads(read_limited(path, MAX_BYTES).decode("utf-8"))
    except FileTooBigError:
        raise ProjectFileError(f"is too big for a block-library file (at most "
                               f"{MAX_BYTES // 2**20} MiB)", path=shown) from None
    except FileNotFoundError:
        raise ProjectFileError("no such block in My blocks", path=shown) from None
    except OSError as exc:
        raise ProjectFileError(f"cannot be read: {exc.strerror or exc}", path=shown) from None
    except UnicodeDecodeError as exc:
        raise ProjectFileError(f"cannot be read: {exc}", path=shown) from None
    except json.JSONDecodeError as exc:
        raise ProjectFileError(f"not valid JSON: {exc.msg}", path=shown, line=exc.lineno,
                               column=exc.colno) from None
    r = _Reader(shown)
    data = r.obj(data, "the top level")
    if data.get("format") != FORMAT:
        raise r.fail(f'not a Torchloom block: "format" must be "{FORMAT}"', "format")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise r.fail('"version" must be a whole number >= 1', "version")
    if version > VERSION:
        raise r.fail(f"made by a newer Torchloom (block format version {version})", "version")
    name = r.string(data.get("name"), "name", limit=100)
    if not NAME_RE.match(name):
        raise r.fail("not a valid unit name", "name")
    inner = r.obj(data.get("units", {}), "units")
    if name in inner:
        raise r.fail(f"lists {name} again among its inner units", f"units.{name}")
    return units_from_dict({name: data.get("unit"), **inner}, r, "units")


def library_units() -> list[LibraryEntry]:
    """Every readable unit in the library, by name; unreadable files are skipped (the
    palette must still open), `load_library_unit` says what is wrong with one."""
    entries = []
    for path in sorted(library_dir().glob("*.json")):
        try:
            units = _read(path)
        except ProjectFileError:
            continue
        name = path.stem
        defn = units.get(name)
        if defn is None:
            continue
        entries.append(LibraryEntry(name, path, defn.doc, [p.name for p in defn.inputs],
                                    list(defn.params)))
    return entries


def load_library_unit(name: str) -> UnitDef:
    """The saved unit `name` (its inner units are reachable through ``.graph.units``)."""
    if not NAME_RE.match(name):
        raise UnitError(f"'{name[:60]}' is not a unit name")
    path = library_dir() / f"{name}.json"
    units = _read(path)
    defn = units.get(name)
    if defn is None:
        raise ProjectFileError(f"does not hold the unit {name}", path=str(path))
    return defn


def delete_library_unit(name: str) -> None:
    if not NAME_RE.match(name):
        raise UnitError(f"'{name[:60]}' is not a unit name")
    (library_dir() / f"{name}.json").unlink(missing_ok=True)


def import_units(project: "Project", source: Units, name: str, as_name: str | None = None
                 ) -> str:
    """Copy the unit `name` of `source` (and the units it uses) into `project`.

    A unit of the same name that is identical is reused; a different one keeps its name
    and the imported unit gets a free one (``ResBlock2``), with the inner references
    rewritten. Returns the name the unit has in the project.
    """
    from ..project import _Reader

    names = _closure(source, name)
    raw = {n: unit_to_dict(source.defs[n]) for n in names}
    mapping: dict[str, str] = {}
    for n in reversed(names):  # dependencies first, so their new names are known
        body = _renamed(raw[n], mapping)
        wanted = as_name if (n == name and as_name) else n
        if not NAME_RE.match(wanted):
            raise UnitError(f"'{wanted[:60]}' cannot name a unit")
        same = _identical(project.units, wanted, body)
        if same is not None:  # already here (under its name, or an earlier import's)
            mapping[n] = same
            continue
        target = project.units.free_name(wanted)
        mapping[n] = target
        loaded = units_from_dict({target: body}, _Reader(None), "units")
        project.units.add(loaded.defs[target])
    return mapping[name]


def _identical(units: Units, wanted: str, body: dict[str, Any]) -> str | None:
    """The name of a unit equal to `body` among `wanted`, `wanted2`, `wanted3`..."""
    candidates = [wanted] + [n for n in units if re.fullmatch(re.escape(wanted) + r"\d+", n)]
    for name in candidates:
        existing = units.get(name)
        if existing is not None and unit_to_dict(existing) == body:
            return name
    return None


def _renamed(body: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    nodes = []
    for node in body.get("nodes", []):
        inner = unit_name(node.get("type"))
        if inner in mapping:
            node = {**node, "type": unit_type(mapping[inner])}
        nodes.append(node)
    return {**body, "nodes": nodes}


def import_library_unit(project: "Project", name: str, as_name: str | None = None) -> str:
    """Bring a saved unit into `project` (see `import_units`); returns its name there."""
    defn = load_library_unit(name)
    return import_units(project, defn.graph.units, name, as_name)
