"""`rolesync rollback RUN_ID`: undo one run's ownership changes, as a run of its own.

The reverse plan comes from the audit log, not from the run's plan: only changes that
were actually applied are undone (to -> from). An account whose owner is no longer the
one the run left it with was changed since, by a person or a later run: it is skipped
and reported, never overwritten; so is an account whose previous owner is inactive now
(inactive owners never receive accounts). The rollback is applied like any plan (lock,
recovery of an interrupted run, guardrails, journal, audit), under a new run id whose
row names the run it undoes.

Records the run carried with its accounts (routing.yaml `carry`) go back with them, to
the owner each had before the run, compare-and-set like the accounts. Handoff tasks the
run created are left in the CRM, and the rollback's report says how many.

Rolling back does not change the rules: if they still say so, the next sync plans the
same handoffs again. Roll back, then fix the rules (or mark accounts do-not-route).
"""

from __future__ import annotations

from datetime import date

from roleSync.adapters.base import Adapter
from roleSync.errors import UsageError
from roleSync.model import Book, DealWindow
from roleSync.plan import PLAN_FORMAT, OwnershipChange, Plan, Skip
from roleSync.plan.types import RelatedChange, RelatedObject
from roleSync.profile import Profile
from roleSync.sync.recorder import Clock
from roleSync.sync.recovery import recover
from roleSync.sync.report import RelatedResultCode, RunReport
from roleSync.sync.runner import apply_plan, open_adapter, utc_now
from roleSync.sync.state_open import locked_state
from roleSync.sync.store import Outcome, StateStore
from roleSync.sync.store_related import HANDOFF_TASK


class RollbackSkip:
    CHANGED = "changed-since"
    GONE = "account-deleted"
    NO_OWNER = "no-previous-owner"
    INACTIVE = "previous-owner-inactive"
    LOCKED = "locked"


def not_rolled_back(skip: Skip) -> str:
    """How `rollback` and `rollback --dry-run` name an account left as it is."""
    return f"  not rolled back: {skip.account_id}: {skip.reason} [{skip.code}]"


def _known_run(store: StateStore, profile: Profile, run_id: str) -> None:
    run = store.run(run_id)
    if run is None or run.profile != profile.name:
        raise UsageError(f"no run {run_id!r} of profile {profile.name} in {store.label}")


def reverse_plan(store: StateStore, profile: Profile, run_id: str, book: Book, as_of: date) -> Plan:
    """The plan that restores the owners run `run_id` changed, from the book as it is now."""
    _known_run(store, profile, run_id)
    changes: list[OwnershipChange] = []
    skipped: list[Skip] = []
    for row in store.audit(run_id):
        if row.result != Outcome.APPLIED:
            continue
        account = book.accounts.get(row.account_id)
        if account is None:
            skipped.append(
                Skip(row.account_id, row.account_name, None, RollbackSkip.GONE, "no longer exists")
            )
        elif account.owner_id != row.to_owner:
            reason = (
                f"changed since run {run_id}: owner is {account.owner_id or 'nobody'}, "
                f"not {row.to_owner} as the run left it"
            )
            skipped.append(
                Skip(account.id, account.name, account.owner_id, RollbackSkip.CHANGED, reason)
            )
        elif row.from_owner is None:
            reason = "had no owner before the run; roleSync never clears an owner"
            skipped.append(
                Skip(account.id, account.name, account.owner_id, RollbackSkip.NO_OWNER, reason)
            )
        elif not (previous := book.owners.get(row.from_owner)) or not previous.active:
            reason = f"the owner before the run, {row.from_owner}, is inactive or gone now"
            skipped.append(
                Skip(account.id, account.name, account.owner_id, RollbackSkip.INACTIVE, reason)
            )
        elif account.locked:
            reason = "account is marked do-not-route"
            skipped.append(
                Skip(account.id, account.name, account.owner_id, RollbackSkip.LOCKED, reason)
            )
        else:
            changes.append(
                OwnershipChange(
                    account.id,
                    account.name,
                    row.to_owner,
                    row.from_owner,
                    f"rollback:{run_id}",
                    f"rollback of run {run_id}: back to the owner before {row.rule_id}",
                )
            )
    related, tasks_left = _reverse_related(store, run_id, changes, skipped)
    summary = {"accounts": len(book.accounts), "handoffs": len(changes), "skipped": len(skipped)}
    if related:
        summary["carried"] = len(related)
    if tasks_left:
        summary["tasks_left"] = tasks_left
    return Plan(
        PLAN_FORMAT,
        profile.name,
        as_of,
        0,
        # What the rollback was computed from, in the place of a rules digest.
        f"rollback:{run_id}",
        [],
        changes,
        [],
        skipped,
        summary=summary,
        related_changes=related,
    )


