"""A run's second phase: the records each handoff carries and the tasks it creates.

After the accounts are written, each carried record (routing.yaml `carry`) and each
handoff task (`tasks`) of an account that is now with its new owner (applied or already
applied in this run) is written through the adapter's `apply_related`, journaled batch
by batch and audited once (sync.store_related). Those of an account that did not move
(a conflict, a failure, refused on re-check) are audited `skipped`: a record follows its
account or stays.

Idempotent by construction, so a crashed run is finished by running this phase again
(sync.recovery): a record found at its target is already applied, a task found by its
key already created; the journal tells which of those were this run's own writes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from roleSync.adapters.base import Adapter, RelatedResult, RelatedWriter
from roleSync.errors import RoleSyncError
from roleSync.plan import Plan
from roleSync.plan.types import HandoffTask, RelatedChange
from roleSync.sync import interrupt
from roleSync.sync.logs import event
from roleSync.sync.report import RelatedOutcome, RelatedResultCode, TaskOutcome
from roleSync.sync.store import Outcome, RunRow, StateStore
from roleSync.sync.store_related import RelatedOutcomeRow, entry_key

Clock = Callable[[], datetime]
Entry = RelatedChange | HandoffTask
NO_RESULT = "the adapter reported no result for this entry"
# Account outcomes after which the account is with its new owner.
_MOVED = (Outcome.APPLIED, Outcome.ALREADY)


def has_related(plan: Plan) -> bool:
    return bool(plan.related_changes or plan.task_creates)


def refuse_unless_writer(plan: Plan, adapter: Adapter) -> None:
    """A plan that carries records or creates tasks needs an adapter that writes them:
    otherwise it is refused whole, before anything is written (applying the account
    moves alone would silently drop the rest)."""
    if has_related(plan) and not isinstance(adapter, RelatedWriter):
        raise RoleSyncError(
            f"this plan carries {len(plan.related_changes)} related records and creates "
            f"{len(plan.task_creates)} handoff tasks, which this adapter cannot write; "
            "nothing written"
        )


def _entries(plan: Plan) -> list[Entry]:
    return [*plan.related_changes, *plan.task_creates]


def tasks_by_key(entries: dict[str, Entry]) -> dict[str, HandoffTask]:
    """Handoff tasks by their key (results name tasks by key, records by entry key)."""
    return {e.key: e for e in entries.values() if isinstance(e, HandoffTask)}


def outcomes_of(
    result: RelatedResult,
    entries: dict[str, Entry],
    intended: set[str],
    tasks: dict[str, HandoffTask] | None = None,
) -> list[RelatedOutcomeRow]:
    """Audit rows for what a result decided. `intended`: entries this run journaled a
    write of; found at their target (or a task found by its key) they are this run's own
    write, landed before a crash, so applied (created), not already applied. `tasks`:
    `tasks_by_key(entries)`, when the caller keeps it across batches (built otherwise:
    per batch, that would make a run's finishing quadratic)."""
    rows: list[RelatedOutcomeRow] = []
    tasks = tasks_by_key(entries) if tasks is None else tasks

    def ours(entry: Entry) -> bool:
        return entry_key(entry) in intended

    for key in result.applied:
        if key in entries:
            rows.append(RelatedOutcomeRow(entries[key], RelatedResultCode.APPLIED))
    for key in result.already_applied:
        if key in entries:
            code = RelatedResultCode.APPLIED if ours(entries[key]) else RelatedResultCode.ALREADY
            rows.append(RelatedOutcomeRow(entries[key], code))
    for key, found in result.conflicts.items():
        if key in entries:
            entry = entries[key]
            why = (
                "closed since the plan was made: a closed record never moves"
                if isinstance(entry, RelatedChange) and found == entry.from_owner_id
                else f"owner changed since the plan was made: now {found or 'nobody'}"
            )
            rows.append(RelatedOutcomeRow(entry, RelatedResultCode.CONFLICT, found, why))
    for key, why in result.failed.items():
        if key in entries:
            rows.append(RelatedOutcomeRow(entries[key], RelatedResultCode.FAILED, error=why))
    for key in result.tasks_created:
        if key in tasks:
            rows.append(RelatedOutcomeRow(tasks[key], RelatedResultCode.CREATED))
    for key in result.tasks_existing:
        if key in tasks:
            code = RelatedResultCode.CREATED if ours(tasks[key]) else RelatedResultCode.EXISTED
            rows.append(RelatedOutcomeRow(tasks[key], code))
    for key, why in result.tasks_failed.items():
        if key in tasks:
            rows.append(RelatedOutcomeRow(tasks[key], RelatedResultCode.FAILED, error=why))
    return rows


class StoreRelatedJournal:
    """The RelatedJournal of one run, numbering its batches after those already there.

    The entries journaled by this run (`intended`) are read from the store once and then
    kept here as intents are journaled: read per batch, they made finishing a large run
    quadratic (issue 19)."""

    def __init__(
        self,
        store: StateStore,
        run: RunRow,
        entries: dict[str, Entry],
        clock: Clock,
        advance: Callable[[int], None] = lambda _: None,
    ) -> None:
        self.store = store
        self.run = run
        self.entries = entries
        self.clock = clock
        self.tasks = tasks_by_key(entries)
        self.first_batch = store.next_related_batch_no(run.id)
        self.intended = store.related_intended(run.id)
        self.advance = advance
        self.decided: set[str] = set()  # entries a batch result decided (for progress)

    def intent(self, batch_no: int, entries: Sequence[Entry]) -> None:
        interrupt.checkpoint()  # a stop asked for lands between batches
        self.store.related_intent(
            self.run.id, self.first_batch + batch_no, entries, self.clock().isoformat()
        )
        # After the commit: only what the store holds counts as journaled.
        self.intended.update(entry_key(e) for e in entries)

    def result(self, batch_no: int, result: RelatedResult) -> None:
        number = self.first_batch + batch_no
        # An entry found already at its target may be a write of this run's that landed
        # before a crash: the journal says which.
        rows = outcomes_of(result, self.entries, self.intended, self.tasks)
        self.store.related_result(self.run.id, number, rows, self.clock().isoformat())
        fresh = {entry_key(r.entry) for r in rows} - self.decided
        self.decided |= fresh
        self.advance(len(fresh))
        event(
            "related-batch",
            f"run {self.run.id}: related batch {number}: {len(result.applied)} records "
            f"moved, {len(result.tasks_created)} tasks created, "
            f"{len(result.conflicts)} conflicts, "
            f"{len(result.failed) + len(result.tasks_failed)} failed",
            run_id=self.run.id,
            batch=number,
            applied=len(result.applied),
            tasks_created=len(result.tasks_created),
            conflicts=len(result.conflicts),
            failed=len(result.failed) + len(result.tasks_failed),
        )


def write_related(
    store: StateStore,
    run: RunRow,
    plan: Plan,
    adapter: Adapter,
    clock: Clock,
    advance: Callable[[int], None] = lambda _: None,
) -> None:
    """Write (or finish writing) the run's carried records and handoff tasks: those of
    the accounts the run's audit shows with their new owner; the rest skipped.
    `advance(n)`: n more entries decided (drives a progress bar)."""
    if not has_related(plan):
        return
    refuse_unless_writer(plan, adapter)
    assert isinstance(adapter, RelatedWriter)
    entries = {entry_key(e): e for e in _entries(plan)}
    done = store.related_audited(run.id)
    moved = {account: result for account, result, _, _ in store.audit_outcomes(run.id)}
    at = clock().isoformat()
    skipped: list[RelatedOutcomeRow] = []
    records: list[RelatedChange] = []
    tasks: list[HandoffTask] = []
    for key, entry in entries.items():
        if key in done:
            continue
        outcome = moved.get(entry.account_id)
        if outcome not in _MOVED:
            why = f"its account {entry.account_id} did not move ({outcome or 'no outcome'})"
            skipped.append(RelatedOutcomeRow(entry, RelatedResultCode.SKIPPED, error=why))
        elif isinstance(entry, HandoffTask):
            tasks.append(entry)
        else:
            records.append(entry)
    store.record_related(run.id, skipped, at)
    advance(len(skipped))
    if not records and not tasks:
        return
    journal = StoreRelatedJournal(store, run, entries, clock, advance)
    result = adapter.apply_related(records, tasks, journal)
    advance(len(records) + len(tasks) - len(journal.decided))
    # Outcomes decided without a write (conflicts, already there) and, after a crash,
    # writes found landed: audited now, the journal telling which were this run's.
    decided = outcomes_of(result, entries, journal.intended, journal.tasks)
    # Those a batch result audited as it came (or audited before this call) are not
    # recorded again (two statements each on a run of 800k entries); their journal rows
    # left open are closed in one pass.
    audited_before = done | journal.decided
    fresh = [r for r in decided if entry_key(r.entry) not in audited_before]
    store.record_related(run.id, fresh, clock().isoformat())
    store.close_related_audited(run.id, clock().isoformat())
    audited = store.related_audited(run.id)
    missing = [
        RelatedOutcomeRow(entries[k], RelatedResultCode.FAILED, error=NO_RESULT)
        for k in entries
        if k not in audited
    ]
    store.record_related(run.id, missing, clock().isoformat())
    if missing:
        event(
            "related-no-result",
            f"run {run.id}: {len(missing)} carried records or tasks had no result",
            level=logging.WARNING,
            run_id=run.id,
        )


def related_report(
    store: StateStore, run_id: str, plan: Plan
) -> tuple[list[RelatedOutcome], list[TaskOutcome]]:
    """The run's carried records and tasks with their audited outcomes, in plan order."""
    if not has_related(plan):
        return [], []
    rows = store.related_outcomes(run_id)
    unaudited = (RelatedResultCode.FAILED, None, NO_RESULT)
    related: list[RelatedOutcome] = []
    for change in plan.related_changes:
        result, found_owner, error = rows.get(entry_key(change), unaudited)
        related.append(
            RelatedOutcome(
                change.object.value,
                change.record_id,
                change.account_id,
                change.from_owner_id,
                change.to_owner_id,
                change.handoff_id,
                change.trigger,
                result,
                found_owner,
                error,
            )
        )
    tasks: list[TaskOutcome] = []
    for task in plan.task_creates:
        result, _, error = rows.get(entry_key(task), unaudited)
        tasks.append(
            TaskOutcome(
                task.key,
                task.account_id,
                task.owner_id,
                task.for_owner.value,
                task.subject,
                task.due_date,
                task.handoff_id,
                task.trigger,
                result,
                error,
            )
        )
    return related, tasks
