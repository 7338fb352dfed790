"""A run's carried records and handoff tasks as report rows: each planned entry joined
with its outcome from the run report, owners by name, with words for each outcome.

Shared by the report data (JSON, CSV, HTML), `explain --run` and `runs show`. Pure:
values in, values out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from roleSync.plan import Plan
from roleSync.sync.report import RelatedOutcome, RelatedResultCode, TaskOutcome

# Outcomes after which a carried record is with the new owner, and a task is in the CRM.
CARRIED = frozenset({RelatedResultCode.APPLIED, RelatedResultCode.ALREADY})
MADE = frozenset({RelatedResultCode.CREATED, RelatedResultCode.EXISTED})
# The order outcomes are counted in (`runs show`), the usual ones first.
OUTCOME_ORDER = (
    RelatedResultCode.APPLIED,
    RelatedResultCode.ALREADY,
    RelatedResultCode.CREATED,
    RelatedResultCode.EXISTED,
    RelatedResultCode.CONFLICT,
    RelatedResultCode.SKIPPED,
    RelatedResultCode.FAILED,
)
NOT_RECORDED = "no outcome recorded"


@dataclass(frozen=True, slots=True)
class CarriedRow:
    """One record carried with its account (routing.yaml `carry`) and what became of it."""

    object: str  # deal | contact | task
    record_id: str
    account_id: str
    account_name: str
    from_owner_id: str | None
    from_name: str
    to_owner_id: str
    to_name: str
    trigger: str
    handoff_id: str
    reason: str
    # A RelatedResultCode, as the audit log has it: applied, already-applied, conflict,
    # failed, skipped (its account did not move).
    outcome: str
    outcome_detail: str


@dataclass(frozen=True, slots=True)
class TaskRow:
    """One handoff task (routing.yaml `tasks`) and what became of it."""

    key: str
    account_id: str
    account_name: str
    owner_id: str
    owner_name: str
    for_owner: str  # new_owner | previous_owner
    subject: str
    body: str
    due_date: date
    trigger: str
    handoff_id: str
    outcome: str  # created | already-created | failed | skipped
    outcome_detail: str


def outcome_detail(result: str, found_owner: str | None = None, error: str = "") -> str:
    """What an outcome code leaves unsaid: whose the record was found, the CRM's error."""
    if result == RelatedResultCode.ALREADY:
        return "already with the new owner"
    if result == RelatedResultCode.CONFLICT:
        return f"owner changed to {found_owner or 'nobody'}"
    if result == RelatedResultCode.SKIPPED:
        return error or "its account did not move"
    if result == RelatedResultCode.EXISTED:
        return "created by an earlier attempt, not again"
    return error


def trigger_text(trigger: str, handoff_id: str) -> str:
    """The trigger that fired and its handoff block: "stage_reached (after-qualification)"."""
    # A plan written before triggers were named had only the first won new business.
    name = trigger or "first_won_new_business"
    return f"{name} ({handoff_id})" if handoff_id else name


def _account_names(plan: Plan) -> dict[str, str]:
    names = {s.account_id: s.account_name for s in plan.skipped}
    names.update({c.account_id: c.account_name for c in plan.changes})
    return names


def carried_rows(
    plan: Plan, recorded: Iterable[RelatedOutcome], names: Mapping[str, str]
) -> tuple[CarriedRow, ...]:
    """Plan order; a planned record without an outcome is shown failed ("no outcome
    recorded"), and an outcome the plan does not list is shown too: none silently lost."""
    accounts = _account_names(plan)
    outcomes = {(o.object, o.record_id): o for o in recorded}

    def name(owner_id: str | None) -> str:
        return names.get(owner_id or "", owner_id or "-")

    rows = []
    for c in plan.related_changes:
        found = outcomes.pop((c.object.value, c.record_id), None)
        result = found.result if found else RelatedResultCode.FAILED
        detail = (
            outcome_detail(found.result, found.found_owner, found.error) if found else NOT_RECORDED
        )
        rows.append(
            CarriedRow(
                c.object.value,
                c.record_id,
                c.account_id,
                accounts.get(c.account_id, ""),
                c.from_owner_id,
                name(c.from_owner_id),
                c.to_owner_id,
                name(c.to_owner_id),
                c.trigger,
                c.handoff_id,
                c.reason,
                result,
                detail,
            )
        )
    rows += [
        _unplanned_record(o, accounts, name(o.from_owner), name(o.to_owner))
        for o in outcomes.values()
    ]
    return tuple(rows)


