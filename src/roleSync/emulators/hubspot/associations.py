"""HubSpot-defined association types between the emulated object types.

Each pair has an unlabeled default type and, where HubSpot has one, a "Primary" label
(a deal's or contact's primary company). v4 answers list both type ids; v3 lists
each association once per type name (`company_to_deal`, `company_to_deal_unlabeled`).
Creates name types by id (`associationCategory: HUBSPOT_DEFINED`, `associationTypeId`):
task to company is 192, task to contact 204, task to deal 216.
"""

from __future__ import annotations

from typing import Any

# (from type, to type) -> (unlabeled type id, primary type id or None, v3 name)
TYPES: dict[tuple[str, str], tuple[int, int | None, str]] = {
    ("companies", "deals"): (342, 6, "company_to_deal"),
    ("deals", "companies"): (341, 5, "deal_to_company"),
    ("companies", "contacts"): (280, 2, "company_to_contact"),
    ("contacts", "companies"): (279, 1, "contact_to_company"),
    ("companies", "tasks"): (191, None, "company_to_task"),
    ("tasks", "companies"): (192, None, "task_to_company"),
    ("contacts", "tasks"): (203, None, "contact_to_task"),
    ("tasks", "contacts"): (204, None, "task_to_contact"),
    ("deals", "tasks"): (215, None, "deal_to_task"),
    ("tasks", "deals"): (216, None, "task_to_deal"),
}


def v4_types(source: str, target: str) -> list[dict[str, Any]]:
    """The `associationTypes` of a v4 result; empty when the pair cannot associate."""
    found = TYPES.get((source, target))
    if found is None:
        return []
    unlabeled, primary, _ = found
    types: list[dict[str, Any]] = [
        {"category": "HUBSPOT_DEFINED", "typeId": unlabeled, "label": None}
    ]
    if primary is not None:
        types.append({"category": "HUBSPOT_DEFINED", "typeId": primary, "label": "Primary"})
    return types


def v3_names(source: str, target: str) -> tuple[str, ...]:
    found = TYPES.get((source, target))
    if found is None:
        return ()
    _, primary, name = found
    return (name, f"{name}_unlabeled") if primary is not None else (name,)


def target_of(source: str, category: Any, type_id: Any) -> str | None:
    """The object type a HUBSPOT_DEFINED type id associates `source` with, if any."""
    if category != "HUBSPOT_DEFINED" or isinstance(type_id, bool):
        return None
    for (from_type, to_type), (unlabeled, primary, _) in TYPES.items():
        if from_type == source and type_id in (unlabeled, primary):
            return to_type
    return None
