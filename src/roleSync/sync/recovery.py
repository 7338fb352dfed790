"""Finish what a crashed run started, before the next run does anything of its own.

A run killed mid-apply (kill -9, OOM, a reboot) leaves, in the journal, batches whose
intent was recorded but not their result: those writes may or may not have reached
the CRM. The next run of the profile (it holds the lock, so the crashed run is surely
dead) re-reads the current owner of every change of that run without a final outcome
and decides it:

- owner == to, and a write was journaled: our write landed -> applied;
- owner == to, no write journaled: someone else did it -> already applied;
- owner == from: the write never happened -> written now, finishing the run;
- anything else (or locked): a human changed it since -> conflict, left alone.

Then the rest of the crashed run's plan is applied, under the crashed run's id, so its
audit log ends up with every change exactly once. The journal is what makes "applied"
exact: a change is only ever counted as applied by the run that journaled its write.

A recovery that fails (the same crash again, a CRM that refuses the rest) is one line
naming the run, `rolesync runs show` and `rolesync runs abandon` (RecoveryError): the
run stays unfinished, so every later sync, apply and rollback would meet it again until
its cause is fixed or a person gives it up. Commands that only read (plan, runs, report)
and `runs abandon` never recover, so a stuck run blocks none of them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import suppress

from roleSync.adapters.base import Adapter, ApplyResult, OwnerReader
from roleSync.errors import InputError, RoleSyncError
from roleSync.plan import OwnershipChange
from roleSync.profile import Profile
from roleSync.sync import interrupt
from roleSync.sync.logs import event
from roleSync.sync.recorder import Clock, RunRecorder, cause_of, run_plan
from roleSync.sync.report import RunReport
from roleSync.sync.store import (
    ChangeOutcome,
    Outcome,
    RunRow,
    RunStatus,
    StateError,
    StateStore,
)

GONE = "account no longer exists"


def _way_out(run_id: str, profile: Profile) -> str:
    source = profile.source_path
    where = "-c PROFILE" if source.startswith("<") else f"-c {source}"
    return (
        f"inspect it with 'rolesync runs show {run_id} {where}' and, to give it up, "
        f"'rolesync runs abandon {run_id} {where} --reason TEXT'"
    )


class RecoveryError(RoleSyncError):
    """An unfinished run could not be finished: what to look at, and the way out."""

    def __init__(self, run_id: str, profile: Profile, cause: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} could not be recovered: {cause}; {_way_out(run_id, profile)}"
        )


class RunStoppedError(RoleSyncError):
    """A run's apply failed in a way no check foresaw: the run is left for the next one
    to finish, and this says so in one line instead of a traceback."""

    def __init__(self, run_id: str, profile: Profile, cause: str) -> None:
        self.run_id = run_id
        super().__init__(
            f"run {run_id} stopped during apply: {cause}; what it wrote is journaled and "
            f"the next sync, apply or rollback of profile {profile.name} finishes it; "
            f"{_way_out(run_id, profile)}"
        )


def unexpected(exc: BaseException) -> bool:
    """An error none of roleSync's checks produced: not one of its own (which say what
    happened), not the file system's or SQLite's (which name their file), not a signal."""
    return isinstance(exc, Exception) and not isinstance(
        exc, (RoleSyncError, OSError, sqlite3.Error)
    )


def reconcile(
    changes: Sequence[OwnershipChange], current: Mapping[str, str | None], intended: set[str]
) -> tuple[list[ChangeOutcome], list[OwnershipChange]]:
    """Pure: (decided outcomes, changes still to write) from the owners found now."""
    decided: list[ChangeOutcome] = []
    again: list[OwnershipChange] = []
    for change in changes:
        if change.account_id not in current:
            decided.append(ChangeOutcome(change, Outcome.FAILED, error=GONE))
            continue
        owner = current[change.account_id]
        if owner == change.to_owner_id:
            ours = change.account_id in intended
            decided.append(ChangeOutcome(change, Outcome.APPLIED if ours else Outcome.ALREADY))
        elif owner == change.from_owner_id:
            again.append(change)
        else:
            decided.append(ChangeOutcome(change, Outcome.CONFLICT, found_owner=owner))
    return decided, again


def current_owners(adapter: Adapter, account_ids: Sequence[str]) -> dict[str, str | None]:
    """The CRM's owners now: the adapter's compare-and-set read if it has one (a few
    queries), otherwise a pull (incremental for the remote adapters)."""
    if not account_ids:
        return {}
    if isinstance(adapter, OwnerReader):
        return adapter.current_owners(account_ids)
    accounts = adapter.pull().accounts
    return {a: accounts[a].owner_id for a in account_ids if a in accounts}


def recover(
    store: StateStore, profile: Profile, adapter: Adapter, *, clock: Clock
) -> list[RunReport]:
    """Reconcile and finish every unfinished run of the profile, oldest first. Call
    with the profile's lock held: only then is an `applying` run surely dead."""
    reports = []
    for run in store.unfinished_runs(profile.name):
        try:
            with interrupt.writing():
                report = _finish(store, profile, run, adapter, clock)
        except interrupt.Interrupted as exc:
            exc.run_id = exc.run_id or run.id
            raise
        except (StateError, OSError, sqlite3.Error):
            # The state store or the file system failed, not the run: abandoning it
            # would not help, and those errors name their file.
            raise
        except Exception as exc:
            cause = cause_of(exc)
            with suppress(Exception):  # the run's own error matters more than this one
                store.set_status(run.id, RunStatus.INTERRUPTED, message=f"recovery failed: {cause}")
            raise RecoveryError(run.id, profile, cause) from exc
        if report is not None:
            reports.append(report)
    # A stop asked for while the last of them was closing: before a new run begins.
    interrupt.checkpoint()
    return reports


