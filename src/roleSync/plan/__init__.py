"""Planning: decisions -> Plan, the plan file, and the plan's entry types (pure core).

The names below load on first use (PEP 562): importing one submodule, such as
`roleSync.plan.types`, does not import the rest, which keeps start-up fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from roleSync.plan.build import HandedOff, PlanInputs, build_plan
    from roleSync.plan.document import PLAN_FORMAT, Duplicate, Plan, duplicate_entries
    from roleSync.plan.types import (
        MetricWrite,
        OwnerRole,
        OwnershipChange,
        Skip,
        SkipCode,
        same_value,
    )

_WHERE = {
    "HandedOff": "roleSync.plan.build",
    "PlanInputs": "roleSync.plan.build",
    "build_plan": "roleSync.plan.build",
    "PLAN_FORMAT": "roleSync.plan.document",
    "Duplicate": "roleSync.plan.document",
    "Plan": "roleSync.plan.document",
    "duplicate_entries": "roleSync.plan.document",
    "MetricWrite": "roleSync.plan.types",
    "OwnerRole": "roleSync.plan.types",
    "OwnershipChange": "roleSync.plan.types",
    "Skip": "roleSync.plan.types",
    "SkipCode": "roleSync.plan.types",
    "same_value": "roleSync.plan.types",
}

__all__ = [
    "PLAN_FORMAT",
    "Duplicate",
    "HandedOff",
    "MetricWrite",
    "OwnerRole",
    "OwnershipChange",
    "Plan",
    "PlanInputs",
    "Skip",
    "SkipCode",
    "build_plan",
    "duplicate_entries",
    "same_value",
]


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value
