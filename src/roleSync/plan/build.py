"""Decisions -> Plan: the ordered, serializable list of what a run would change, and why.

Pure: a Book, compiled rules, `as_of` and the rotation state in; a Plan out. The same
inputs give a byte-identical plan file (`Plan.to_json`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from roleSync.metrics import RoleMetrics, compute_role_metrics
from roleSync.model import Account, Book, DealWindow, FieldValue, Role
from roleSync.plan.document import PLAN_FORMAT, Plan
from roleSync.plan.types import MetricWrite, OwnerRole, OwnershipChange, Skip, SkipCode
from roleSync.rules.classify import CompiledRoles, RoleDecision, classify_owners
from roleSync.rules.routing import CompiledRouting, FarmerPicker


@dataclass(frozen=True, slots=True)
class HandedOff:
    """roleSync's last ownership write of an account (from the state store's audit log)."""

    to_owner_id: str
    run_id: str


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """Everything a plan depends on besides the book, gathered so callers cannot forget one."""

    profile: str
    roles: CompiledRoles
    routing: CompiledRouting
    rules_digest: str
    as_of: date
    rotation: Mapping[str, str] = field(default_factory=dict)
    # Destination field name per value ("role" or a metric name); empty: write no metrics.
    metric_fields: Mapping[str, str] = field(default_factory=dict)
    # Account id -> roleSync's last write of its owner: an account whose owner differs
    # from it now was reassigned by a person, who wins unless the rules say otherwise.
    handed_off: Mapping[str, HandedOff] = field(default_factory=dict)


def _metric_values(
    decision: RoleDecision, metrics: RoleMetrics, fields: Mapping[str, str]
) -> dict[str, FieldValue]:
    source: dict[str, Any] = metrics.as_dict()
    source["role"] = decision.role.value
    return {dest: source[name] for name, dest in sorted(fields.items())}


def _metric_writes(
    book: Book,
    decisions: Mapping[str, RoleDecision],
    metrics: Mapping[str, RoleMetrics],
    fields: Mapping[str, str],
) -> list[MetricWrite]:
    """Only the owners whose recorded values differ: a sync with nothing new writes nothing.
    Each write carries the values it was planned from, for apply's compare-and-set."""
    writes = []
    for owner_id, owner in book.owners.items():
        values = _metric_values(decisions[owner_id], metrics[owner_id], fields)
        if any(owner.recorded.get(k) != v for k, v in values.items()):
            expected = {k: owner.recorded[k] for k in values if k in owner.recorded}
            writes.append(MetricWrite(owner_id, values, expected))
    return writes


def _writes_after_moves(
    book: Book,
    inputs: PlanInputs,
    changes: list[OwnershipChange],
    metrics: Mapping[str, RoleMetrics],
    decisions: Mapping[str, RoleDecision],
) -> list[MetricWrite]:
    """The metric writes for the book as it will be once `changes` are written: accounts
    move with their holdings (accounts owned, customers, managed revenue), and the role
    written beside them is classified from those metrics. Writing what the book held
    before the moves would leave the CRM one run behind: the next plan would rewrite it."""
    if not inputs.metric_fields:
        return []
    if changes:
        moves = {c.account_id: c.to_owner_id for c in changes}
        metrics = compute_role_metrics(book, inputs.as_of, inputs.roles.window_days, moves)
        decisions = classify_owners(book, metrics, inputs.roles)
    return _metric_writes(book, decisions, metrics, inputs.metric_fields)


def _candidate_from(
    account: Account,
    book: Book,
    decisions: Mapping[str, RoleDecision],
    inputs: PlanInputs,
    allowed: frozenset[Role],
) -> str | None:
    """Why this account's owner may hand it off, or None if it stays where it is."""
    owner = book.owners.get(account.owner_id or "")
    if owner is None or not owner.active:
        if inputs.routing.handoff.from_inactive_owners:
            return "owner inactive" if owner is not None else "no active owner"
        return None
    role = decisions[owner.id].role
    if role is Role.FARMER:
        return None  # already with a farmer: left alone
    return f"owner is a {role.value}" if role in allowed else None


