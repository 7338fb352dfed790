"""The content of a run report as plain values, and its JSON and CSV forms for BI tools.

Built from what a run left behind (its plan and its report) plus, optionally, the
revenue of the moved accounts; `report.html` draws the same values. Pure: values in,
values or text out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

from roleSync.metrics import METRIC_NAMES, RoleMetrics
from roleSync.plan import Plan
from roleSync.render import title_disagrees
from roleSync.report.related import CARRIED, MADE, CarriedRow, TaskRow, carried_rows, task_rows
from roleSync.sync.report import RunReport
from roleSync.sync.stuck import full_routes

REPORT_DATA_FORMAT = 1

APPLIED = "applied"
ALREADY_APPLIED = "already applied"
CONFLICT = "conflict"
FAILED = "failed"
# Outcomes after which the account is with the new owner.
MOVED = frozenset({APPLIED, ALREADY_APPLIED})


@dataclass(frozen=True, slots=True)
class OwnerRow:
    owner_id: str
    name: str
    email: str
    title: str
    active: bool
    role: str
    rule_id: str | None
    reason: str
    title_disagrees: bool
    metrics: RoleMetrics


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """One receiving owner's book before the run (the plan's metrics) and after it."""

    owner_id: str
    name: str
    role: str
    accounts_before: int
    accounts_after: int
    revenue_before: float
    revenue_after: float | None  # None: the moved accounts' revenue is not known
    received: int


@dataclass(frozen=True, slots=True)
class HandoffRow:
    account_id: str
    account_name: str
    from_owner_id: str | None
    from_name: str
    to_owner_id: str
    to_name: str
    rule_id: str
    # The trigger that fired and its handoff block (blank in plans older than both).
    trigger: str
    handoff_id: str
    reason: str
    outcome: str  # applied | already applied | conflict | failed
    outcome_detail: str
    revenue: float | None


@dataclass(frozen=True, slots=True)
class SkipRow:
    account_id: str
    account_name: str
    owner_id: str | None
    owner_name: str
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    profile: str
    mode: str
    as_of: date
    started: datetime
    finished: datetime
    rules_digest: str
    window_days: int
    planned: int
    applied: int
    already_applied: int
    conflicts: int
    failed: int
    skipped: int
    metrics_planned: int
    metrics_written: int
    # Owners whose metric fields changed since the plan: nothing written for them.
    metric_conflicts: int = 0
    # Carried records (routing.yaml `carry`): planned, and with the new owner after the
    # run (applied now or already before); handoff tasks: planned, and in the CRM.
    carried_planned: int = 0
    carried_moved: int = 0
    tasks_planned: int = 0
    tasks_created: int = 0
    # A rollback: the run it undid, and that run's tasks it left in the CRM.
    rollback_of: str = ""
    tasks_left: int = 0
    # Routes whose pool had no eligible farmer for some account (a no-eligible-farmer
    # skip names its route; reports of older runs name none), comma-separated: one cell
    # in run.csv.
    full_routes: str = ""


@dataclass(frozen=True, slots=True)
class HealthRow:
    """A book health finding the run was planned with (warnings: errors stop a run)."""

    severity: str
    code: str
    count: int
    rows: str
    message: str
    examples: str


@dataclass(frozen=True, slots=True)
class ReportData:
    run: RunInfo
    owners: tuple[OwnerRow, ...]
    balance: tuple[BalanceRow, ...]
    handoffs: tuple[HandoffRow, ...]
    skipped: tuple[SkipRow, ...]
    revenue_known: bool
    book_health: tuple[HealthRow, ...] = ()
    carried: tuple[CarriedRow, ...] = ()
    tasks: tuple[TaskRow, ...] = ()

    @property
    def title_disagreements(self) -> tuple[OwnerRow, ...]:
        return tuple(o for o in self.owners if o.title_disagrees)

    def role_count(self, role: str) -> int:
        return sum(o.role == role for o in self.owners)


def _outcomes(report: RunReport) -> dict[str, tuple[str, str]]:
    outcomes = {c.account_id: (APPLIED, "") for c in report.applied}
    outcomes.update(
        {a: (ALREADY_APPLIED, "already with the new owner") for a in report.already_applied}
    )
    outcomes.update(
        {
            c.account_id: (CONFLICT, f"owner changed to {c.found or 'nobody'}")
            for c in report.conflicts
        }
    )
    outcomes.update({f.account_id: (FAILED, f.error) for f in report.failed})
    return outcomes


def build_report_data(
    plan: Plan, report: RunReport, account_revenue: Mapping[str, float] | None = None
) -> ReportData:
    """`account_revenue`: won amount per account in the plan's window, for the revenue
    side of the balance; None leaves revenue after the run unknown."""
    names = {o.owner_id: o.name for o in plan.owners}
    owners = tuple(
        OwnerRow(
            o.owner_id,
            o.name,
            o.email,
            o.title,
            o.active,
            o.role.value,
            o.rule_id,
            o.reason,
            title_disagrees(o),
            o.metrics,
        )
        for o in sorted(plan.owners, key=lambda o: (o.name.casefold(), o.owner_id))
    )
    outcomes = _outcomes(report)
    handoffs = tuple(
        HandoffRow(
            c.account_id,
            c.account_name,
            c.from_owner_id,
            names.get(c.from_owner_id or "", c.from_owner_id or "-"),
            c.to_owner_id,
            names.get(c.to_owner_id, c.to_owner_id),
            c.rule_id,
            c.trigger,
            c.handoff_id,
            c.reason,
            *outcomes.get(c.account_id, (FAILED, "no outcome recorded")),
            None if account_revenue is None else account_revenue.get(c.account_id, 0.0),
        )
        for c in plan.changes
    )
    skipped = tuple(
        SkipRow(
            s.account_id,
            s.account_name,
            s.owner_id,
            names.get(s.owner_id or "", s.owner_id or "-"),
            s.code,
            s.reason,
        )
        for s in report.skipped
    )
    carried = carried_rows(plan, report.related, names)
    tasks = task_rows(plan, report.tasks, names)
    run = RunInfo(
        report.run_id,
        report.profile,
        report.mode,
        report.as_of,
        report.started,
        report.finished,
        report.rules_digest,
        plan.window_days,
        report.planned,
        len(report.applied),
        len(report.already_applied),
        len(report.conflicts),
        len(report.failed),
        len(report.skipped),
        report.metrics_planned,
        report.metrics_written,
        len(report.metric_conflicts),
        len(carried),
        sum(r.outcome in CARRIED for r in carried),
        len(tasks),
        sum(t.outcome in MADE for t in tasks),
        _rollback_of(report),
        report.tasks_left,
        full_routes=", ".join(full_routes(report.skipped)),
    )
    return ReportData(
        run,
        owners,
        _balance(owners, handoffs, account_revenue is not None),
        handoffs,
        skipped,
        account_revenue is not None,
        _health_rows(report),
        carried,
        tasks,
    )


def _rollback_of(report: RunReport) -> str:
    if report.mode != "rollback":
        return ""
    if report.parent_run:
        return report.parent_run
    # Reports written before they named it: a rollback's plan names the run it undoes
    # in the place of a rules digest (sync.rollback.reverse_plan): "rollback:<run id>".
    prefix = "rollback:"
    return (
        report.rules_digest.removeprefix(prefix) if report.rules_digest.startswith(prefix) else ""
    )


def _health_rows(report: RunReport) -> tuple[HealthRow, ...]:
    found = (report.book_health or {}).get("findings", [])
    return tuple(
        HealthRow(
            str(f.get("severity", "")),
            str(f.get("code", "")),
            int(f.get("count", 0)),
            str(f.get("rows", "")),
            str(f.get("message", "")),
            ", ".join(str(e) for e in f.get("examples", [])),
        )
        for f in found
        if isinstance(f, dict)
    )


def _balance(
    owners: Sequence[OwnerRow], handoffs: Sequence[HandoffRow], revenue_known: bool
) -> tuple[BalanceRow, ...]:
    """Farmers, and anyone else who received an account, before and after the run.

    "Before" is the plan's metrics (the book when the plan was made); "after" adds the
    handoffs that left the account with its new owner, applied now or already before.
    """
    moved = [h for h in handoffs if h.outcome in MOVED]
    receivers = {h.to_owner_id for h in moved}
    rows = []
    for o in owners:
        if o.role != "farmer" and o.owner_id not in receivers:
            continue
        gained = [h for h in moved if h.to_owner_id == o.owner_id]
        lost = [h for h in moved if h.from_owner_id == o.owner_id]
        revenue_after = None
        if revenue_known:
            delta = sum(h.revenue or 0.0 for h in gained) - sum(h.revenue or 0.0 for h in lost)
            revenue_after = round(o.metrics.managed_revenue + delta, 2)
        rows.append(
            BalanceRow(
                o.owner_id,
                o.name,
                o.role,
                o.metrics.accounts_owned,
                o.metrics.accounts_owned + len(gained) - len(lost),
                o.metrics.managed_revenue,
                revenue_after,
                len(gained),
            )
        )
    return tuple(rows)


# -- JSON -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def to_json(data: ReportData) -> str:
    document = {
        "format": REPORT_DATA_FORMAT,
        "run": asdict(data.run),
        "owners": [asdict(o) for o in data.owners],
        "title_disagreements": [_disagreement(o) for o in data.title_disagreements],
        "balance": [asdict(b) for b in data.balance],
        "handoffs": [asdict(h) for h in data.handoffs],
        "skipped": [asdict(s) for s in data.skipped],
        "revenue_known": data.revenue_known,
        "book_health": [asdict(h) for h in data.book_health],
        "carried": [asdict(r) for r in data.carried],
        "tasks": [asdict(t) for t in data.tasks],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=_plain) + "\n"


def _disagreement(o: OwnerRow) -> dict[str, Any]:
    return {
        "owner_id": o.owner_id,
        "name": o.name,
        "title": o.title,
        "role": o.role,
        "rule_id": o.rule_id,
        "reason": o.reason,
    }


# -- CSV --------------------------------------------------------------------------

CSV_FILES = (
    "run.csv",
    "owners.csv",
    "title_disagreements.csv",
    "balance.csv",
    "handoffs.csv",
    "skipped.csv",
    "carried.csv",
    "tasks.csv",
)
# Spreadsheet apps run a cell starting with these as a formula; CRM text is untrusted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    # The writer quotes a field holding a line break only if the break is in its line
    # terminator: with "\n" alone a CR from the CRM went out bare and split the record
    # for every reader. So each record is written with "\r\n" and ends in "\n".
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    records = []
    for row in [list(headers), *([_cell(v) for v in row] for row in rows)]:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        records.append(buffer.getvalue()[:-2] + "\n")
    return "".join(records)


def _flat(rows: Sequence[Any]) -> list[list[Any]]:
    return [[getattr(r, f.name) for f in fields(r)] for r in rows]


def csv_tables(data: ReportData) -> dict[str, str]:
    """One CSV text per table, keyed by file name (see CSV_FILES); owners' metrics are
    spread into one column each so BI tools need no JSON parsing."""
    owner_head = [f.name for f in fields(OwnerRow) if f.name != "metrics"]
    owners = [
        [getattr(o, name) for name in owner_head] + [getattr(o.metrics, m) for m in METRIC_NAMES]
        for o in data.owners
    ]
    disagreements = [list(_disagreement(o).values()) for o in data.title_disagreements]
    return {
        "run.csv": _csv([f.name for f in fields(RunInfo)], _flat([data.run])),
        "owners.csv": _csv([*owner_head, *METRIC_NAMES], owners),
        "title_disagreements.csv": _csv(
            ["owner_id", "name", "title", "role", "rule_id", "reason"], disagreements
        ),
        "balance.csv": _csv([f.name for f in fields(BalanceRow)], _flat(data.balance)),
        "handoffs.csv": _csv([f.name for f in fields(HandoffRow)], _flat(data.handoffs)),
        "skipped.csv": _csv([f.name for f in fields(SkipRow)], _flat(data.skipped)),
        "carried.csv": _csv([f.name for f in fields(CarriedRow)], _flat(data.carried)),
        "tasks.csv": _csv([f.name for f in fields(TaskRow)], _flat(data.tasks)),
    }
