"""`explain --run RUN_ID`: the trail as a past run recorded it, from its plan and report.

A plan records each owner's metrics, role and deciding rule, and each handoff or skip
with its whole reason ("owner is a hunter; first new business won ...; route ...: ...").
The book as it was is gone (the run changed it), so account trails here are the
recorded ones; owner trails are re-derived when the rule files given are the very
ones the run used (same digest).
"""

from __future__ import annotations

from roleSync.metrics import window_start
from roleSync.model import Owner
from roleSync.plan import OwnerRole, Plan
from roleSync.render import title_disagrees
from roleSync.report.conditions import classification_trail, metric_lines
from roleSync.report.explain import owner_line
from roleSync.report.lookup import find_owner
from roleSync.report.related import carried_rows, task_rows, trigger_text
from roleSync.rules.ruleset import RuleSet
from roleSync.sync.report import RunReport
from roleSync.terminal_text import printable


def find_owner_role(plan: Plan, key: str) -> OwnerRole | None:
    """The plan's owner by id, email or full name, as `explain` looks them up."""
    return find_owner(key, plan.owners, role_keys)


def role_keys(role: OwnerRole) -> tuple[str, str, str]:
    return role.owner_id, role.email, role.name


def _owner_of(role: OwnerRole) -> Owner:
    return Owner(role.owner_id, role.name, role.email, role.title, role.active)


def _outcome(report: RunReport | None, account_id: str) -> str:
    if report is None:
        return "not recorded"
    if any(c.account_id == account_id for c in report.applied):
        return "applied"
    if account_id in report.already_applied:
        return "already with the new owner"
    for conflict in report.conflicts:
        if conflict.account_id == account_id:
            return f"not applied: a person had changed the owner to {conflict.found or 'nobody'}"
    for failure in report.failed:
        if failure.account_id == account_id:
            return f"failed: {failure.error}"
    return "not recorded"


def explain_account_in_run(
    plan: Plan, report: RunReport | None, run_id: str, account_id: str
) -> str | None:
    """None: the run neither moved nor skipped the account."""
    roles = {o.owner_id: o for o in plan.owners}

    def who(owner_id: str | None) -> str:
        role = roles.get(owner_id or "")
        return owner_line(_owner_of(role), role) if role else (owner_id or "nobody")

    head = f"Run {run_id} (as of {plan.as_of}, rules {plan.rules_digest}):"
    for change in plan.changes:
        if change.account_id == account_id:
            steps = [f"  - {part}" for part in change.reason.split("; ")]
            return "\n".join(
                [
                    head,
                    f'Account {change.account_id} "{change.account_name}" was planned to move '
                    f"on route {change.rule_id}.",
                    f"From: {who(change.from_owner_id)}",
                    f"To:   {who(change.to_owner_id)}",
                    f"Trigger: {printable(trigger_text(change.trigger, change.handoff_id))}",
                    "Why, as the plan recorded it:",
                    *steps,
                    f"Outcome: {_outcome(report, account_id)}.",
                    *_followers(plan, report, account_id),
                ]
            )
    for skip in plan.skipped:
        if skip.account_id == account_id:
            return "\n".join(
                [
                    head,
                    f'Account {skip.account_id} "{skip.account_name}" was due for a handoff '
                    "but did not move.",
                    f"Owner: {who(skip.owner_id)}",
                    f"Skipped ({skip.code}): {skip.reason}.",
                ]
            )
    return None


def _followers(plan: Plan, report: RunReport | None, account_id: str) -> list[str]:
    """The records carried with the account and its handoff tasks, each with its outcome.
    Every value is escaped on its own: a newline in a task subject must not forge a line."""
    names = {o.owner_id: o.name for o in plan.owners}

    def outcome(result: str, detail: str) -> str:
        # Without a report (a run that never finished) outcomes are unknown, not failed.
        if report is None:
            return "not recorded"
        return printable(result + (f": {detail}" if detail else ""))

    def name(owner_id: str | None) -> str:
        return printable(names.get(owner_id or "", owner_id or "nobody"))

    related, made = (report.related, report.tasks) if report else ([], [])
    carried = [r for r in carried_rows(plan, related, names) if r.account_id == account_id]
    tasks = [t for t in task_rows(plan, made, names) if t.account_id == account_id]
    lines = []
    if carried:
        lines.append(f"Records carried with it ({len(carried)}):")
        for r in carried:
            lines.append(
                f"  - {printable(r.object)} {printable(r.record_id)} from "
                f"{name(r.from_owner_id)} to {name(r.to_owner_id)}: "
                f"{outcome(r.outcome, r.outcome_detail)}"
            )
            if r.reason:
                lines.append(f"      why: {printable(r.reason)}")
    if tasks:
        lines.append(f"Handoff tasks ({len(tasks)}):")
        lines += [
            f"  - for the {printable(t.for_owner.replace('_', ' '))} {name(t.owner_id)}: "
            f'"{printable(t.subject)}", due {t.due_date}: {outcome(t.outcome, t.outcome_detail)}'
            for t in tasks
        ]
    return lines


def explain_owner_in_run(plan: Plan, run_id: str, role: OwnerRole, rules: RuleSet | None) -> str:
    start = window_start(plan.as_of, plan.window_days)
    lines = [
        f"Run {run_id} (as of {plan.as_of}, rules {plan.rules_digest}):",
        f"Owner {owner_line(_owner_of(role), None)}",
        f"Role: {role.role.value}; {role.reason}",
        "",
        f"Role metrics over the {plan.window_days} days {start} .. {plan.as_of}:",
        *metric_lines(role.metrics),
        "",
    ]
    if rules is not None and rules.digest == plan.rules_digest:
        lines.append("How the roles file decided:")
        lines += classification_trail(rules.roles, _owner_of(role), role.metrics)
    elif rules is not None:
        lines.append(
            f"The rule files given ({rules.digest}) are not the ones this run used: the "
            "recorded reason above is the trail."
        )
    if title_disagrees(role):
        lines += ["", f'Their title "{role.title}" says otherwise.']
    gives = [c.account_id for c in plan.changes if c.from_owner_id == role.owner_id]
    gets = [c.account_id for c in plan.changes if c.to_owner_id == role.owner_id]
    lines += [
        "",
        f"In this run: gave {len(gives)} accounts"
        + (f" ({', '.join(gives[:8])}{', ...' if len(gives) > 8 else ''})" if gives else "")
        + f", received {len(gets)}"
        + (f" ({', '.join(gets[:8])}{', ...' if len(gets) > 8 else ''})" if gets else "")
        + ".",
    ]
    return "\n".join(lines)
