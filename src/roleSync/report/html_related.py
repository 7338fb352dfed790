"""The report page's parts for what follows an account on handoff: the records carried
(routing.yaml `carry`), the handoff tasks (`tasks`), their summary cards, and what a
rollback left in the CRM. Pure: `ReportData` in, HTML text out, every value escaped."""

from __future__ import annotations

from html import escape

from roleSync.report.data import ReportData
from roleSync.report.html_table import Cell, plain, table
from roleSync.report.related import trigger_text
from roleSync.sync.report import RelatedResultCode

# Outcomes that need a person's look (skipped: its account did not move, flagged there).
_TROUBLE = frozenset({RelatedResultCode.CONFLICT, RelatedResultCode.FAILED})
_FOR = {"new_owner": "new owner", "previous_owner": "previous owner"}


def _outcome(outcome: str, detail: str) -> Cell:
    return plain(outcome + (f": {detail}" if detail else ""))


def related_cards(data: ReportData) -> list[tuple[str, str]]:
    """Summary cards, only for a run that carried records, planned tasks or left some."""
    run = data.run
    cards = []
    if run.carried_planned:
        cards.append(("records carried", f"{run.carried_moved} of {run.carried_planned}"))
    if run.tasks_planned:
        cards.append(("handoff tasks created", f"{run.tasks_created} of {run.tasks_planned}"))
    if run.tasks_left:
        cards.append(("handoff tasks left in the CRM", str(run.tasks_left)))
    return cards


def related_warning(data: ReportData) -> str:
    records = sum(r.outcome in _TROUBLE for r in data.carried)
    tasks = sum(t.outcome == RelatedResultCode.FAILED for t in data.tasks)
    if not records and not tasks:
        return ""
    parts = [_counted(records, "carried record")] if records else []
    parts += [_counted(tasks, "handoff task")] if tasks else []
    shown = " and ".join(parts)
    return f'<p class="bad">{shown} did not go through: see the outcome columns below.</p>'


def _counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def tasks_left_line(data: ReportData) -> str:
    """A rollback's word on the tasks it did not undo (tasks are never deleted)."""
    left = data.run.tasks_left
    if not left:
        return ""
    which = f"run {data.run.rollback_of}" if data.run.rollback_of else "the undone run"
    verb = "was" if left == 1 else "were"
    return (
        f'<p class="meta">{_counted(left, "handoff task")} created by {escape(which)} {verb} '
        "left in the CRM: a rollback never deletes a task, someone may have worked on it.</p>"
    )


def carried_section(data: ReportData) -> str:
    run = data.run
    rows = [
        [
            plain(r.object),
            plain(r.record_id),
            plain(r.account_id),
            plain(r.account_name),
            plain(r.from_name),
            plain(r.to_name),
            plain(trigger_text(r.trigger, r.handoff_id)),
            plain(r.reason),
            _outcome(r.outcome, r.outcome_detail),
        ]
        for r in data.carried
    ]
    shown = table(
        "Every record planned to follow its account to the new owner, and what happened to it.",
        [
            (h, "", False)
            for h in ("object", "record", "account", "name", "from", "to", "trigger", "why")
        ]
        + [("outcome", "skipped: its account did not move in this run", False)],
        rows,
        table_id="carried-records",
    )
    lead = (
        "Open deals, contacts and open tasks that follow their account to its new owner "
        "(routing.yaml <code>carry</code>); closed won deals stay with who won them."
    )
    return f"""<section id="carried" aria-labelledby="carried-h">
<h2 id="carried-h">Records carried ({run.carried_moved} of {run.carried_planned} moved)</h2>
<p class="lead">{lead}</p>
{shown}
</section>"""


def tasks_section(data: ReportData) -> str:
    run = data.run
    rows = [
        [
            plain(t.account_id),
            plain(t.account_name),
            plain(_FOR.get(t.for_owner, t.for_owner)),
            plain(t.owner_name),
            plain(t.subject),
            plain(t.due_date.isoformat()),
            plain(trigger_text(t.trigger, t.handoff_id)),
            _outcome(t.outcome, t.outcome_detail),
        ]
        for t in data.tasks
    ]
    shown = table(
        "Every handoff task planned, whom it is for and what happened to it.",
        [
            (h, "", False)
            for h in ("account", "name", "for", "assignee", "subject", "due", "trigger")
        ]
        + [("outcome", "already-created: made by an earlier attempt, not again", False)],
        rows,
        table_id="handoff-tasks",
    )
    lead = (
        "CRM tasks telling the new owner (and, when asked, the previous one) about the "
        "handoff (routing.yaml <code>tasks</code>), each created once."
    )
    return f"""<section id="tasks" aria-labelledby="tasks-h">
<h2 id="tasks-h">Handoff tasks ({run.tasks_created} of {run.tasks_planned} created)</h2>
<p class="lead">{lead}</p>
{tasks_left_line(data)}
{shown}
</section>"""
