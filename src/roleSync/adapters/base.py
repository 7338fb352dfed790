"""The adapter protocol: pull a Book, apply ownership changes and metric writes.

Adapters are the only place with I/O against a CRM. They receive plan entries and
report, per entry, what happened; they never decide what to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from roleSync.model import Book, DealWindow

# The plan's entries are core types: adapters import them, never the reverse.
from roleSync.plan.types import MetricWrite, OwnershipChange


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
    # owner id -> why: a destination field holds a value other than the one the plan was
    # made from (someone wrote newer values since); nothing was written for that owner.
    metric_conflicts: dict[str, str] = field(default_factory=dict)


class ApplyJournal(Protocol):
    """Where an adapter reports each batch it writes, so a run killed at any point can be
    finished by the next one: `intent` returns only once the batch is durably recorded,
    and is called before the batch is sent; `result` after its answer.

    Batch numbers count from 0 within one `apply` call. An intent lists only the
    changes about to be written (compare-and-set already passed); a result may also
    carry changes decided without a write (already applied, conflict, failed). A change
    of the intent missing from the result is still open (to be retried or re-read)."""

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None: ...

    def result(self, batch_no: int, result: ApplyResult) -> None: ...


@runtime_checkable
class OwnerReader(Protocol):
    """Optional: read the current owners of some accounts straight from the CRM (the
    compare-and-set read), cheaper than a pull when reconciling a journal."""

    def current_owners(self, account_ids: Sequence[str]) -> dict[str, str | None]:
        """Account id -> owner now; accounts that no longer exist are absent."""
        ...


class Adapter(Protocol):
    """What every connector implements."""

    def pull(self, window: DealWindow | None = None) -> Book:
        """A full snapshot of owners, accounts and deals. With a window, deals are folded
        into that window's facts as they are read and not kept (`Book.folded`)."""
        ...

    def apply(
        self,
        changes: Sequence[OwnershipChange],
        metric_writes: Sequence[MetricWrite],
        journal: ApplyJournal | None = None,
    ) -> ApplyResult:
        """Write the changes; an account whose owner is no longer `from_owner_id` is a
        conflict and is left untouched (compare-and-set). With a `journal`, write in
        batches and report each batch's intent before it is sent and its result after."""
        ...

    def close(self) -> None: ...
