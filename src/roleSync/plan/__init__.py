"""Planning: decisions -> Plan, the plan file, and the plan's entry types (pure core)."""

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
