"""`explain`: why an owner has their role, and why an account moves (or stays), in words.

Pure, like planning: a Book, the rule files, `as_of` and the rotation state in; text
out. The verdict always comes from `build_plan` itself; this module only retraces it,
so an explanation can never tell a different story from the plan. To show the farmer
pick as it happened, it replays the plan's earlier picks on a fresh `FarmerPicker`
(picks are deterministic and only handoffs change loads and turns).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from roleSync.metrics import account_revenue, window_start
from roleSync.model import Account, Book, Owner, PendingRole, Role
from roleSync.plan import OwnerRole, OwnershipChange, Plan, PlanInputs, build_plan
from roleSync.plan.triggers import (
    Event,
    decide,
    describe_trigger,
    event_of,
    owner_facts,
    plan_window,
)
from roleSync.render import table, title_disagrees
from roleSync.report.conditions import classification_trail, describe, metric_lines
from roleSync.report.explain_carried import carried_and_tasks
from roleSync.report.explain_handoff import no_trigger, owner_handoff
from roleSync.report.fmt import money_full
from roleSync.report.lookup import find_owner, owner_keys
from roleSync.rules.availability import WindowFields, away_owners
from roleSync.rules.classify import CompiledRoles, RoleDecision
from roleSync.rules.hold_days import switch_day
from roleSync.rules.routes import CompiledRoute, CompiledRouting, resolve_account_subject
from roleSync.rules.routing import FarmerPicker
from roleSync.rules.schema import (
    Assign,
    Handoff,
    Hysteresis,
    RolePool,
    RolesFile,
    RoutingFile,
    Strategy,
    Trigger,
)


@dataclass(frozen=True, slots=True)
class PastHandoff:
    """The latest handoff of an account by an earlier run, from that run's report."""

    run_id: str
    change: OwnershipChange


def owner_line(owner: Owner, role: OwnerRole | None) -> str:
    status = "active" if owner.active else "inactive"
    title = f'"{owner.title}"' if owner.title else "no title"
    who = f"{owner.name} <{owner.email}> ({owner.id}), {title}, {status}"
    if role is None:
        return who
    return f"{who}; role {role.role.value} ({role.reason})"


def describe_assign(assign: Assign) -> str:
    pool = assign.pool
    members = f"every {pool.role.value}" if isinstance(pool, RolePool) else ", ".join(pool)
    if assign.strategy is Strategy.ROUND_ROBIN:
        how = "round robin, continuing across runs"
    elif assign.strategy is Strategy.WEIGHTED:
        weights = ", ".join(f"{k} {v:g}" for k, v in (assign.weights or {}).items())
        how = f"weighted ({weights or 'all'}{'; others 1' if weights else ' 1'})"
        how += ", continuing across runs"
    else:
        how = f"least loaded by {assign.balance_by.value}"
    caps = []
    if assign.capacity is not None and assign.capacity.max_accounts is not None:
        caps.append(f"at most {assign.capacity.max_accounts} accounts each")
    if assign.capacity is not None and assign.capacity.max_revenue is not None:
        caps.append(f"at most {money_full(assign.capacity.max_revenue)} revenue each")
    if assign.match:
        # Territory (`match`): one rotation per territory, members outside it passed over.
        parts = (f"{m.account} {m.op.value} {m.owner}" for m in assign.match)
        caps.append(f"territory: {' and '.join(parts)}")
    return f"pool: {members}; {how}" + (f"; {', '.join(caps)}" if caps else "")


def _held_lines(role: OwnerRole, hysteresis: Hysteresis | None) -> list[str]:
    """Why the role is the previous run's (roles.yaml `hysteresis`), and when it would
    change; nothing otherwise."""
    if not role.reason.startswith("held ") or hysteresis is None:
        return []
    lines = [f"Held by hysteresis: {role.reason.removeprefix('held ')}."]
    pending = role.pending
    if pending is None or hysteresis.days is None:
        return [*lines, "  (the rules below, read without the margin, would change the role)"]
    sooner = ", or sooner if they give it past the margin" if hysteresis.margin else ""
    return [
        *lines,
        f"  (the rules below give {pending.role.value}: the role changes on "
        f"{switch_day(pending, hysteresis.days)} if they still do then{sooner})",
    ]