def _manual_reassignment(account: Account, inputs: PlanInputs) -> str | None:
    """Why the account must not be handed off again, if a person moved it after roleSync."""
    last = inputs.handed_off.get(account.id)
    if last is None or account.owner_id == last.to_owner_id:
        return None
    if inputs.routing.handoff.revert_manual_changes:
        return None
    return (
        f"roleSync gave it to {last.to_owner_id} in run {last.run_id}; since reassigned by "
        f"hand to {account.owner_id or 'no owner'} (handoff.revert_manual_changes: false)"
    )


def build_plan(book: Book, inputs: PlanInputs) -> Plan:
    window = inputs.roles.window_days
    metrics = compute_role_metrics(book, inputs.as_of, window)
    decisions = classify_owners(book, metrics, inputs.roles)
    facts = book.deal_facts(DealWindow(inputs.as_of, window))
    revenue, triggers = facts.revenue, facts.triggers
    allowed = frozenset(Role(r.value) for r in inputs.routing.handoff.from_roles)
    picker = FarmerPicker(book, decisions, revenue, inputs.rotation)
    delay = timedelta(days=inputs.routing.handoff.delay_days)
    summary = {
        "accounts": len(book.accounts),
        "owners": len(book.owners),
        "no_trigger": 0,
        "stays": 0,
    }

    due: list[tuple[date, str, str]] = []  # (trigger date, account id, why it may move)
    for account in book.accounts.values():
        trigger = triggers.get(account.id)
        if trigger is None or trigger.close_date > inputs.as_of:
            summary["no_trigger"] += 1
            continue
        why = _candidate_from(account, book, decisions, inputs, allowed)
        if why is None:
            summary["stays"] += 1
            continue
        due.append((trigger.close_date, account.id, why))

    changes: list[OwnershipChange] = []
    skipped: list[Skip] = []
    # Oldest triggers first, so when capacity runs short the longest-waiting accounts win.
    for won_on, account_id, why in sorted(due):
        account = book.accounts[account_id]

        def skip(code: str, reason: str, account: Account = account) -> None:
            skipped.append(Skip(account.id, account.name, account.owner_id, code, reason))

        due_on = won_on + delay
        if account.locked:
            skip(SkipCode.LOCKED, "account is marked do-not-route")
        elif (manual := _manual_reassignment(account, inputs)) is not None:
            skip(SkipCode.MANUAL, manual)
        elif due_on > inputs.as_of:
            skip(SkipCode.PENDING, f"first new business won {won_on}; handoff due {due_on}")
        elif (route := inputs.routing.route_for(account)) is None:
            skip(
                SkipCode.NO_ROUTE,
                "no route matched "
                f"(segment={account.segment or '-'}, region={account.region or '-'})",
            )
        elif (pick := picker.pick(route, account)).owner is None:
            skip(SkipCode.NO_FARMER, pick.reason)
        else:
            changes.append(
                OwnershipChange(
                    account.id,
                    account.name,
                    account.owner_id,
                    pick.owner.id,
                    route.id,
                    f"{why}; first new business won {won_on}, handoff due {due_on}; {pick.reason}",
                )
            )

    summary.update(handoffs=len(changes), skipped=len(skipped))
    owners = [
        OwnerRole(
            o.id,
            o.name,
            o.email,
            o.title,
            o.active,
            decisions[o.id].role,
            decisions[o.id].rule_id,
            decisions[o.id].reason,
            metrics[o.id],
        )
        for o in book.owners.values()
    ]
    writes = _writes_after_moves(book, inputs, changes, metrics, decisions)
    return Plan(
        PLAN_FORMAT,
        inputs.profile,
        inputs.as_of,
        window,
        inputs.rules_digest,
        owners,
        changes,
        writes,
        skipped,
        dict(sorted(picker.rotation.items())),
        summary,
    )