def _finish(
    store: StateStore, profile: Profile, run: RunRow, adapter: Adapter, clock: Clock
) -> RunReport | None:
    try:
        plan = run_plan(store, run)
    except InputError as exc:
        # Without its plan the run cannot be finished; say so once and move on rather
        # than block every future run of the profile.
        message = f"cannot finish after an interruption: {exc}"
        store.finish_run(
            run.id,
            status=RunStatus.FAILED,
            finished=clock().isoformat(),
            report_path="",
            message=message,
        )
        event("recovery-failed", message, level=logging.ERROR, run_id=run.id)
        return None
    recorder = RunRecorder(store, profile, plan, run, clock)
    audited = store.audited_accounts(run.id)
    open_changes = [c for c in plan.changes if c.account_id not in audited]
    current = current_owners(adapter, [c.account_id for c in open_changes])
    decided, again = reconcile(open_changes, current, store.intended_accounts(run.id))
    recorder.record(decided)
    found = sum(1 for d in decided if d.result == Outcome.APPLIED)
    conflicts = sum(1 for d in decided if d.result == Outcome.CONFLICT)
    message = (
        f"run {run.id} was interrupted ({run.status}); finishing it: {len(audited)} changes "
        f"had an outcome, {found} found applied, {len(again)} to write, {conflicts} conflicts"
    )
    event(
        "recovering",
        message,
        level=logging.WARNING,
        run_id=run.id,
        had_outcome=len(audited),
        found_applied=found,
        to_write=len(again),
        conflicts=conflicts,
    )
    result = ApplyResult()
    try:
        if again or plan.metric_writes:
            # Metric values are idempotent: all of them again is simpler than tracking them.
            result = adapter.apply(again, plan.metric_writes, recorder.journal())
        # What the accounts carry: records found at their target and tasks found by
        # their key are recognised (and, if this run journaled them, its own).
        recorder.carry(result, adapter)
    except BaseException as exc:
        recorder.interrupted(exc)
        raise
    return recorder.finish(result, message=f"finished after an interruption ({run.status})")
