"""The personal block library: one JSON file per unit in the user-data folder."""

from __future__ import annotations

import json

import pytest

from torchloom.engine.errors import ProjectFileError
from torchloom.engine.project import dumps_project, load_project, loads_project
from torchloom.engine.resources import examples_dir
from torchloom.engine.shapes import infer
from torchloom.engine.units import UnitError
from torchloom.engine.units.fileformat import unit_to_dict
from torchloom.engine.units.library import (import_library_unit, library_dir, library_units,
                                            load_library_unit, save_to_library)
from torchloom.engine.userdata import data_dir

from .helpers import res_project


def _empty_project():
    return load_project(examples_dir() / "mnist_cnn.json")


def test_save_list_load_and_import():
    project = res_project()
    path = save_to_library(project, "ResBlock")
    assert path == data_dir() / "blocks" / "ResBlock.json"
    saved = json.loads(path.read_text())
    assert saved["format"] == "torchloom-unit" and saved["version"] == 1
    assert saved["name"] == "ResBlock" and "units" not in saved
    [entry] = library_units()
    assert (entry.name, entry.inputs, entry.params) == ("ResBlock", ["in"], ["channels"])
    loaded = load_library_unit("ResBlock")
    assert unit_to_dict(loaded) == unit_to_dict(project.units.get("ResBlock"))

    other = _empty_project()
    assert import_library_unit(other, "ResBlock") == "ResBlock"
    assert import_library_unit(other, "ResBlock") == "ResBlock"  # identical: reused
    assert len(other.units) == 1
    other.graph.add_node("unit:ResBlock", {"channels": 64}, node_id="res")
    other.graph.disconnect(other.graph.in_edges("relu2")[0])
    other.graph.connect("conv2", "res")
    other.graph.connect("res", "relu2")
    analysis = infer(other.graph)
    assert analysis.ok, [e.describe() for e in analysis.errors]
    text = dumps_project(other)
    assert loads_project(text).units.get("ResBlock") is not None


def test_a_different_unit_of_the_same_name_is_imported_under_a_new_name():
    project = res_project()
    save_to_library(project, "ResBlock")
    other = res_project()
    other.units.get("ResBlock").params["channels"].default = 16
    other.units.get("ResBlock").graph.node("conv1").params["out_channels"] = 16
    assert import_library_unit(other, "ResBlock") == "ResBlock2"
    assert list(other.units) == ["ResBlock", "ResBlock2"]


def test_units_inside_a_saved_unit_travel_with_it():
    from torchloom.engine.units import group

    project = res_project()
    group(project, ["block1", "pool"], "Body")
    save_to_library(project, "Body")
    saved = json.loads((library_dir() / "Body.json").read_text())
    assert list(saved["units"]) == ["ResBlock"]
    other = res_project()  # has its own ResBlock (the same): reused, not duplicated
    assert import_library_unit(other, "Body") == "Body"
    assert sorted(other.units) == ["Body", "ResBlock"]
    third = _empty_project()
    third.units  # noqa: B018 - a project without units imports both
    import_library_unit(third, "Body", as_name="Trunk")
    assert sorted(third.units) == ["ResBlock", "Trunk"]


def test_broken_library_files_are_typed_errors_and_skipped_in_the_list():
    save_to_library(res_project(), "ResBlock")
    (library_dir() / "Broken.json").write_text("{not json")
    (library_dir() / "Wrong.json").write_text(json.dumps({"format": "x"}))
    assert [e.name for e in library_units()] == ["ResBlock"]
    with pytest.raises(ProjectFileError) as info:
        load_library_unit("Broken")
    assert "Broken.json:1:2" in info.value.describe()
    with pytest.raises(ProjectFileError, match="not a Torchloom block"):
        load_library_unit("Wrong")
    with pytest.raises(ProjectFileError, match="no such block"):
        load_library_unit("Absent")
    with pytest.raises(UnitError):
        load_library_unit("../etc/passwd")
    with pytest.raises(UnitError):
        save_to_library(res_project(), "Nope")


def test_importing_the_same_block_twice_beside_a_different_one_reuses_the_copy():
    save_to_library(res_project(), "ResBlock")
    other = res_project()
    other.units.get("ResBlock").graph.node("conv1").params["kernel_size"] = 1
    assert import_library_unit(other, "ResBlock") == "ResBlock2"
    assert import_library_unit(other, "ResBlock") == "ResBlock2"
    assert list(other.units) == ["ResBlock", "ResBlock2"]
