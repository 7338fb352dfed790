"""Compare a plan with a rule test's expectations: one readable line per unmet expectation.

Each line names the field (`owners.acc-1`), what was expected, what the plan did, and
the plan's reason for what it did, so that a failing test explains itself without a
debugger. Owners are shown by email when they have one, as rule files name them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from roleSync.model import Account, Book, Role
from roleSync.plan import Plan, SkipCode
from roleSync.plan.triggers import decide, event_of, owner_facts, plan_window
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.schema import Handoff, Trigger
from roleSync.rules.testing_schema import Expectations, SkipSpec, TaskExpectation

# Metrics are rounded by roleSync; the tolerance only absorbs float noise in expectations.
REL_TOLERANCE = 1e-9
NOT_SKIPPED = "not skipped"


class PlanView:
    """A plan indexed for comparison, with words for what happened to an account."""

    def __init__(self, plan: Plan, book: Book, routing: CompiledRouting) -> None:
        self.plan = plan
        self.book = book
        self.routing = routing
        self.roles = {o.owner_id: o for o in plan.owners}
        self.changes = {c.account_id: c for c in plan.changes}
        self.skips = {s.account_id: s for s in plan.skipped}

    def owner_id(self, key: str | None) -> str | None:
        """The id of an owner named by email or id (expectation keys are validated on load)."""
        found = self.book.find_owner(key) if key is not None else None
        return found.id if found is not None else key

    def who(self, owner_id: str | None) -> str:
        if owner_id is None:
            return "no owner"
        owner = self.book.owners.get(owner_id)
        return owner.email if owner is not None and owner.email else owner_id

    def owner_after(self, account_id: str) -> str | None:
        change = self.changes.get(account_id)
        return change.to_owner_id if change else self.book.accounts[account_id].owner_id

    def why(self, account_id: str) -> str:
        """The plan's reason for what happened to the account (moved, skipped or stayed)."""
        if (change := self.changes.get(account_id)) is not None:
            return change.reason
        if (skip := self.skips.get(account_id)) is not None:
            return f"skipped {skip.code}: {skip.reason}"
        return self._stay_reason(account_id)

    def _stay_reason(self, account_id: str) -> str:
        # The plan only counts accounts that stay; these words mirror plan/triggers.py.
        account = self.book.accounts[account_id]
        blocks = self.routing.blocks
        facts = self.book.deal_facts(plan_window(self.plan.as_of, self.plan.window_days, blocks))
        fired = [
            e
            for b in blocks
            if (e := event_of(b, account, facts)) is not None and e.on <= self.plan.as_of
        ]
        if not fired:
            if [b.trigger for b in blocks] == [Trigger.FIRST_WON_NEW_BUSINESS]:
                return f"not handed off: no new business won by {self.plan.as_of}"
            return f"not handed off: no handoff trigger fired by {self.plan.as_of}"
        if all(e.on < e.block.earliest(self.plan.as_of) for e in fired):
            first = fired[0]
            return (
                f"not handed off: {first.what}, older than the age limit of handoff "
                f"{first.block.id} (before {first.block.earliest(self.plan.as_of)})"
            )
        owner = self.book.owners.get(account.owner_id or "")
        if owner is None or not owner.active:
            state = "inactive" if owner is not None else "missing"
            return f"not handed off: owner {state} and handoff.from_inactive_owners is false"
        role = self.roles[owner.id].role
        if role is Role.FARMER:
            return f"not handed off: {self.who(owner.id)} is a farmer"
        return f"not handed off: {self.who(owner.id)} is {role.value}, not in handoff.from_roles"

    def route_of(self, account_id: str) -> str | None:
        """The route that moved the account, or that found no eligible farmer for it, or
        that holds it waiting for an away member."""
        if (change := self.changes.get(account_id)) is not None:
            return change.rule_id
        skip = self.skips.get(account_id)
        if skip is not None and skip.code == SkipCode.WAITING:
            return skip.route
        if skip is not None and skip.code == SkipCode.NO_FARMER:
            account = self.book.accounts[account_id]
            route = self.routing.route_in(self._block_of(account), account)
            return route.id if route is not None else None
        return None

    def _block_of(self, account: Account) -> Handoff:
        """The handoff block that decided a skipped account, whose routes it was tried on."""
        roles = {o.owner_id: o.role for o in self.plan.owners}
        active = {o.owner_id: o.active for o in self.plan.owners}
        role, is_active = owner_facts(account, roles, active)
        blocks = self.routing.blocks
        facts = self.book.deal_facts(plan_window(self.plan.as_of, self.plan.window_days, blocks))
        event = decide(account, role, is_active, blocks, facts, self.plan.as_of).event
        return blocks[0] if event is None else event.block


def _show(value: object) -> str:
    return "null" if value is None else str(value)


def _same_number(expected: float | None, actual: float | None) -> bool:
    if expected is None or actual is None:
        return expected is actual
    return math.isclose(expected, actual, rel_tol=REL_TOLERANCE)


