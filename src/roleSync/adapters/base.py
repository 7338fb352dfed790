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
from roleSync.plan.types import HandoffTask, MetricWrite, OwnershipChange, RelatedChange


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


@dataclass(slots=True)
class RelatedResult:
    """What `apply_related` did with each carried record and each handoff task.

    Carried records are keyed by `plan.types.related_key` ("deal:006..."), tasks by
    `HandoffTask.key`."""

    applied: list[str] = field(default_factory=list)
    # Already owned by the target owner: nothing written (a re-run, or a person did it).
    already_applied: list[str] = field(default_factory=list)
    # key -> owner found now: someone moved the record since the plan was made; or a
    # carried deal or task that is closed now (a closed record never moves).
    conflicts: dict[str, str | None] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # key -> why
    tasks_created: list[str] = field(default_factory=list)
    # The task's key was found in the CRM: created before (by an earlier attempt of
    # this handoff), not created again.
    tasks_existing: list[str] = field(default_factory=list)
    tasks_failed: dict[str, str] = field(default_factory=dict)


class RelatedJournal(Protocol):
    """Like ApplyJournal, for carried records and handoff tasks: `intent` returns once
    the batch is durably recorded and is called before it is sent (only entries about to
    be written: compare-and-set passed, task not found); `result` after its answer. An
    entry of an intent missing from its result is still open. Batch numbers count from
    0 within one `apply_related` call; a batch holds records or tasks, never both."""

    def intent(self, batch_no: int, entries: Sequence[RelatedChange | HandoffTask]) -> None: ...

    def result(self, batch_no: int, result: RelatedResult) -> None: ...


@runtime_checkable
class RelatedWriter(Protocol):
    """An adapter that writes what a handoff carries: the owners of related records and
    new handoff tasks. Every adapter of roleSync is one; a plan with carried records or
    tasks is refused by an adapter that is not (nothing written)."""

    def apply_related(
        self,
        changes: Sequence[RelatedChange],
        tasks: Sequence[HandoffTask],
        journal: RelatedJournal | None = None,
    ) -> RelatedResult:
        """Write each record's owner, compare-and-set: a record whose owner is no longer
        `from_owner_id`, or a deal or task closed since, is a conflict, left untouched;
        one at `to_owner_id` already is already applied; a record gone or a target owner
        inactive is failed. Create each task unless one with its key exists (then it is
        `tasks_existing`), so that no task is ever created twice. Batched: Salesforce
        sObject Collections (200 records a request; Bulk API 2.0 above the threshold) with
        Sforce-Auto-Assign FALSE, HubSpot batch endpoints (100 a request)."""
        ...


@runtime_checkable
class RelatedBudget(Protocol):
    """Optional: told before `apply` what `apply_related` will write after it, so that a
    budget check made before the first write counts the whole run, and a run the budget
    cannot finish stops before it moves an account without its records."""

    def expect_related(
        self, changes: Sequence[RelatedChange], tasks: Sequence[HandoffTask]
    ) -> None: ...


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
