"""Units: named sub-graphs used as one block (``unit:<Name>``), with promoted parameters,
`repeat`, group/ungroup and a personal block library. See docs/project-format.md."""

from .edit import (GroupPlan, GroupResult, PortInfo, UngroupResult, UnitNodeInfo,
                   flatten_units, group, plan_group, promote, ungroup, unit_node_info)
from .errors import UnitError, UnitInnerError
from .model import (REPEAT, UNIT_PREFIX, PromotedParam, Target, UnitBlock, UnitDef, UnitPort,
                    Units, unit_name, unit_type)

__all__ = [
    "GroupPlan", "GroupResult", "PortInfo", "PromotedParam", "REPEAT", "Target", "UNIT_PREFIX",
    "UngroupResult", "UnitBlock", "UnitDef", "UnitError", "UnitInnerError", "UnitNodeInfo",
    "UnitPort", "Units", "flatten_units", "group", "plan_group", "promote", "ungroup", "unit_name",
    "unit_node_info", "unit_type",
]
