"""Which keys a handoff block may hold together, by trigger: each mistake one positioned
error at the key (a rule file never has a key that silently does nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from roleSync.rules.schema import Handoff


def check_handoff_keys(block: Handoff) -> None:
    """Raise the first key mistake of `block` (PydanticCustomError, at its key). Triggers
    are compared by value (they are StrEnums): the schema imports this module."""
    needs = {"stage_reached": "stage", "lifecycle_became": "lifecycle"}
    for trigger, key in needs.items():
        given = getattr(block, key) is not None
        if block.trigger == trigger and not given:
            raise PydanticCustomError(
                "missing-key", f"trigger {trigger} needs '{key}'", {"key": "trigger"}
            )
        if block.trigger != trigger and given:
            raise PydanticCustomError(
                "ignored-key", f"'{key}' is only meaningful with trigger {trigger}", {"key": key}
            )
    if block.kinds is not None and block.trigger != "stage_reached":
        raise PydanticCustomError(
            "ignored-key", "'kinds' is only meaningful with trigger stage_reached", {"key": "kinds"}
        )
    named = [name for entry in block.carry for name in entry.objects]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if repeated:
        raise PydanticCustomError(
            "carry-twice", f"carry names {repeated[0]} twice", {"key": "carry"}
        )
    if block.trigger == "owner_left":
        _owner_left_keys(block.model_fields_set)
        if block.tasks is not None and block.tasks.previous_owner is not None:
            raise PydanticCustomError(
                "ignored-key",
                "'tasks.previous_owner' is not meaningful with trigger owner_left: the previous "
                "owner left, and no task goes to someone who left",
                {"key": "tasks"},
            )
    elif block.routes is not None:
        raise PydanticCustomError(
            "ignored-key",
            "'routes' in a handoff block is only meaningful with trigger owner_left",
            {"key": "routes"},
        )
    if block.since is not None and block.max_age_days is not None:
        raise PydanticCustomError(
            "age-limit", "give 'max_age_days' or 'since', not both", {"key": "since"}
        )


# owner_left has no trigger date (a book does not say when an owner was deactivated) and
# takes the departed owner whatever their role: these keys would silently do nothing.
_NOT_FOR_OWNER_LEFT = (
    "delay_days",
    "max_age_days",
    "since",
    "from_roles",
    "from_inactive_owners",
)


def _owner_left_keys(given: set[str]) -> None:
    for key in _NOT_FOR_OWNER_LEFT:
        if key in given:
            raise PydanticCustomError(
                "ignored-key",
                f"'{key}' is not meaningful with trigger owner_left: it fires on the plan's "
                "date for every account of a deactivated owner",
                {"key": key},
            )
