"""One run's bookkeeping in the state store: its row, its journal, its audit and report.

The audit log is the source of truth of a run's outcome: the report and the counts in
`rolesync runs` are computed from it, so a run finished in two goes (killed, then
completed by the next run) reports exactly what happened to every change, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from roleSync.adapters.base import Adapter, ApplyResult
from roleSync.errors import InputError, RoleSyncError
from roleSync.plan import OwnershipChange, Plan
from roleSync.plan.types import OwnerRole
from roleSync.profile import Profile
from roleSync.sync import interrupt
from roleSync.sync.guardrails import GuardrailError, exceeded, role_field, write_limits
from roleSync.sync.logs import event
from roleSync.sync.plan_pack import packed_plan, unpacked_plan
from roleSync.sync.related_phase import has_related, related_report, write_related
from roleSync.sync.report import RelatedResultCode, RunReport, build_report
from roleSync.sync.store import ChangeOutcome, Outcome, RunRow, RunStatus, StateStore
from roleSync.sync.store_archive import RuleFiles

Clock = Callable[[], datetime]
NO_RESULT = "the adapter reported no result for this change"


def cause_of(exc: BaseException) -> str:
    """One line for an error: roleSync's own say what happened; anything else (a bug,
    a value no check caught) is named by its type, without a traceback."""
    lines = str(exc).splitlines()
    text = lines[0] if lines else ""
    if not text:
        return type(exc).__name__
    # A signal's stop (not an Exception) says what it is too.
    if isinstance(exc, RoleSyncError) or not isinstance(exc, Exception):
        return text
    return f"{type(exc).__name__}: {text}"


def outcomes_of(result: ApplyResult, changes: Mapping[str, OwnershipChange]) -> list[ChangeOutcome]:
    """The per-change outcomes of an ApplyResult (metric writes are not changes)."""
    outcomes = [ChangeOutcome(changes[a], Outcome.APPLIED) for a in result.applied if a in changes]
    outcomes += [
        ChangeOutcome(changes[a], Outcome.ALREADY) for a in result.already_applied if a in changes
    ]
    outcomes += [
        ChangeOutcome(changes[a], Outcome.CONFLICT, found_owner=found)
        for a, found in result.conflicts.items()
        if a in changes
    ]
    outcomes += [
        ChangeOutcome(changes[a], Outcome.FAILED, error=error)
        for a, error in result.failed.items()
        if a in changes
    ]
    return outcomes


class StoreJournal:
    """The ApplyJournal of one run: every batch's intent and result into the store.
    The adapter numbers its batches from 0; a run resumed after a crash continues the
    numbering where the journal ends."""

    def __init__(
        self, store: StateStore, run: RunRow, changes: Mapping[str, OwnershipChange], clock: Clock
    ) -> None:
        self.store = store
        self.run = run
        self.changes = changes
        self.clock = clock
        self.first_batch = store.next_batch_no(run.id)

    def intent(self, batch_no: int, changes: Sequence[OwnershipChange]) -> None:
        # SIGTERM or SIGINT asked for a stop: here, every earlier batch is journaled
        # complete and this one not begun.
        interrupt.checkpoint()
        self.store.journal_intent(
            self.run.id, self.first_batch + batch_no, changes, self.clock().isoformat()
        )

    def result(self, batch_no: int, result: ApplyResult) -> None:
        number = self.first_batch + batch_no
        self.store.journal_result(
            self.run.id,
            number,
            outcomes_of(result, self.changes),
            rules_digest=self.run.rules_digest,
            at=self.clock().isoformat(),
        )
        event(
            "batch",
            f"run {self.run.id}: batch {number}: {len(result.applied)} applied, "
            f"{len(result.conflicts)} conflicts, {len(result.failed)} failed",
            run_id=self.run.id,
            batch=number,
            applied=len(result.applied),
            already_applied=len(result.already_applied),
            conflicts=len(result.conflicts),
            failed=len(result.failed),
        )


def result_from_audit(rows: Iterable[tuple[str, str, str | None, str]]) -> ApplyResult:
    """The run's per-account outcomes from its audit rows, as (account, result, found
    owner, error), oldest first."""
    result = ApplyResult()
    for account_id, outcome, found_owner, error in rows:
        if outcome == Outcome.APPLIED:
            result.applied.append(account_id)
        elif outcome == Outcome.ALREADY:
            result.already_applied.append(account_id)
        elif outcome == Outcome.CONFLICT:
            result.conflicts[account_id] = found_owner
        else:
            result.failed[account_id] = error
    return result


def guardrail_reasons(
    store: StateStore, profile: Profile, plan: Plan, book_accounts: int
) -> list[str]:
    """Why the plan is above the profile's guardrails; empty when within them."""
    reasons = exceeded(len(plan.changes), book_accounts, profile.guardrails)
    return reasons + write_limits(plan, profile, last_run_roles(store, profile, plan))


