"""The report of one run: what was planned, what was written, what was not and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from roleSync.adapters.base import ApplyResult
from roleSync.json_text import pretty_json
from roleSync.plan import OwnershipChange, Plan, Skip
from roleSync.sync.state import write_atomically
from roleSync.sync.stuck import full_routes, skipped_by_reason

REPORT_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Conflict:
    account_id: str
    planned_from: str | None
    found: str | None


@dataclass(frozen=True, slots=True)
class Failure:
    account_id: str
    error: str


class RelatedResultCode:
    """The final outcome of a carried record or a handoff task in the audit log."""

    APPLIED = "applied"
    ALREADY = "already-applied"
    CONFLICT = "conflict"
    FAILED = "failed"
    # Its account did not move in this run (conflict, failure): the record stays too.
    SKIPPED = "skipped"
    CREATED = "created"  # a task
    # A task whose key the CRM already held: created by an earlier attempt, not again.
    EXISTED = "already-created"


@dataclass(frozen=True, slots=True)
class RelatedOutcome:
    """What happened to one carried record (routing.yaml `carry`)."""

    object: str  # deal | contact | task
    record_id: str
    account_id: str
    from_owner: str | None
    to_owner: str
    handoff_id: str
    trigger: str
    result: str  # a RelatedResultCode
    found_owner: str | None = None
    error: str = ""


@dataclass(frozen=True, slots=True)
class TaskOutcome:
    """What happened to one handoff task (routing.yaml `tasks`)."""

    key: str
    account_id: str
    owner_id: str
    for_owner: str  # new_owner | previous_owner
    subject: str
    due_date: date
    handoff_id: str
    trigger: str
    result: str  # created | already-created | failed | skipped
    error: str = ""


@dataclass(slots=True)
class RunReport:
    format: int
    run_id: str
    profile: str
    mode: str  # "sync" | "apply"
    as_of: date
    started: datetime
    finished: datetime
    rules_digest: str
    planned: int
    applied: list[OwnershipChange] = field(default_factory=list)
    already_applied: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    # Skip code -> count, and the routes whose pool had no eligible farmer: what an
    # alert on stuck handoffs needs without walking `skipped`.
    skipped_by_reason: dict[str, int] = field(default_factory=dict)
    full_routes: list[str] = field(default_factory=list)
    metrics_planned: int = 0
    metrics_written: int = 0
    metric_failures: dict[str, str] = field(default_factory=dict)
    # Owner id -> why: its fields changed since the plan was made; nothing written.
    metric_conflicts: dict[str, str] = field(default_factory=dict)
    plan_path: str = ""
    report_path: str = ""
    # The book health the run was planned on (roleSync.health.BookHealth.as_json):
    # counts, findings that fired (warnings: errors stop a run before it starts) and
    # what was tolerated. None for `rolesync apply` of a saved plan.
    book_health: dict[str, Any] | None = None
    # Carried records and handoff tasks, in plan order (empty without carry or tasks).
    related: list[RelatedOutcome] = field(default_factory=list)
    tasks: list[TaskOutcome] = field(default_factory=list)
    # A rollback: the tasks the undone run created, left in the CRM (tasks are never
    # deleted: someone may have worked on them).
    tasks_left: int = 0
    # A rollback: the run it undoes.
    parent_run: str | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.failed
            and not self.metric_failures
            and not any(r.result == RelatedResultCode.FAILED for r in self.related)
            and not any(t.result == RelatedResultCode.FAILED for t in self.tasks)
        )

    def metric_failure_note(self) -> str:
        """'' or, when metric writes failed, how many and the first owner's reason:
        "metric writes failed 5 of 5 (h-0: the profile has metrics.write: false; and 4
        more)": a failed run's one line must say what failed."""
        if not self.metric_failures:
            return ""
        owner, why = next(iter(self.metric_failures.items()))
        more = len(self.metric_failures) - 1
        tail = f"; and {more} more" if more else ""
        return (
            f"metric writes failed {len(self.metric_failures)} of {self.metrics_planned} "
            f"({owner}: {why}{tail})"
        )

    def related_failure_note(self) -> str:
        """'' or how many carried records and handoff tasks failed, with the first
        reason: a failed run's one line must say what failed."""
        failed = [
            (f"{r.object} {r.record_id}", r.error)
            for r in self.related
            if r.result == RelatedResultCode.FAILED
        ]
        failed += [
            (f"task {t.key}", t.error) for t in self.tasks if t.result == RelatedResultCode.FAILED
        ]
        if not failed:
            return ""
        what, why = failed[0]
        more = f"; and {len(failed) - 1} more" if len(failed) > 1 else ""
        return f"carried records or handoff tasks failed: {len(failed)} ({what}: {why}{more})"

    def to_json(self) -> str:
        data = _REPORT_ADAPTER.dump_python(self, mode="json")
        # What json.dumps(indent=2, sort_keys=True) writes, byte for byte, in less time:
        # a run of 280k changes writes a report of a million lines (issue 19).
        return pretty_json(data) + "\n"

    def write(self, path: Path) -> None:
        self.report_path = str(path)
        write_atomically(path, self.to_json())


_REPORT_ADAPTER: TypeAdapter[RunReport] = TypeAdapter(RunReport)


def build_report(
    plan: Plan,
    result: ApplyResult,
    *,
    run_id: str,
    mode: str,
    started: datetime,
    finished: datetime,
) -> RunReport:
    by_account = {c.account_id: c for c in plan.changes}
    applied_ids = set(result.applied)
    failed = dict(result.failed)
    accounted = applied_ids | set(result.already_applied) | set(result.conflicts) | set(failed)
    # Every planned change ends up applied, in conflict or failed: none silently lost.
    for account_id in by_account.keys() - accounted:
        failed[account_id] = "the adapter reported no result for this change"
    return RunReport(
        format=REPORT_FORMAT,
        run_id=run_id,
        profile=plan.profile,
        mode=mode,
        as_of=plan.as_of,
        started=started,
        finished=finished,
        rules_digest=plan.rules_digest,
        planned=len(plan.changes),
        applied=[c for c in plan.changes if c.account_id in applied_ids],
        already_applied=sorted(result.already_applied),
        conflicts=[
            Conflict(a, by_account[a].from_owner_id, found)
            for a, found in sorted(result.conflicts.items())
        ],
        failed=[Failure(a, e) for a, e in sorted(failed.items())],
        skipped=list(plan.skipped),
        skipped_by_reason=skipped_by_reason(plan.skipped),
        full_routes=full_routes(plan.skipped),
        metrics_planned=len(plan.metric_writes),
        metrics_written=len(result.metrics_written),
        metric_failures=dict(sorted(result.metrics_failed.items())),
        metric_conflicts=dict(sorted(result.metric_conflicts.items())),
    )
