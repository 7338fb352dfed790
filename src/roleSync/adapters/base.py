"""The adapter protocol: pull a Book, apply ownership changes and metric writes.

Adapters are the only place with I/O against a CRM. They receive plan entries and
report, per entry, what happened; they never decide what to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from roleSync.model import Book, FieldValue


@dataclass(frozen=True, slots=True)
class OwnershipChange:
    """Move one account from one owner to another, for a stated rule and reason."""

    account_id: str
    account_name: str
    from_owner_id: str | None
    to_owner_id: str
    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class MetricWrite:
    """Write role and role metrics of one owner into the profile's destination fields."""

    owner_id: str
    values: Mapping[str, FieldValue]


@dataclass(slots=True)
class ApplyResult:
    applied: list[str] = field(default_factory=list)  # account ids written
    # Account ids already owned by the target owner: nothing written, so re-applying a
    # plan (after a crash, or twice by hand) is harmless.
    already_applied: list[str] = field(default_factory=list)
    # account id -> owner found in the CRM: someone changed it after the plan was made.
    conflicts: dict[str, str | None] = field(default_factory=dict)
    # account id -> error text (deleted account, CRM refusal, ...)
    failed: dict[str, str] = field(default_factory=dict)
    metrics_written: list[str] = field(default_factory=list)  # owner ids
    metrics_failed: dict[str, str] = field(default_factory=dict)


class Adapter(Protocol):
    """What every connector implements."""

    def pull(self) -> Book:
        """A full snapshot of owners, accounts and deals."""
        ...

    def apply(
        self, changes: Sequence[OwnershipChange], metric_writes: Sequence[MetricWrite]
    ) -> ApplyResult:
        """Write the changes; an account whose owner is no longer `from_owner_id` is a
        conflict and is left untouched (compare-and-set)."""
        ...

    def close(self) -> None: ...