def last_run_roles(store: StateStore, profile: Profile, plan: Plan) -> dict[str, str]:
    """Owner id -> role in the plan of the profile's last finished sync or apply: the
    previous roles for `max_role_changes` when the profile does not write roles to the
    CRM (when it does, the CRM's values are the previous roles). Empty without one."""
    if role_field(profile) is not None or not plan.owners:
        return {}
    return stored_roles(store, profile)


def stored_roles(store: StateStore, profile: Profile) -> dict[str, str]:
    """Owner id -> role in the plan of the profile's last finished sync or apply (empty
    without one), whatever the profile writes to the CRM."""
    return {o.owner_id: o.role.value for o in stored_owners(store, profile)}


def stored_owners(store: StateStore, profile: Profile) -> list[OwnerRole]:
    """The owners of the plan of the profile's last finished sync or apply, with their
    roles and pending role changes (`hysteresis`); empty without one."""
    for run in store.runs(profile.name, limit=50):
        if run.mode not in ("sync", "apply") or run.status not in (RunStatus.OK, RunStatus.FAILED):
            continue
        try:
            last = run_plan(store, run)
        except InputError:
            continue  # unreadable or of an older format: look further back
        if last.owners:
            return last.owners
    return []


def run_plan(store: StateStore, run: RunRow) -> Plan:
    """The run's plan: its plan.json, or when that file is gone (a host without the run
    folder: a pod with no volume and its state in PostgreSQL) the copy in the store.
    InputError if neither is there or readable."""
    path = Path(run.plan_path)
    if not path.exists():
        stored = store.run_plan(run.id)
        if stored is not None:
            where = f"{path} (the copy in the state store)"
            return Plan.from_json(unpacked_plan(stored, where), where, history=True)
    return Plan.read(path, history=True)