def _roles(expected: Mapping[str, Role], view: PlanView) -> Iterator[str]:
    for key, role in expected.items():
        actual = view.roles[view.owner_id(key) or key]
        if actual.role is not role:
            yield f"roles.{key}: expected {role.value}, got {actual.role.value} ({actual.reason})"


def _owners(expected: Mapping[str, str | None], view: PlanView) -> Iterator[str]:
    for account_id, key in expected.items():
        want, got = view.owner_id(key), view.owner_after(account_id)
        if want != got:
            yield (
                f"owners.{account_id}: expected {view.who(want)}, got {view.who(got)} "
                f"({view.why(account_id)})"
            )


def _handoffs(expected: int, view: PlanView) -> Iterator[str]:
    changes = view.plan.changes
    if len(changes) != expected:
        moved = ", ".join(f"{c.account_id} -> {view.who(c.to_owner_id)}" for c in changes)
        yield f"handoffs: expected {expected}, got {len(changes)} ({moved or 'nothing moved'})"


def _skipped(expected: Mapping[str, SkipSpec | str | None], view: PlanView) -> Iterator[str]:
    for account_id, spec in expected.items():
        actual = view.skips.get(account_id)
        want = spec.code if isinstance(spec, SkipSpec) else spec
        got = actual.code if actual is not None else None
        if want != got:
            yield (
                f"skipped.{account_id}: expected {want or NOT_SKIPPED}, "
                f"got {got or NOT_SKIPPED} ({view.why(account_id)})"
            )
        elif isinstance(spec, SkipSpec) and spec.reason_contains is not None:
            reason = actual.reason if actual is not None else ""
            if spec.reason_contains not in reason:
                yield (
                    f"skipped.{account_id}.reason: expected to contain "
                    f"{spec.reason_contains!r}, got {reason!r}"
                )


def _metrics(expected: Mapping[str, Mapping[str, float | None]], view: PlanView) -> Iterator[str]:
    for key, values in expected.items():
        actual = view.roles[view.owner_id(key) or key].metrics.as_dict()
        for name, want in values.items():
            if not _same_number(want, actual[name]):
                yield f"metrics.{key}.{name}: expected {_show(want)}, got {_show(actual[name])}"


def _rules(expected: Mapping[str, str | None], view: PlanView) -> Iterator[str]:
    for key, want in expected.items():
        owner_id = view.owner_id(key)
        if owner_id in view.roles:
            decided = view.roles[owner_id]
            got, reason = decided.rule_id, decided.reason
        else:
            got, reason = view.route_of(key), view.why(key)
        if want != got:
            yield f"rules.{key}: expected {_show(want)}, got {_show(got)} ({reason})"


def _handoff_ids(expected: Mapping[str, str | None], view: PlanView) -> Iterator[str]:
    for key, want in expected.items():
        change = view.changes.get(key)
        got = change.handoff_id if change is not None else None
        if want != got:
            yield f"handoff_ids.{key}: expected {_show(want)}, got {_show(got)} ({view.why(key)})"


def _tasks(expected: Mapping[str, list[TaskExpectation]], view: PlanView) -> Iterator[str]:
    for account_id, wanted in expected.items():
        got = [t for t in view.plan.task_creates if t.account_id == account_id]
        if len(got) != len(wanted):
            shown = "; ".join(
                f"{t.for_owner.value} {view.who(t.owner_id)} {t.subject!r} due {t.due_date}"
                for t in got
            )
            yield (
                f"tasks.{account_id}: expected {len(wanted)} tasks, got {len(got)} "
                f"({shown or view.why(account_id)})"
            )
            continue
        for index, (want, task) in enumerate(zip(wanted, got, strict=True)):
            where = f"tasks.{account_id}.{index}"
            pairs = [("for", want.for_.value, task.for_owner.value)]
            if want.owner is not None:
                pairs.append(
                    ("owner", view.who(view.owner_id(want.owner)), view.who(task.owner_id))
                )
            if want.subject is not None:
                pairs.append(("subject", repr(want.subject), repr(task.subject)))
            if want.due is not None:
                pairs.append(("due", str(want.due), str(task.due_date)))
            for name, expect, actual in pairs:
                if expect != actual:
                    yield f"{where}.{name}: expected {expect}, got {actual}"


def unmet_expectations(expect: Expectations, view: PlanView) -> list[str]:
    """One line per expectation the plan does not meet, in the order the file lists them."""
    lines: list[str] = []
    if expect.roles is not None:
        lines.extend(_roles(expect.roles, view))
    if expect.owners is not None:
        lines.extend(_owners(expect.owners, view))
    if expect.handoffs is not None:
        lines.extend(_handoffs(expect.handoffs, view))
    if expect.skipped is not None:
        lines.extend(_skipped(expect.skipped, view))
    if expect.metrics is not None:
        lines.extend(_metrics(expect.metrics, view))
    if expect.rules is not None:
        lines.extend(_rules(expect.rules, view))
    if expect.handoff_ids is not None:
        lines.extend(_handoff_ids(expect.handoff_ids, view))
    if expect.tasks is not None:
        lines.extend(_tasks(expect.tasks, view))
    return lines
