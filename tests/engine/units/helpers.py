"""Small unit projects the unit tests share."""

from __future__ import annotations

import copy
import json
from typing import Any

from torchloom.engine.project import Project, loads_project

RES_UNIT: dict[str, Any] = {
    "nodes": [
        {"id": "in", "type": "Input", "params": {"shape": [8, 16, 16]}, "pos": [0, 0]},
        {"id": "conv1", "type": "Conv2d",
         "params": {"out_channels": 8, "kernel_size": 3, "padding": 1}, "pos": [100, 0]},
        {"id": "relu1", "type": "ReLU", "pos": [200, 0]},
        {"id": "conv2", "type": "Conv2d",
         "params": {"out_channels": 8, "kernel_size": 3, "padding": 1}, "pos": [300, 0]},
        {"id": "add", "type": "Add", "pos": [400, 0]},
        {"id": "relu2", "type": "ReLU", "pos": [500, 0]}],
    "edges": [{"from": "in", "to": "conv1"}, {"from": "conv1", "to": "relu1"},
              {"from": "relu1", "to": "conv2"}, {"from": "conv2", "to": "add"},
              {"from": "in", "to": "add"}, {"from": "add", "to": "relu2"}],
    "inputs": [{"name": "in", "node": "in"}],
    "outputs": [{"name": "out", "node": "relu2"}],
    "params": {"channels": {"default": 8, "targets": [
        {"node": "conv1", "param": "out_channels"},
        {"node": "conv2", "param": "out_channels"}]}},
}


def res_data(repeat: int = 1, channels: int = 8, stem: int = 8) -> dict[str, Any]:
    """Input [3, 16, 16] -> stem conv -> unit:ResBlock -> pool -> flatten -> fc(3)."""
    return {
        "format": "torchloom-project", "version": 1, "name": "units demo",
        "graph": {"nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [3, 16, 16]}},
            {"id": "stem", "type": "Conv2d",
             "params": {"out_channels": stem, "kernel_size": 3, "padding": 1}},
            {"id": "block1", "type": "unit:ResBlock",
             "params": {"repeat": repeat, "channels": channels}},
            {"id": "pool", "type": "AdaptiveAvgPool2d", "params": {"output_size": 1}},
            {"id": "flat", "type": "Flatten"},
            {"id": "fc", "type": "Linear", "params": {"out_features": 3}}],
            "edges": [{"from": "x", "to": "stem"}, {"from": "stem", "to": "block1"},
                      {"from": "block1", "to": "pool"}, {"from": "pool", "to": "flat"},
                      {"from": "flat", "to": "fc"}]},
        "units": {"ResBlock": copy.deepcopy(RES_UNIT)},
        "dataset": {"name": "shapes"},
    }


def res_project(**kwargs: Any) -> Project:
    return loads_project(json.dumps(res_data(**kwargs)))


def load(data: dict[str, Any]) -> Project:
    return loads_project(json.dumps(data))