class RunRecorder:
    """Opens a run (after the guardrails), journals its apply and closes it."""

    def __init__(
        self, store: StateStore, profile: Profile, plan: Plan, run: RunRow, clock: Clock
    ) -> None:
        self.store = store
        self.profile = profile
        self.plan = plan
        self.run = run
        self.clock = clock
        self.changes = {c.account_id: c for c in plan.changes}

    @classmethod
    def start(
        cls,
        store: StateStore,
        profile: Profile,
        plan: Plan,
        run: RunRow,
        *,
        allow_large: bool,
        clock: Clock,
        book_accounts: int,
        keep_plan: Callable[[], str] | None = None,
        rule_files: RuleFiles = (),
        plan_text: str | None = None,
    ) -> RunRecorder:
        """Record the run; GuardrailError (with the run recorded as stopped) if the plan
        is above the profile's guardrails and `allow_large` is not given. `book_accounts`:
        the book's size as the adapter reads it (a plan's summary is only a claim).
        `keep_plan`: copies a plan file given to apply into the run folder and returns
        the copy's path, called once the plan passed (`run.plan_path` is the file given).
        `rule_files`: the plan's rule files, archived with the run row. `plan_text`:
        `plan.to_json()`, when the caller made it already."""
        reasons = guardrail_reasons(store, profile, plan, book_accounts)
        if reasons and not allow_large:
            saved = "Plan saved to" if keep_plan is None else "The plan is"
            message = (
                "guardrail: " + "; ".join(reasons) + f"; nothing written. {saved} "
                f"{run.plan_path}: review it, then apply it with `rolesync apply "
                f"{run.plan_path} --allow-large` (and the same -c and -r)"
            )
            store.begin_run(
                replace(
                    run, status=RunStatus.STOPPED, message=message, finished=clock().isoformat()
                ),
                rule_files,
            )
            # INFO: the error itself reaches people as the command's error line.
            event(
                "guardrail",
                message,
                run_id=run.id,
                planned=len(plan.changes),
                accounts=book_accounts,
                plan_path=run.plan_path,
            )
            raise GuardrailError(message, run_id=run.id, plan_path=run.plan_path)
        if reasons:
            event("guardrail-allowed", "allowed by --allow-large: " + "; ".join(reasons))
        if keep_plan is not None:
            run = replace(run, plan_path=keep_plan())
        text = plan.to_json() if plan_text is None else plan_text
        store.begin_run(replace(run, status=RunStatus.APPLYING), rule_files, packed_plan(text))
        event(
            "run-started",
            f"run {run.id} ({run.mode}): {len(plan.changes)} ownership changes planned",
            run_id=run.id,
            mode=run.mode,
            planned=len(plan.changes),
            profile=profile.name,
        )
        return cls(store, profile, plan, run, clock)

    def journal(self) -> StoreJournal:
        return StoreJournal(self.store, self.run, self.changes, self.clock)

    def record(self, outcomes: Sequence[ChangeOutcome]) -> None:
        self.store.record_outcomes(
            self.run.id, outcomes, rules_digest=self.run.rules_digest, at=self.clock().isoformat()
        )

    def record_unaudited(
        self, outcomes: Sequence[ChangeOutcome], audited: set[str]
    ) -> list[ChangeOutcome]:
        """Audit the outcomes of changes without one yet (those decided outside a batch:
        batch results are audited as they come) and close the journal rows left open of
        the rest; the outcomes audited now. The first outcome of a change wins, as in the
        audit log: re-recording every outcome of a large run cost two statements each."""
        fresh: dict[str, ChangeOutcome] = {}
        for outcome in outcomes:
            if outcome.change.account_id not in audited:
                fresh.setdefault(outcome.change.account_id, outcome)
        self.record(list(fresh.values()))
        self.store.close_audited(self.run.id, self.clock().isoformat())
        return list(fresh.values())

    def carry(
        self,
        result: ApplyResult,
        adapter: Adapter,
        advance: Callable[[int], None] = lambda _: None,
    ) -> None:
        """After the accounts: audit their outcomes (which decide what follows them), then
        write or finish the records they carry and their handoff tasks. A run and the
        recovery of a crashed one do the same."""
        if not has_related(self.plan):
            return
        self.record_unaudited(
            outcomes_of(result, self.changes), self.store.audited_accounts(self.run.id)
        )
        write_related(self.store, self.run, self.plan, adapter, self.clock, advance)

    def interrupted(self, exc: BaseException) -> None:
        """The apply raised: leave the run for the next one to reconcile and finish."""
        with suppress(Exception):  # the original error matters more than this one
            self.store.set_status(self.run.id, RunStatus.INTERRUPTED, message=cause_of(exc))

    def finish(
        self,
        result: ApplyResult,
        *,
        message: str = "",
        book_health: dict[str, Any] | None = None,
    ) -> RunReport:
        """Audit what the apply decided outside its batches, then close the run with a
        report built from the audit log (and the book health of the plan, when known)."""
        # The audit is read once (a run of 280k changes: reading it is seconds).
        rows = self.store.audit_outcomes(self.run.id)
        audited = {account for account, _, _, _ in rows}
        fresh = self.record_unaudited(outcomes_of(result, self.changes), audited)
        audited |= {o.change.account_id for o in fresh}
        missing = [
            ChangeOutcome(c, Outcome.FAILED, error=NO_RESULT)
            for c in self.plan.changes
            if c.account_id not in audited
        ]
        self.record(missing)
        if self.plan.rotation:
            self.store.save_rotation(self.profile.name, self.plan.rotation)
        total = result_from_audit(
            rows
            + [(o.change.account_id, o.result, o.found_owner, o.error) for o in fresh + missing]
        )
        total.metrics_written = result.metrics_written
        total.metrics_failed = result.metrics_failed
        total.metric_conflicts = result.metric_conflicts
        report = build_report(
            self.plan,
            total,
            run_id=self.run.id,
            mode=self.run.mode,
            started=datetime.fromisoformat(self.run.started),
            finished=self.clock(),
        )
        report.plan_path = self.run.plan_path
        report.book_health = book_health
        report.related, report.tasks = related_report(self.store, self.run.id, self.plan)
        report.tasks_left = self.plan.summary.get("tasks_left", 0)
        report.parent_run = self.run.parent_run
        report.write(Path(self.run.plan_path).with_name("report.json"))
        status = RunStatus.OK if report.ok else RunStatus.FAILED
        metric_note = "; ".join(
            n for n in (report.metric_failure_note(), report.related_failure_note()) if n
        )
        row = self.store.finish_run(
            self.run.id,
            status=status,
            finished=report.finished.isoformat(),
            report_path=report.report_path,
            message="; ".join(m for m in (message, metric_note) if m),
        )
        event(
            "run-finished",
            f"run {row.id}: {status}: applied {row.applied}, already applied "
            f"{row.already_applied}, conflicts {row.conflicts}, failed {row.failed}"
            + (f", {metric_note}" if metric_note else ""),
            level=logging.INFO if status == RunStatus.OK else logging.WARNING,
            run_id=row.id,
            status=status,
            planned=row.planned,
            applied=row.applied,
            already_applied=row.already_applied,
            conflicts=row.conflicts,
            failed=row.failed,
            metric_writes_failed=len(report.metric_failures),
            carried=len(report.related),
            carried_moved=sum(r.result in _MOVED for r in report.related),
            tasks=len(report.tasks),
            tasks_created=sum(t.result == RelatedResultCode.CREATED for t in report.tasks),
            skipped=len(report.skipped),
            skipped_by_reason=report.skipped_by_reason,
            full_routes=report.full_routes,
            report_path=report.report_path,
        )
        return report


_MOVED = (RelatedResultCode.APPLIED, RelatedResultCode.ALREADY)