def _role_by(role: OwnerRole) -> str:
    if role.rule_id:
        return f", by rule {role.rule_id}"
    # Held by `hysteresis: {days}` with no rule giving the role today.
    return ", held by hysteresis" if role.reason.startswith("held ") else ", no rule matched"


class Explainer:
    """Everything `explain` needs about one book, rule set and day, computed once."""

    def __init__(
        self,
        book: Book,
        roles: RolesFile,
        routing: RoutingFile,
        as_of: date,
        rotation: Mapping[str, str] | None = None,
        *,
        profile: str = "explain",
        rules_digest: str = "",
        previous_roles: Mapping[str, Role] | None = None,
        pending_roles: Mapping[str, PendingRole] | None = None,
        availability: WindowFields | None = None,
    ) -> None:
        self.book = book
        self.roles_file = roles
        self.routing_file = routing
        self.as_of = as_of
        self.rotation = dict(rotation or {})
        self.routing = CompiledRouting(routing)
        self.plan: Plan = build_plan(
            book,
            PlanInputs(
                profile,
                CompiledRoles(roles),
                self.routing,
                rules_digest,
                as_of,
                self.rotation,
                previous_roles=dict(previous_roles or {}),
                pending_roles=dict(pending_roles or {}),
                availability=availability,
            ),
        )
        # Who is away on the day, as the plan saw it: the pickers below replay its picks.
        self.away = away_owners(book, self.routing.availability, availability, as_of)
        self.owner_roles = {o.owner_id: o for o in self.plan.owners}
        self.decisions = {
            o.owner_id: RoleDecision(o.owner_id, o.role, o.rule_id, o.reason, o.pending)
            for o in self.plan.owners
        }
        self.revenue = account_revenue(book, as_of, roles.window_days)
        self.facts = book.deal_facts(plan_window(as_of, roles.window_days, routing.blocks))

    # -- lookup ----------------------------------------------------------------------

    def find_account(self, key: str) -> Account | None:
        """By id, or by a name no other account has (case-insensitive)."""
        if key in self.book.accounts:
            return self.book.accounts[key]
        named = [a for a in self.book.accounts.values() if a.name.casefold() == key.casefold()]
        return named[0] if len(named) == 1 else None

    def find_owner(self, key: str) -> Owner | None:
        """By id, email or full name (roleSync.report.lookup); AmbiguousOwnerError when the
        name is several owners'."""
        return find_owner(key, self.book.owners.values(), owner_keys)

    def name(self, owner_id: str | None) -> str:
        owner = self.book.owners.get(owner_id or "")
        return owner.name if owner is not None else (owner_id or "nobody")

    # -- owners ----------------------------------------------------------------------

    def explain_owner(self, owner: Owner) -> str:
        role = self.owner_roles[owner.id]
        window = self.roles_file.window_days
        start = window_start(self.as_of, window)
        lines = [
            f"Owner {owner_line(owner, None)}",
            f"Role: {role.role.value}{_role_by(role)}",
            *_held_lines(role, self.roles_file.hysteresis),
            "",
            f"Role metrics over the {window} days {start} .. {self.as_of}:",
            *metric_lines(role.metrics),
            "",
            "How the roles file decided:",
            *classification_trail(self.roles_file, owner, role.metrics),
        ]
        if title_disagrees(role):
            lines += [
                "",
                f'Their title "{owner.title}" says otherwise: by the deal mix they work '
                f"as a {role.role.value}.",
            ]
        return "\n".join([*lines, "", *self._owner_routing(owner, role)])

    def _owner_routing(self, owner: Owner, role: OwnerRole) -> list[str]:
        plan = self.plan
        gives = [c for c in plan.changes if c.from_owner_id == owner.id]
        gets = [c for c in plan.changes if c.to_owner_id == owner.id]
        waits = [s for s in plan.skipped if s.owner_id == owner.id]
        lines = [f"In routing (a plan as of {self.as_of}):"]
        blocks = self.routing_file.blocks
        for handoff in blocks:
            lines.append(owner_handoff(owner, role, handoff, len(blocks) > 1))
        if (window := self.away.get(owner.id)) is not None:
            lines.append(f"  {window.describe()}: no handoff reaches them before {window.back_on}")
        picker = FarmerPicker(self.book, self.decisions, self.revenue, self.rotation, self.away)
        for route in self.routing.routes:
            # Who is in a pool, and in which order, does not depend on the account.
            pool = picker.candidates(route, Account("-", "-", None))
            ids = [o.id for o, _ in pool]
            if owner.id not in ids:
                continue
            turn = f"; turn {ids.index(owner.id) + 1} of {len(ids)} in its rotation"
            strategy = route.assign.strategy
            if strategy is Strategy.WEIGHTED:
                weighted = picker.weighted(route)
                weight = weighted.weights[ids.index(owner.id)]
                turn = f"; weight {weight:g} of {weighted.total:g} in its rotation"
            lines.append(
                f"  in the pool of route {route.id} ({describe_assign(route.assign)})"
                + (turn if strategy is not Strategy.LEAST_LOADED else "")
            )
        for label, items in (("gives", gives), ("receives", gets)):
            if items:
                shown = ", ".join(c.account_id for c in items[:8])
                more = f" and {len(items) - 8} more" if len(items) > 8 else ""
                lines.append(f"  {label} {len(items)} accounts in this plan: {shown}{more}")
        if waits:
            codes = sorted({s.code for s in waits})
            lines.append(
                f"  {len(waits)} of their accounts are due but skipped ({', '.join(codes)})"
            )
        if not (gives or gets or waits):
            lines.append("  no handoff involves them in this plan")
        return lines

    # -- accounts --------------------------------------------------------------------

    def explain_account(self, account: Account, last: PastHandoff | None = None) -> str:
        owner = self.book.owners.get(account.owner_id or "")
        fields = ", ".join(
            f"{k} {v or '-'}"
            for k, v in (
                ("segment", account.segment),
                ("region", account.region),
                ("tier", account.tier),
                ("lifecycle", account.lifecycle),
            )
        )
        lines = [f'Account {account.id} "{account.name}": {fields}']
        if owner is None:
            lines.append(f"Owner: none in the book ({account.owner_id or 'unowned'})")
        else:
            lines.append(f"Owner: {owner_line(owner, self.owner_roles.get(owner.id))}")
        if last is not None:
            c = last.change
            lines.append(
                f"Last handed off by run {last.run_id}: {self.name(c.from_owner_id)} -> "
                f"{self.name(c.to_owner_id)} on route {c.rule_id} ({c.reason})"
            )
        lines += ["", *self._trail(account, owner), "", self._outcome(account)]
        lines += carried_and_tasks(self.plan, account.id, self.name, self.routing_file.blocks)
        return "\n".join(lines)

    def _outcome(self, account: Account) -> str:
        for change in self.plan.changes:
            if change.account_id == account.id:
                to = self.book.owners[change.to_owner_id]
                return f"Outcome: hand off to {to.name} <{to.email}> on route {change.rule_id}."
        for skip in self.plan.skipped:
            if skip.account_id == account.id:
                return f"Outcome: skipped ({skip.code}): {skip.reason}."
        return f"Outcome: stays with {self.name(account.owner_id)}."

    def _trail(self, account: Account, owner: Owner | None) -> list[str]:
        """Each step build_plan takes, in its order, stopping where the account stops."""
        blocks = self.routing_file.blocks
        role = None if owner is None else self.owner_roles[owner.id].role
        active = owner is not None and owner.active
        verdict = decide(account, role, active, blocks, self.facts, self.as_of)
        event = verdict.event
        if event is None:
            fired = [e for b in blocks if (e := event_of(b, account, self.facts)) is not None]
            if not fired:
                return [no_trigger(blocks)]
            event = fired[0]
        handoff = event.block
        lines = [
            f"Handoff trigger: {describe_trigger(handoff)} (handoff {handoff.id}): "
            f"{self._event_text(account, event)}."
        ]
        if event.on > self.as_of:
            return [*lines, f"  That is after {self.as_of}, the day explained: not yet."]
        if verdict.counter == "too_old":
            earliest = handoff.earliest(self.as_of)
            return [
                *lines,
                f"  Older than the age limit (triggers before {earliest} do not move "
                "accounts): it stays. To backfill, raise max_age_days or set an earlier since.",
            ]
        due = event.on.toordinal() + handoff.delay_days
        due_on = date.fromordinal(due)
        late = self.as_of.toordinal() - due
        lines.append(
            f"  Handoff delay {handoff.delay_days} days: due {due_on}"
            + (
                f", {late} days before {self.as_of}."
                if late >= 0
                else f", not yet ({-late} days to go)."
            )
        )
        moves, why = self._may_move(owner, handoff)
        lines.append(why)
        if not moves:
            return lines
        if account.locked:
            return [
                *lines,
                "Do-not-route: the account is locked in the CRM; roleSync never moves it.",
            ]
        if late < 0:
            return [*lines, "Pending: the hunter keeps it through onboarding until it is due."]
        lines += ["", "Routes, first match wins:"]
        own = handoff.routes or self.routing_file.routes  # owner_left may have its own
        for index, (raw, route) in enumerate(
            zip(own, self.routing.routes_of(handoff), strict=True), start=1
        ):
            matched, detail = describe(raw.when, account, resolve_account_subject, "       ")
            lines.append(f"  {index}. {route.id}: {'matched' if matched else 'did not match'}")
            lines += detail
            if matched:
                return [*lines, "", *self._pick(account, route)]
        return [*lines, "No route matched: the account is reported as no-route, never dropped."]

    def _event_text(self, account: Account, event: Event) -> str:
        if event.block.trigger is not Trigger.FIRST_WON_NEW_BUSINESS:
            return event.what
        won = self.book.first_won_new_business(account.id)
        if won is None:
            return event.what
        amount = money_full(won.amount) if won.amount is not None else "no amount"
        return f"deal {won.id} ({amount}), first new business won on {won.close_date}"

    def _may_move(self, owner: Owner | None, handoff: Handoff) -> tuple[bool, str]:
        """Whether its owner is one to hand off from (triggers.Handoffs.decide), and why."""
        from_roles = ", ".join(r.value for r in handoff.from_roles)
        if handoff.trigger is Trigger.OWNER_LEFT:  # decide fired it: the owner is inactive
            return True, "Its owner is deactivated: owner_left redistributes their whole book."
        if owner is None or not owner.active:
            who = "It has no owner in the book" if owner is None else "Its owner is inactive"
            flag = str(handoff.from_inactive_owners).lower()
            verdict = "it may move" if handoff.from_inactive_owners else "it stays"
            return (
                handoff.from_inactive_owners,
                f"{who}; handoff.from_inactive_owners is {flag}: {verdict}.",
            )
        role = self.owner_roles[owner.id].role
        if role is Role.FARMER:
            return False, f"Already with a farmer ({owner.name}): it stays."
        if role not in {Role(r.value) for r in handoff.from_roles}:
            return (
                False,
                f"Its owner is {role.value}, not in handoff.from_roles [{from_roles}]: it stays.",
            )
        return (
            True,
            f"Its owner is a {role.value}, in handoff.from_roles [{from_roles}]: it may move.",
        )

    def _replayed_picker(self, account: Account) -> tuple[FarmerPicker, int]:
        """The picker as it stood when build_plan reached this account: the plan's earlier
        handoffs (in plan order: oldest trigger first, then account id) replayed."""
        picker = FarmerPicker(self.book, self.decisions, self.revenue, self.rotation, self.away)
        routes = self.routing.by_id
        blocks = self.routing_file.blocks
        roles = {o.owner_id: o.role for o in self.plan.owners}
        active = {o.owner_id: o.active for o in self.plan.owners}

        def trigger_date(a: Account) -> date:
            role, is_active = owner_facts(a, roles, active)
            event = decide(a, role, is_active, blocks, self.facts, self.as_of).event
            return event.on if event is not None else date.max

        mine = (trigger_date(account), account.id)
        replayed = 0
        for change in self.plan.changes:
            other = self.book.accounts[change.account_id]
            if (trigger_date(other), other.id) >= mine:
                break
            picker.pick(routes[change.rule_id], other)
            replayed += 1
        return picker, replayed

    def _pick(self, account: Account, route: CompiledRoute) -> list[str]:
        picker, replayed = self._replayed_picker(account)
        assign = route.assign
        pool = picker.candidates(route, account)
        lines = [
            f"Picking the farmer on route {route.id}: {describe_assign(assign)}.",
            f"  Loads once the {replayed} handoff(s) this plan makes before it are counted "
            "(oldest trigger first):",
        ]
        # A territory route keeps one rotation per territory (rules/territory.py).
        last = picker.rotation.get(picker.rotation_key(route, account))
        on = "in this territory" if route.territory is not None else "on this route"
        rows = [
            [
                str(turn),
                o.name,
                str(picker.accounts.get(o.id, 0)),
                money_full(picker.revenue.get(o.id, 0.0)),
                ("eligible" if refusal is None else f"ineligible: {refusal}")
                + (f"; picked last {on}" if o.id == last else ""),
            ]
            for turn, (o, refusal) in enumerate(pool, start=1)
        ]
        if rows:
            grid = table(
                ["turn", "owner", "accounts", "revenue", "status"], rows, frozenset({0, 2, 3})
            )
            lines += ["    " + line for line in grid.splitlines()]
        if assign.strategy is Strategy.WEIGHTED:
            weighted = picker.weighted(route)
            scores = ", ".join(
                f"{o.name} {score:g} (weight {weight:g})"
                for (o, _), score, weight in zip(
                    pool, weighted.scores, weighted.weights, strict=True
                )
            )
            lines.append(
                f"  Weighted rotation: running scores before this pick: {scores}. Each pick "
                "adds every eligible member's weight to their score, takes the highest and "
                "subtracts the eligible members' total weight from it."
            )
        elif assign.strategy is Strategy.ROUND_ROBIN:
            after = next((o.name for o, _ in pool if o.id == last), None)
            lines.append(
                f"  Rotation: the last pick {on} was {after}; the turn goes on from there."
                if after
                else f"  Rotation: no earlier pick {on}, so the turn starts at the top."
            )
        pick = picker.pick(route, account)
        if pick.back_on is not None:
            return [*lines, f"  Waiting: {pick.reason}."]
        if pick.owner is None and route.overflow is not None:
            # when_full: next_route (FarmerPicker.pick_overflowing): a refused pick changed
            # nothing, so the next route's table is read from the same loads.
            later = route.overflow(account)
            if later is None:
                return [
                    *lines,
                    f"  No eligible farmer: {pick.reason}; when_full: next_route, but no "
                    "later route matches the account.",
                ]
            return [
                *lines,
                f"  Route {route.id} is full ({pick.reason}); when_full: next_route: the "
                f"account overflows to route {later.id}, the next route that matches it.",
                "",
                *self._pick(account, later),
            ]
        if pick.owner is None:
            return [*lines, f"  No eligible farmer: {pick.reason}."]
        return [*lines, f"  Picked {pick.owner.name}: {pick.reason}."]