def _reverse_related(
    store: StateStore, run_id: str, changes: list[OwnershipChange], skipped: list[Skip]
) -> tuple[list[RelatedChange], int]:
    """The carried records run `run_id` moved, back to their owners before it, for the
    accounts this rollback moves back (a record follows its account, as it did); and how
    many handoff tasks the run created, which a rollback leaves in the CRM: someone may
    have worked on them, and deleting a person's to-do is not roleSync's to do. Whether
    each record is still where the run left it is compare-and-set at apply time."""
    restored = {c.account_id: c for c in changes}
    related: list[RelatedChange] = []
    tasks_left = 0
    for row in store.related_audit(run_id):
        if row.object == HANDOFF_TASK:
            tasks_left += row.result == RelatedResultCode.CREATED
            continue
        if row.result != RelatedResultCode.APPLIED or row.account_id not in restored:
            continue  # its account stays (changed since, gone, ...): so does the record
        if row.from_owner is None:
            account = restored[row.account_id]
            reason = (
                f"{row.object} {row.record_id} had no owner before run {run_id}; roleSync "
                "never clears an owner"
            )
            skipped.append(
                Skip(account.account_id, account.account_name, account.from_owner_id,
                     RollbackSkip.NO_OWNER, reason)
            )  # fmt: skip
            continue
        related.append(
            RelatedChange(
                RelatedObject(row.object),
                row.record_id,
                row.account_id,
                row.to_owner,
                row.from_owner,
                f"rollback of run {run_id}: {row.object} {row.record_id} back to "
                f"{row.from_owner} with its account",
                trigger=row.trigger,
                handoff_id=row.handoff_id,
            )
        )
    return related, tasks_left


def decide(
    store: StateStore, profile: Profile, run_id: str, adapter: Adapter, today: date
) -> tuple[Plan, int]:
    """The reverse plan and the book's size: what `rollback` then applies and
    `rollback --dry-run` shows. Reads the CRM and the audit log; writes nothing."""
    # A rollback reads owners and accounts only: folding the deals into the smallest
    # window keeps none of them in memory (a held pull would).
    book = adapter.pull(DealWindow(today, 1))
    return reverse_plan(store, profile, run_id, book, today), len(book.accounts)


def rollback(
    profile: Profile, run_id: str, *, clock: Clock = utc_now, allow_large: bool = False
) -> RunReport:
    """lock -> finish an interrupted run -> pull -> reverse plan -> guardrails -> apply."""
    with locked_state(profile, clock) as store:
        _known_run(store, profile, run_id)  # before any CRM call
        adapter = open_adapter(profile, clock)
        try:
            recover(store, profile, adapter, clock=clock)
            today = clock().date()
            plan, book_accounts = decide(store, profile, run_id, adapter, today)
            return apply_plan(
                profile,
                plan,
                adapter,
                book_accounts=book_accounts,
                mode="rollback",
                clock=clock,
                allow_large=allow_large,
                store=store,
                parent_run=run_id,
            )
        finally:
            adapter.close()
