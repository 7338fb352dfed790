"""Two plans of the same book and date, one per rule version -> what the change does.

Pure: plans in, a RuleDiff out. Both plans were made from one pull of the book with the
same date, rotation state and held roles (`sync.planning.plans_under`), so every
difference between them is the rules' doing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from roleSync.diff.verdict import Verdict
from roleSync.plan import OwnerRole, Plan

# Figures shown for an owner: a metric's value under the base and the new rules (they
# differ only when the rule versions read different windows).
FigureValue = int | float | None


@dataclass(frozen=True, slots=True)
class Pair:
    """One count under the base rules and under the new ones."""

    base: int
    new: int


@dataclass(frozen=True, slots=True)
class Figure:
    base: FigureValue
    new: FigureValue


@dataclass(frozen=True, slots=True)
class RoleSide:
    role: str
    rule_id: str | None
    reason: str  # the classification's own words, with the figures of the rule that matched


@dataclass(frozen=True, slots=True)
class RoleChange:
    """An owner whose role differs between the versions, with the figures that decided it:
    every metric either version's classify rules read."""

    owner_id: str
    name: str
    email: str
    base: RoleSide
    new: RoleSide
    figures: dict[str, Figure]


class Fate:
    """What a plan does with an account."""

    MOVES = "moves"  # handed off, to `to_owner_id` by route `route`
    SKIPPED = "skipped"  # due, but not moved: `code` says why
    STAYS = "stays"  # no handoff due (no trigger yet, or already with a farmer)


@dataclass(frozen=True, slots=True)
class AccountSide:
    fate: str
    to_owner_id: str | None = None
    to_owner_name: str = ""
    route: str = ""
    code: str = ""
    reason: str = ""

    def key(self) -> tuple[str, str | None, str]:
        """What a change is judged on: moved or not, where to, skipped for what."""
        return (self.fate, self.to_owner_id, self.code)


@dataclass(frozen=True, slots=True)
class AccountChange:
    """An account whose handoff destination or eligibility differs between the versions."""

    account_id: str
    name: str
    owner_id: str | None  # its owner now
    owner_name: str
    base: AccountSide
    new: AccountSide


@dataclass(frozen=True, slots=True)
class RuleDiff:
    profile: str
    as_of: str
    base_label: str  # where the base rules came from: a folder, or REF:path
    new_label: str
    base_digest: str
    new_digest: str
    book_accounts: int
    book_owners: int
    roles: list[RoleChange]
    accounts: list[AccountChange]
    routes: dict[str, Pair]  # handoffs per route
    skips: dict[str, Pair]  # skipped accounts per reason code
    totals: dict[str, Pair]  # handoffs, skipped, carried records, tasks, metric writes
    verdict: Verdict
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.roles
            or self.accounts
            or any(p.base != p.new for p in (*self.routes.values(), *self.totals.values()))
        )

    @property
    def blast_radius(self) -> float:
        """Accounts whose handoff changes, as a share of the book's accounts."""
        return len(self.accounts) / self.book_accounts if self.book_accounts else 0.0


def _role_side(owner: OwnerRole) -> RoleSide:
    return RoleSide(owner.role.value, owner.rule_id, owner.reason)


def role_changes(base: Plan, new: Plan, metrics: Iterable[str]) -> list[RoleChange]:
    """Owners whose role differs, in the book's order. `metrics`: the names shown as
    figures (those the classify rules of either version compare)."""
    names = sorted(set(metrics))
    before = {o.owner_id: o for o in base.owners}
    found = []
    for owner in new.owners:
        old = before.get(owner.owner_id)
        if old is None or old.role is owner.role:
            continue
        was, now = old.metrics.as_dict(), owner.metrics.as_dict()
        found.append(
            RoleChange(
                owner.owner_id,
                owner.name,
                owner.email,
                _role_side(old),
                _role_side(owner),
                {m: Figure(was.get(m), now.get(m)) for m in names},
            )
        )
    return found


def _sides(plan: Plan, names: Mapping[str, str]) -> dict[str, AccountSide]:
    sides = {
        c.account_id: AccountSide(
            Fate.MOVES, c.to_owner_id, names.get(c.to_owner_id, ""), c.rule_id, "", c.reason
        )
        for c in plan.changes
    }
    for s in plan.skipped:
        sides[s.account_id] = AccountSide(Fate.SKIPPED, None, "", s.route, s.code, s.reason)
    return sides


def account_changes(base: Plan, new: Plan) -> list[AccountChange]:
    """Accounts that move elsewhere, start or stop moving, or are skipped for another
    reason; by account id."""
    names = {o.owner_id: o.name for o in (*base.owners, *new.owners)}
    before, after = _sides(base, names), _sides(new, names)
    about = {c.account_id: (c.account_name, c.from_owner_id) for c in (*base.changes, *new.changes)}
    about.update(
        {s.account_id: (s.account_name, s.owner_id) for s in (*base.skipped, *new.skipped)}
    )
    stays = AccountSide(Fate.STAYS)
    found = []
    for account_id in sorted(before.keys() | after.keys()):
        was, now = before.get(account_id, stays), after.get(account_id, stays)
        if was.key() == now.key():
            continue
        name, owner = about[account_id]
        found.append(AccountChange(account_id, name, owner, names.get(owner or "", ""), was, now))
    return found


def _pairs(base: Counter[str], new: Counter[str]) -> dict[str, Pair]:
    return {key: Pair(base[key], new[key]) for key in sorted(base.keys() | new.keys())}


def totals(base: Plan, new: Plan) -> dict[str, Pair]:
    def of(plan: Plan) -> Counter[str]:
        return Counter(
            {
                "handoffs": len(plan.changes),
                "skipped": len(plan.skipped),
                "carried_records": len(plan.related_changes),
                "handoff_tasks": len(plan.task_creates),
                "metric_writes": len(plan.metric_writes),
            }
        )

    counted = (of(base), of(new))
    return {k: Pair(counted[0][k], counted[1][k]) for k in counted[0]}


def compare_plans(
    base: Plan,
    new: Plan,
    *,
    labels: tuple[str, str],
    metrics: Iterable[str],
    verdict: Verdict,
    notes: Iterable[str] = (),
) -> RuleDiff:
    """The RuleDiff of two plans made from one book on one date."""
    return RuleDiff(
        profile=new.profile,
        as_of=new.as_of.isoformat(),
        base_label=labels[0],
        new_label=labels[1],
        base_digest=base.rules_digest,
        new_digest=new.rules_digest,
        book_accounts=new.summary.get("accounts", 0),
        book_owners=len(new.owners),
        roles=role_changes(base, new, metrics),
        accounts=account_changes(base, new),
        routes=_pairs(
            Counter(c.rule_id for c in base.changes), Counter(c.rule_id for c in new.changes)
        ),
        skips=_pairs(Counter(s.code for s in base.skipped), Counter(s.code for s in new.skipped)),
        totals=totals(base, new),
        verdict=verdict,
        notes=list(notes),
    )
