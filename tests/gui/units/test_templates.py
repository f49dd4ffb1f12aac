"""The unit templates fit one desktop screen, legibly: a ResNet-18-sized CNN and a 6-layer
transformer encoder, each as units, in a 1600x1000 window after fit-to-view."""

from __future__ import annotations

import pytest

from tests.gui.conftest import settle

#: At this zoom a node's 9 pt text is drawn at about 7 px: the smallest still readable.
LEGIBLE_ZOOM = 0.7


@pytest.mark.parametrize("name, units", [("resnet18_units.json", 7),
                                         ("transformer6_units.json", 1)])
def test_unit_template_fits_one_screen(window, example, name, units):
    window.resize(1600, 1000)
    settle()
    doc = example(name)
    window.view.fit()
    settle()
    assert doc.analysis.ok
    view = window.view
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    items = window.scene.node_items.values()
    assert all(visible.contains(item.sceneBoundingRect()) for item in items)
    assert view.zoom() >= LEGIBLE_ZOOM
    unit_items = [i for i in items if i.is_unit]
    assert len(unit_items) == units
    if name.startswith("transformer"):
        assert unit_items[0].repeat_text() == "×6"
    window.grab().save(f"/tmp/units_{name[:-5]}.png")


def test_promoted_parameter_in_the_inspector_resizes_the_unit(window, example):
    doc = example("resnet18_units.json")
    before = doc.analysis.nodes["layer1"].num_params
    window.focus_node("layer1")
    settle()
    assert set(window.inspector.fields) == {"repeat", "channels"}
    assert window.inspector_commit("layer1", "repeat", 1) is None
    settle()
    one = doc.analysis.nodes["layer1"].num_params
    assert one * 2 == before
    assert window.open_unit("layer1")
    settle()
    window.focus_node("conv1")
    settle()
    assert not window.inspector.fields["out_channels"].widget.isEnabled()  # set by channels
