"""Decisions -> Plan: the ordered, serializable list of what a run would change, and why.

Pure: a Book, compiled rules, `as_of` and the rotation state in; a Plan out. The same
inputs give a byte-identical plan file (`Plan.to_json`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from roleSync.metrics import RoleMetrics, compute_role_metrics
from roleSync.model import Account, Book, DealFacts, FieldValue, PendingRole, Role
from roleSync.plan.carry import carried_records
from roleSync.plan.document import PLAN_FORMAT, Plan
from roleSync.plan.handoff_tasks import handoff_tasks
from roleSync.plan.triggers import Event, Handoffs, plan_window
from roleSync.plan.types import MetricWrite, OwnerRole, OwnershipChange, Skip, SkipCode
from roleSync.rules.availability import WindowFields, away_owners
from roleSync.rules.classify import CompiledRoles, RoleDecision, classify_owners
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.routing import FarmerPicker
from roleSync.rules.schema import Handoff


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
    # Owner id -> role in the previous run, for the roles file's `hysteresis`; empty (no
    # previous run): every role is decided from scratch.
    previous_roles: Mapping[str, Role] = field(default_factory=dict)
    # Owner id -> the role change the previous run's plan was counting days of
    # (`hysteresis: {days: N}`); empty: every count starts with this run.
    pending_roles: Mapping[str, PendingRole] = field(default_factory=dict)
    # The owner fields holding out-of-office windows (the profile's `availability`), read
    # with routing.yaml's `availability` list; None: only the list.
    availability: WindowFields | None = None


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
        decisions = _classified(book, metrics, inputs)
    return _metric_writes(book, decisions, metrics, inputs.metric_fields)


def _classified(
    book: Book, metrics: Mapping[str, RoleMetrics], inputs: PlanInputs
) -> dict[str, RoleDecision]:
    return classify_owners(
        book, metrics, inputs.roles, inputs.previous_roles, inputs.pending_roles, inputs.as_of
    )


def _manual_reassignment(account: Account, inputs: PlanInputs, block: Handoff) -> str | None:
    """Why the account must not be handed off again, if a person moved it after roleSync."""
    last = inputs.handed_off.get(account.id)
    if last is None or account.owner_id == last.to_owner_id:
        return None
    if block.revert_manual_changes:
        return None
    return (
        f"roleSync gave it to {last.to_owner_id} in run {last.run_id}; since reassigned by "
        f"hand to {account.owner_id or 'no owner'} (handoff.revert_manual_changes: false)"
    )


def _due(
    book: Book, inputs: PlanInputs, decisions: Mapping[str, RoleDecision], facts: DealFacts
) -> tuple[list[tuple[date, str, Event, str]], Counter[str]]:
    """Accounts whose handoff is due or pending (trigger date, account id, event, why),
    oldest trigger first, and how many stay for each reason."""
    handoffs = Handoffs(inputs.routing.blocks, inputs.as_of)
    roles = {owner_id: d.role for owner_id, d in decisions.items()}
    active = {o.id: o.active for o in book.owners.values()}
    due: list[tuple[date, str, Event, str]] = []
    counts: Counter[str] = Counter()
    decide = handoffs.decide
    for account in book.accounts.values():
        owner_id = account.owner_id
        if owner_id is not None and owner_id in active:
            verdict = decide(account, roles[owner_id], active[owner_id], facts)
        else:
            verdict = decide(account, None, False, facts)
        if verdict.event is None:
            counts[verdict.counter] += 1
        else:
            due.append((verdict.event.on, account.id, verdict.event, verdict.why))
    # Oldest triggers first, so when capacity runs short the longest-waiting accounts win.
    # Account ids are unique: tuples never compare as far as the event.
    due.sort()
    return due, counts


def build_plan(book: Book, inputs: PlanInputs) -> Plan:
    window = inputs.roles.window_days
    metrics = compute_role_metrics(book, inputs.as_of, window)
    decisions = _classified(book, metrics, inputs)
    facts = book.deal_facts(plan_window(inputs.as_of, window, inputs.routing.blocks))
    routing = inputs.routing
    away = away_owners(book, routing.availability, inputs.availability, inputs.as_of)
    picker = FarmerPicker(book, decisions, facts.revenue, inputs.rotation, away)
    due, counts = _due(book, inputs, decisions, facts)
    summary = {
        "accounts": len(book.accounts),
        "owners": len(book.owners),
        "no_trigger": counts["no_trigger"],
        "stays": counts["stays"],
    }
    if counts["too_old"]:  # only when it happens: plans without it stay byte-identical
        summary["too_old"] = counts["too_old"]

    changes: list[OwnershipChange] = []
    skipped: list[Skip] = []
    fired_on: dict[str, date] = {}  # account id -> the day its trigger fired (tasks)
    for _, account_id, event, why in due:
        account = book.accounts[account_id]

        def skip(code: str, reason: str, account: Account = account, route: str = "") -> None:
            skipped.append(Skip(account.id, account.name, account.owner_id, code, reason, route))

        block = event.block
        due_on = event.on + timedelta(days=block.delay_days)
        if account.locked:
            skip(SkipCode.LOCKED, "account is marked do-not-route")
        elif (manual := _manual_reassignment(account, inputs, block)) is not None:
            skip(SkipCode.MANUAL, manual)
        elif due_on > inputs.as_of:
            skip(SkipCode.PENDING, f"{event.what}; handoff due {due_on}")
        elif (route := inputs.routing.route_in(block, account)) is None:
            skip(
                SkipCode.NO_ROUTE,
                "no route matched "
                f"(segment={account.segment or '-'}, region={account.region or '-'})",
            )
        else:
            # A full route may pass the account on (`when_full: next_route`): `route` is
            # then the one that placed it.
            route, pick = picker.pick_overflowing(route, account)
            if pick.owner is None and pick.back_on is not None:
                skip(SkipCode.WAITING, pick.reason, route=route.id)
            elif pick.owner is None:
                # `route`: the last route tried, full (the report names full routes).
                skip(SkipCode.NO_FARMER, pick.reason, route=route.id)
            else:
                changes.append(
                    OwnershipChange(
                        account.id,
                        account.name,
                        account.owner_id,
                        pick.owner.id,
                        route.id,
                        f"{why}; {event.what}, handoff due {due_on}; {pick.reason}",
                        trigger=block.trigger.value,
                        handoff_id=block.id,
                    )
                )
                fired_on[account.id] = event.on

    summary.update(handoffs=len(changes), skipped=len(skipped))
    related = carried_records(book, changes, inputs.routing.blocks)
    if related:  # only with carry: plans without it stay byte-identical
        summary["carried"] = len(related)
    planned = handoff_tasks(book, changes, fired_on, inputs.routing.blocks, inputs.as_of)
    if planned.tasks:  # only with tasks: plans without them stay byte-identical
        summary["tasks"] = len(planned.tasks)
    if planned.owner_left:
        summary["tasks_owner_left"] = planned.owner_left
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
            decisions[o.id].pending,
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
        related,
        planned.tasks,
    )