def _unplanned_record(
    o: RelatedOutcome, accounts: Mapping[str, str], from_name: str, to_name: str
) -> CarriedRow:
    return CarriedRow(
        o.object,
        o.record_id,
        o.account_id,
        accounts.get(o.account_id, ""),
        o.from_owner,
        from_name,
        o.to_owner,
        to_name,
        o.trigger,
        o.handoff_id,
        "",
        o.result,
        outcome_detail(o.result, o.found_owner, o.error),
    )


def task_rows(
    plan: Plan, recorded: Iterable[TaskOutcome], names: Mapping[str, str]
) -> tuple[TaskRow, ...]:
    """Plan order, like carried_rows: a planned task without an outcome is failed."""
    accounts = _account_names(plan)
    outcomes = {o.key: o for o in recorded}
    rows = []
    for t in plan.task_creates:
        found = outcomes.pop(t.key, None)
        result = found.result if found else RelatedResultCode.FAILED
        detail = outcome_detail(found.result, error=found.error) if found else NOT_RECORDED
        rows.append(
            TaskRow(
                t.key,
                t.account_id,
                accounts.get(t.account_id, ""),
                t.owner_id,
                names.get(t.owner_id, t.owner_id),
                t.for_owner.value,
                t.subject,
                t.body,
                t.due_date,
                t.trigger,
                t.handoff_id,
                result,
                detail,
            )
        )
    rows += [_unplanned_task(o, accounts, names) for o in outcomes.values()]
    return tuple(rows)


def _unplanned_task(
    o: TaskOutcome, accounts: Mapping[str, str], names: Mapping[str, str]
) -> TaskRow:
    return TaskRow(
        o.key,
        o.account_id,
        accounts.get(o.account_id, ""),
        o.owner_id,
        names.get(o.owner_id, o.owner_id),
        o.for_owner,
        o.subject,
        "",
        o.due_date,
        o.trigger,
        o.handoff_id,
        o.result,
        outcome_detail(o.result, error=o.error),
    )


def outcome_counts(results: Iterable[str]) -> dict[str, int]:
    """Outcome code -> how many, in OUTCOME_ORDER; codes it does not know (a report
    written by a newer roleSync) last, by name."""
    counts = Counter(results)
    known = [c for c in OUTCOME_ORDER if c in counts]
    return {c: counts[c] for c in [*known, *sorted(counts.keys() - set(OUTCOME_ORDER))]}


def counted(counts: Mapping[str, int]) -> str:
    """ "7 applied, 1 conflict" (the codes as they are: a caller escapes for a terminal)."""
    return ", ".join(f"{n} {code}" for code, n in counts.items())


@dataclass(frozen=True, slots=True)
class FollowerCounts:
    """What followed a run's handoffs, counted by outcome code (sync.report
    RelatedResultCode), from its report: carried records, handoff tasks, and for a
    rollback the undone run's tasks it left in the CRM."""

    carried: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    tasks_left: int = 0

    def __bool__(self) -> bool:
        return bool(self.carried or self.tasks or self.tasks_left)

    def as_json(self) -> dict[str, object]:
        return {"carried": self.carried, "tasks": self.tasks, "tasks_left": self.tasks_left}

    def lines(self, undone: str | None) -> list[str]:
        """`runs show`'s lines; `undone`: the run a rollback undid. The codes come from a
        file: the caller escapes them for a terminal."""
        lines = []
        if self.carried:
            total = sum(self.carried.values())
            lines.append(f"  carried  {total} records: {counted(self.carried)}")
        if self.tasks:
            total = sum(self.tasks.values())
            lines.append(f"  tasks    {total} handoff tasks: {counted(self.tasks)}")
        if self.tasks_left:
            lines.append(
                f"  tasks    {self.tasks_left} created by run {undone or '-'} left in the CRM "
                "(a rollback never deletes tasks)"
            )
        return lines


def follower_counts(document: dict[str, object]) -> FollowerCounts:
    """From a report document as read (untrusted: entries that are not objects with a
    text `result` are counted as "unreadable" rather than dropped)."""

    def results(key: str) -> list[str]:
        entries = document.get(key)
        if not isinstance(entries, list):
            return []
        return [
            e["result"]
            if isinstance(e, dict) and isinstance(e.get("result"), str)
            else "unreadable"
            for e in entries
        ]

    left = document.get("tasks_left")
    return FollowerCounts(
        outcome_counts(results("related")),
        outcome_counts(results("tasks")),
        left if isinstance(left, int) and not isinstance(left, bool) and left > 0 else 0,
    )
